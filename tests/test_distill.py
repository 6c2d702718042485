"""Distillation chains, mixed targets, late switch and Mobahi rounds against explicit GD and direct ridge solves."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import theory as th


def kernel_gd_loop(kernel, cross, targets_at, learning_rate, steps, f0, f0_test):
    """Explicit kernel GD on outputs: F ← F − ηK(F − Y_t), F_test ← F_test − ηK_*ᵀ(F − Y_t); Y_t may change with t."""
    train, test = f0.copy(), f0_test.copy()
    for t in range(steps):
        residual = train - targets_at(t)
        train, test = train - learning_rate * kernel @ residual, test - learning_rate * cross.T @ residual
    return train, test


def setup(seed, n=14, p=6, m=4, columns=2):
    rng = np.random.default_rng(seed)
    phi, phi_test = rng.normal(size=(n, p)), rng.normal(size=(m, p))
    kernel, cross = phi @ phi.T, phi @ phi_test.T
    spectrum = th.Spectrum.from_kernel(kernel)
    return rng, kernel, cross, spectrum, rng.normal(size=(n, columns))


@given(
    seed=st.integers(0, 1000),
    budgets=st.lists(st.integers(0, 60), min_size=1, max_size=4),
    weights=st.lists(st.floats(-0.5, 1.5), min_size=3, max_size=3),
)
def test_chain_equals_sequential_simulation_and_composed_filter(seed, budgets, weights):
    rng, kernel, cross, spectrum, y = setup(seed)
    rate = 0.8 / spectrum.eigenvalues[0]
    f0, f0_test = rng.normal(size=y.shape), rng.normal(size=(4, 2))
    xis = weights[: len(budgets) - 1]
    rounds = th.chain(
        spectrum, y, [th.gd(rate, t) for t in budgets], teacher_weights=xis, k_train_test=cross,
        f_train_0=f0, f_test_0=f0_test,
    )
    previous = None
    for j, steps in enumerate(budgets):
        targets = y if j == 0 else (1 - xis[j - 1]) * y + xis[j - 1] * previous
        train, test = kernel_gd_loop(kernel, cross, lambda t: targets, rate, steps, f0, f0_test)
        np.testing.assert_allclose(rounds[j].train, train, rtol=1e-10, atol=1e-10 * np.abs(train).max())
        np.testing.assert_allclose(rounds[j].test, test, rtol=1e-10, atol=1e-10 * np.abs(test).max())
        composed = th.predict(spectrum, y, rounds.filters[j], cross, f0, f0_test)
        np.testing.assert_allclose(composed.train, train, rtol=1e-10, atol=1e-10 * np.abs(train).max())
        np.testing.assert_allclose(composed.test, test, rtol=1e-10, atol=1e-10 * np.abs(test).max())
        previous = train


def test_self_distillation_squares_the_factor(rng):
    _, _, _, spectrum, y = setup(3)
    teacher = th.flow(2.0)
    rounds = th.chain(spectrum, y, [teacher, th.flow(2.0), th.flow(2.0)])
    factors = rounds.factors(spectrum.eigenvalues)
    np.testing.assert_allclose(factors[1], teacher(spectrum.eigenvalues) ** 2)
    np.testing.assert_allclose(factors[2], teacher(spectrum.eigenvalues) ** 3)
    assert len(rounds) == 3 and "Chain(rounds=3" in repr(rounds)


def test_trajectory_of_students_from_a_fixed_teacher(rng):
    _, _, cross, spectrum, y = setup(5)
    rate = 0.5 / spectrum.eigenvalues[0]
    rounds = th.chain(spectrum, y, [th.gd(rate, 40), th.gd(rate, np.arange(0, 100, 10))], k_train_test=cross)
    assert rounds[1].train.shape == (10, 14, 2) and rounds[1].test.shape == (10, 4, 2)


@given(
    seed=st.integers(0, 1000),
    steps=st.integers(0, 80),
    switch=st.integers(0, 80),
    teacher_steps=st.integers(0, 80),
)
def test_late_switch_equals_simulation(seed, steps, switch, teacher_steps):
    switch = min(switch, steps)  # a switch after the last step is refused (it would be th.gd)
    rng, kernel, cross, spectrum, y = setup(seed)
    rate = 0.9 / spectrum.eigenvalues[0]
    f0, f0_test = rng.normal(size=y.shape), rng.normal(size=(4, 2))
    teacher, _ = kernel_gd_loop(kernel, cross, lambda t: y, rate, teacher_steps, f0, f0_test)
    train, test = kernel_gd_loop(kernel, cross, lambda t: y if t < switch else teacher, rate, steps, f0, f0_test)
    out = th.predict(spectrum, y, th.late_switch(rate, steps, switch, th.gd(rate, teacher_steps)), cross, f0, f0_test)
    np.testing.assert_allclose(out.train, train, rtol=1e-10, atol=1e-10 * np.abs(train).max())
    np.testing.assert_allclose(out.test, test, rtol=1e-10, atol=1e-10 * np.abs(test).max())


def test_mobahi_fixed_strength_rounds_equal_repeated_ridge_solves(rng):
    _, kernel, cross, spectrum, y = setup(7, n=12, p=20)  # full-rank kernel
    strengths = [0.5, 1.0, 2.0]
    result = th.mobahi_rounds(spectrum, y, 3, strength=strengths, k_train_test=cross)
    targets = y
    for j, c in enumerate(strengths):
        dual = np.linalg.solve(kernel + c * np.eye(12), targets)  # F = K (K + cI)⁻¹ y
        np.testing.assert_allclose(result.predictions[j].train, kernel @ dual, rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(result.predictions[j].test, cross.T @ dual, rtol=1e-9, atol=1e-11)
        targets = kernel @ dual
    expected = np.cumprod([spectrum.eigenvalues / (spectrum.eigenvalues + c) for c in strengths], axis=0)
    np.testing.assert_allclose(result.factors, expected)
    assert np.all(np.diff(result.effective_rank(), axis=0) <= 0)


def test_mobahi_constrained_form_meets_budget_grows_strength_and_collapses():
    _, _, _, spectrum, y = setup(11, n=12, p=20)
    epsilon = 0.1 * np.sum(y**2)
    result = th.mobahi_rounds(spectrum, y, 30, epsilon=epsilon)
    alive = np.isfinite(result.strengths)
    np.testing.assert_allclose(result.residuals[alive], epsilon, rtol=1e-9)  # the constraint is active
    assert np.all(np.diff(result.strengths[alive]) > 0), "the strength must grow each round"
    assert result.collapsed_at is not None, "with a fixed budget the solution must collapse eventually"
    j = result.collapsed_at
    # collapse happens exactly when the targets' energy is within the budget
    assert np.sum(result.predictions[j - 1].train ** 2) <= epsilon < np.sum(result.predictions[j - 2].train ** 2)
    assert np.all(result.predictions[j].train == 0) and np.all(result.factors[j:] == 0)
    assert "collapsed_at" in repr(result)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda s, y: th.chain(s, y, []), "at least one"),
        (lambda s, y: th.chain(s, y, [th.flow(1.0), th.mix(0.5, th.flow(1.0))]), "trained-model filter"),
        (lambda s, y: th.chain(s, y, [th.flow(1.0)] * 3, teacher_weights=[0.5]), "teacher_weights"),
        (lambda s, y: th.mobahi_rounds(s, y, 2), "exactly one"),
        (lambda s, y: th.mobahi_rounds(s, y, 0, strength=1.0), "rounds"),
        (lambda s, y: th.mobahi_rounds(s, y, 2, epsilon=-1.0), "epsilon"),
        (lambda s, y: th.mobahi_rounds(s, y, 2, strength=[1.0]), "strength"),
    ],
)
def test_bad_distillation_inputs(call, message):
    _, _, _, spectrum, y = setup(0)
    with pytest.raises((ValueError, TypeError), match=message):
        call(spectrum, y)


def test_mobahi_refuses_budget_below_null_space_residual():
    _, _, _, spectrum, y = setup(0, n=14, p=3)  # rank 3: the null space keeps most of y
    with pytest.raises(ValueError, match="null space"):
        th.mobahi_rounds(spectrum, y, 2, epsilon=1e-6)


def test_chain_and_late_switch_equal_the_jax_simulator():
    """The same checks against theory.kernel_gd (JAX, float64, lax.scan) instead of a numpy loop."""
    rng, kernel, cross, spectrum, y = setup(21, n=20, p=8, m=5, columns=3)
    rate = 0.7 / spectrum.eigenvalues[0]
    teacher = th.kernel_gd(kernel, y, learning_rate=rate, steps=37, record_every=37, k_train_test=cross)
    student = th.kernel_gd(kernel, teacher.train[-1], learning_rate=rate, steps=23, record_every=23, k_train_test=cross)
    rounds = th.chain(spectrum, y, [th.gd(rate, 37), th.gd(rate, 23)], k_train_test=cross)
    np.testing.assert_allclose(rounds[1].train, student.train[-1], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(rounds[1].test, student.test[-1], rtol=1e-10, atol=1e-12)
    # late switch: 10 one-hot steps, then 30 steps towards the teacher's outputs
    first = th.kernel_gd(kernel, y, learning_rate=rate, steps=10, record_every=10, k_train_test=cross)
    second = th.kernel_gd(
        kernel, teacher.train[-1], learning_rate=rate, steps=30, record_every=30, k_train_test=cross,
        f_train_0=first.train[-1], f_test_0=first.test[-1],
    )
    late = th.predict(spectrum, y, th.late_switch(rate, 40, 10, th.gd(rate, 37)), k_train_test=cross)
    np.testing.assert_allclose(late.train, second.train[-1], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(late.test, second.test[-1], rtol=1e-10, atol=1e-12)
