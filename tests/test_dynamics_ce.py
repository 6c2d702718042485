"""Tests of theory.dynamics (cross-entropy): gradients against jax.grad, a numpy loop, kernel = linear, vmapped sweeps."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory.dynamics import (cross_entropy, cross_entropy_gradient, distillation_targets, kernel_ce_gd,
                             kernel_ce_gd_sweep, linear_ce_gd)

seeds = st.integers(0, 2**32 - 1)
temperatures = st.floats(0.25, 8.0)


def relative_error(actual, expected):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    scale = np.max(np.abs(expected), initial=0.0)
    return np.max(np.abs(actual - expected), initial=0.0) / (scale if scale > 0 else 1.0)


def probabilities(rng, n, classes, concentration=1.0):
    return rng.dirichlet(np.full(classes, concentration), size=n)


def one_hot(rng, n, classes):
    return np.eye(classes)[rng.integers(0, classes, n)]


def numpy_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def reference_loss(logits, targets, onehot_targets, temperature, onehot_weight, scaled):
    """docs/maths.md §4 written independently: (1 − w) s Σ −q log softmax(z/τ) + w Σ −y log softmax(z)."""
    soft = -jnp.sum(targets * jax.nn.log_softmax(logits / temperature, axis=-1))
    hard = -jnp.sum(onehot_targets * jax.nn.log_softmax(logits, axis=-1))
    return (1 - onehot_weight) * (temperature**2 if scaled else 1.0) * soft + onehot_weight * hard


def problem(seed, n=6, p=4, m=3, classes=3):
    rng = np.random.default_rng(seed)
    features, features_test = rng.normal(size=(n, p)), rng.normal(size=(m, p))
    return rng, features, features_test, features @ features.T, features @ features_test.T


# ------------------------------------------------------------------------------------------ gradients


reference_gradient = jax.jit(jax.grad(reference_loss), static_argnums=5)


@settings(max_examples=30)
@given(seed=seeds, n=st.sampled_from([1, 5]), classes=st.sampled_from([2, 4]), temperature=temperatures,
       scaled=st.booleans(), onehot_weight=st.sampled_from([0.0, 0.3, 1.0]))
def test_gradient_equals_jax_grad_of_the_loss(seed, n, classes, temperature, scaled, onehot_weight):
    rng = np.random.default_rng(seed)
    logits = 3 * rng.normal(size=(n, classes))
    targets, labels = probabilities(rng, n, classes), one_hot(rng, n, classes)
    options = dict(temperature=temperature, targets_temperature=temperature, scale_by_temperature_squared=scaled,
                   onehot_targets=labels,
                   onehot_weight=onehot_weight)
    with jax.enable_x64(True):
        expected = reference_gradient(jnp.asarray(logits), targets, labels, temperature, onehot_weight, scaled)
        expected_loss = float(reference_loss(logits, targets, labels, temperature, onehot_weight, scaled))
    gradient = cross_entropy_gradient(logits, targets, **options)
    assert relative_error(gradient, np.asarray(expected)) < 1e-12
    assert abs(cross_entropy(logits, targets, **options) - expected_loss) <= 1e-12 * max(1.0, abs(expected_loss))
    np.testing.assert_allclose(gradient.sum(axis=1), 0.0, atol=1e-14)  # logits stay centred


@settings(max_examples=20)
@given(seed=seeds, classes=st.sampled_from([2, 4]), temperature=temperatures, scaled=st.booleans())
def test_soft_label_cross_entropy_and_kl_have_the_same_gradient(seed, classes, temperature, scaled):
    rng = np.random.default_rng(seed)
    logits, targets = rng.normal(size=(5, classes)), probabilities(rng, 5, classes, 0.5)

    def kl(z):  # KL(Q ‖ softmax(z/τ)) = CE − H(Q): the entropy does not depend on z
        log_q = jnp.log(jnp.maximum(targets, 1e-300))
        value = jnp.sum(targets * (log_q - jax.nn.log_softmax(z / temperature, axis=-1)))
        return value * (temperature**2 if scaled else 1.0)

    with jax.enable_x64(True):
        expected = np.asarray(jax.jit(jax.grad(kl))(jnp.asarray(logits)))
    gradient = cross_entropy_gradient(logits, targets, temperature=temperature, targets_temperature=temperature,
                                      scale_by_temperature_squared=scaled)
    assert relative_error(gradient, expected) < 1e-12


@settings(max_examples=20)
@given(seed=seeds, teacher_weight=st.floats(0.0, 1.0))
def test_same_temperature_mixture_is_cross_entropy_on_mixed_targets(seed, teacher_weight):
    rng = np.random.default_rng(seed)
    logits, teacher, labels = rng.normal(size=(6, 4)), probabilities(rng, 6, 4), one_hot(rng, 6, 4)
    mixed = distillation_targets(labels, teacher, teacher_weight)
    np.testing.assert_allclose(mixed.sum(axis=1), 1.0, atol=1e-15)
    two_terms = cross_entropy_gradient(logits, teacher, onehot_targets=labels, onehot_weight=1 - teacher_weight)
    assert relative_error(cross_entropy_gradient(logits, mixed), two_terms) < 1e-12
    assert abs(cross_entropy(logits, mixed) - cross_entropy(logits, teacher, onehot_targets=labels,
                                                            onehot_weight=1 - teacher_weight)) < 1e-12


# ------------------------------------------------------------------------------ simulations vs a loop


def numpy_kernel_ce_gd(k, k_star, targets, labels, z, z_test, rate, steps, temperature, weight, scaled):
    soft_factor = temperature if scaled else 1 / temperature
    trains, tests = [z], [z_test]
    for _ in range(steps):
        gradient = ((1 - weight) * soft_factor * (numpy_softmax(z / temperature) - targets)
                    + weight * (numpy_softmax(z) - labels))
        z, z_test = z - rate * k @ gradient, z_test - rate * k_star.T @ gradient
        trains.append(z)
        tests.append(z_test)
    return np.array(trains), np.array(tests)


@settings(max_examples=12)
@given(seed=seeds, steps=st.integers(0, 25), record_every=st.integers(1, 10), temperature=temperatures,
       scaled=st.booleans(), weight=st.sampled_from([0.0, 0.5]), rate_fraction=st.floats(0.1, 0.99))
def test_kernel_ce_gd_equals_numpy_loop(seed, steps, record_every, temperature, scaled, weight, rate_fraction):
    rng, _, _, k, k_star = problem(seed)
    targets, labels = probabilities(rng, 6, 3), one_hot(rng, 6, 3)
    z0, z0_test = rng.normal(size=(6, 3)), rng.normal(size=(3, 3))
    curvature = 0.5 * ((1 - weight) * (1.0 if scaled else temperature**-2) + weight)
    rate = rate_fraction * 2 / (np.linalg.eigvalsh(k)[-1] * curvature)
    run = kernel_ce_gd(k, targets, learning_rate=rate, steps=steps, record_every=record_every, k_train_test=k_star,
                       f_train_0=z0, f_test_0=z0_test, temperature=temperature, targets_temperature=temperature,
                       scale_by_temperature_squared=scaled,
                       onehot_targets=labels if weight else None, onehot_weight=weight)
    trains, tests = numpy_kernel_ce_gd(k, k_star, targets, labels, z0, z0_test, rate, steps, temperature, weight,
                                       scaled)
    assert run.steps[-1] == steps and run.weights is None
    assert relative_error(run.train, trains[run.steps]) < 1e-10
    assert relative_error(run.test, tests[run.steps]) < 1e-10


def test_loss_decreases_at_every_step_within_the_descent_limit():
    rng, _, _, k, _ = problem(1, n=12)
    labels = one_hot(rng, 12, 3)
    rate = 0.99 * 4 / np.linalg.eigvalsh(k)[-1]
    run = kernel_ce_gd(k, labels, learning_rate=rate, steps=60)
    losses = [cross_entropy(z, labels) for z in run.train]
    assert np.all(np.diff(losses) < 0)


def test_temperature_is_a_clock():
    """Z_τ(t) = τ W(t), with W trained at τ = 1 with learning rate η/τ² from W₀ = Z₀/τ (module docstring)."""
    rng, _, _, k, _ = problem(2)
    targets, z0, tau = probabilities(rng, 6, 3), rng.normal(size=(6, 3)), 3.0
    rate = 1.0 / np.linalg.eigvalsh(k)[-1]
    hot = kernel_ce_gd(k, targets, learning_rate=rate, steps=40, temperature=tau, targets_temperature=tau, f_train_0=z0)
    cold = kernel_ce_gd(k, targets, learning_rate=rate / tau**2, steps=40, f_train_0=z0 / tau)
    scaled = kernel_ce_gd(k, targets, learning_rate=rate / tau**2, steps=40, temperature=tau, f_train_0=z0,
                          targets_temperature=tau, scale_by_temperature_squared=True)
    assert relative_error(hot.train, tau * cold.train) < 1e-12
    assert relative_error(scaled.train, hot.train) < 1e-12  # the τ² factor is a τ² faster clock
    assert relative_error(kernel_ce_gd(k, targets, learning_rate=rate, steps=40, temperature=tau, f_train_0=z0,
                                       targets_temperature=tau, scale_by_temperature_squared=True).train,
                          tau * kernel_ce_gd(k, targets, learning_rate=rate, steps=40, f_train_0=z0 / tau).train) < 1e-12


# ---------------------------------------------------------------------------- kernel = linear, SGD


@pytest.mark.parametrize("seed, batch_size, replace, temperature",
                         [(0, None, False, 1.0), (1, 3, False, 2.5), (2, 2, True, 0.5)])
def test_kernel_ce_gd_is_linear_ce_gd_with_gram_kernel(seed, batch_size, replace, temperature):
    rng, features, features_test, k, k_star = problem(seed)
    targets = probabilities(rng, 6, 3)
    rate = 0.5 / np.linalg.eigvalsh(k)[-1]
    options = dict(learning_rate=rate, steps=20, record_every=5, temperature=temperature, batch_size=batch_size,
                   seed=seed, replace=replace, scale_by_temperature_squared=True, targets_temperature=temperature)
    linear = linear_ce_gd(features, targets, features_test=features_test, **options)
    kernel = kernel_ce_gd(k, targets, k_train_test=k_star, **options)
    assert linear.weights.shape == (5, 4, 3)
    assert relative_error(kernel.train, linear.train) < 1e-10
    assert relative_error(kernel.test, linear.test) < 1e-10


def test_sgd_whole_batch_is_full_batch_and_seeds_matter():
    rng, _, _, k, _ = problem(3)
    targets, rate = probabilities(rng, 6, 3), 0.5 / np.linalg.eigvalsh(k)[-1]
    full = kernel_ce_gd(k, targets, learning_rate=rate, steps=30)
    whole = kernel_ce_gd(k, targets, learning_rate=rate, steps=30, batch_size=6, seed=4)
    assert relative_error(whole.train, full.train) < 1e-12
    first, again, other = (kernel_ce_gd(k, targets, learning_rate=rate, steps=30, batch_size=2, seed=s).train
                           for s in (5, 5, 6))
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)


def test_sweep_equals_separate_calls():
    rng, _, _, k, k_star = problem(4)
    targets = np.stack([probabilities(rng, 6, 3) for _ in range(3)])
    labels, z0 = one_hot(rng, 6, 3), rng.normal(size=(3, 6, 3))
    rates = np.array([0.3, 0.5, 0.7]) / np.linalg.eigvalsh(k)[-1]
    temps, weights, seed_list = np.array([1.0, 2.0, 0.5]), np.array([0.0, 0.25, 0.5]), np.array([1, 2, 3])
    for batch_size in (None, 2):
        sweep = kernel_ce_gd_sweep(k, targets, learning_rate=rates, steps=17, record_every=4, k_train_test=k_star,
                                   f_train_0=z0, temperature=temps, onehot_targets=labels, onehot_weight=weights,
                                   batch_size=batch_size, seed=seed_list, targets_temperature=temps)
        assert sweep.train.shape == (3, 6, 6, 3) and sweep.test.shape == (3, 6, 3, 3)
        for p in range(3):
            single = kernel_ce_gd(k, targets[p], learning_rate=rates[p], steps=17, record_every=4, k_train_test=k_star,
                                  f_train_0=z0[p], temperature=temps[p], targets_temperature=temps[p],
                                  onehot_targets=labels,
                                  onehot_weight=weights[p], batch_size=batch_size, seed=int(seed_list[p]))
            np.testing.assert_array_equal(sweep.steps, single.steps)
            assert relative_error(sweep.train[p], single.train) < 1e-12
            assert relative_error(sweep.test[p], single.test) < 1e-12
    shared = kernel_ce_gd_sweep(k, targets[0], learning_rate=rates[0], temperature=temps, targets_temperature=temps,
                                steps=5)
    assert shared.train.shape == (3, 6, 6, 3) and shared.test is None


def test_x64_does_not_leak_and_outputs_are_float64():
    rng, features, _, k, _ = problem(5)
    targets = probabilities(rng, 6, 3).astype(np.float32)
    assert not jax.config.jax_enable_x64
    runs = [kernel_ce_gd(k, targets, learning_rate=0.1 / np.linalg.eigvalsh(k)[-1], steps=3),
            linear_ce_gd(features.astype(np.float32), targets, learning_rate=0.01, steps=3, batch_size=2)]
    assert not jax.config.jax_enable_x64
    assert all(run.train.dtype == np.float64 for run in runs)


# ---------------------------------------------------------------------------------------- bad input

K = np.eye(4) * 2.0
Q = np.full((4, 2), 0.5)
GOOD = dict(learning_rate=0.5, steps=3)
CASES = [
    (dict(temperature=0.0), "temperature must be a finite real number > 0"),
    (dict(temperature=-1.0), "temperature must be a finite real number > 0"),
    (dict(temperature=np.nan), "temperature must be a finite real number"),
    (dict(targets=np.array([[1.5, -0.5]] * 4)), "targets must be non-negative probabilities"),
    (dict(targets=np.full((4, 2), 0.6)), "rows of targets must sum to 1"),
    (dict(targets=np.ones((4, 1))), "C >= 2"),
    (dict(targets=np.full((5, 2), 0.5)), r"targets must have shape \(4, \*\) .*got shape \(5, 2\)"),
    (dict(targets=np.full(4, 0.5)), r"targets must be 2-D \(a single run"),
    (dict(onehot_weight=0.5), "onehot_weight > 0 needs onehot_targets"),
    (dict(onehot_weight=1.5, onehot_targets=Q), r"onehot_weight must be a finite real number in \[0, 1\]"),
    (dict(onehot_targets=np.full((4, 3), 1 / 3)), r"onehot_targets must have shape \(4, 2\) .*got shape \(4, 3\)"),
    (dict(learning_rate=0.0), "learning_rate must be a finite real number > 0"),
    (dict(learning_rate=2.0), r"unsafe for cross-entropy.*η·λ_max·h < 2"),
    (dict(learning_rate=1.0, temperature=0.5, targets_temperature=0.5), "unsafe for cross-entropy"),
    (dict(k_train_train=np.ones((4, 3))), "k_train_train must be square"),
    (dict(f_train_0=np.zeros((4, 3))), r"f_train_0 must have shape \(4, 2\) .*got shape \(4, 3\)"),
    (dict(f_test_0=np.zeros((2, 2))), "f_test_0 was given without k_train_test"),
    (dict(batch_size=5), r"batch_size must be an integer in \[1, 4\]"),
    (dict(steps=-1), "steps must be an integer >= 0"),
    (dict(scale_by_temperature_squared=1), "scale_by_temperature_squared must be True or False"),
    (dict(learning_rate=[0.1, 0.2]), r"learning_rate must be 0-D \(a single run"),
]


@pytest.mark.parametrize("change, message", CASES)
def test_kernel_ce_gd_rejects_bad_input(change, message):
    arguments = dict(k_train_train=K, targets=Q, **GOOD) | change
    with pytest.raises(ValueError, match=message):
        kernel_ce_gd(**arguments)


def test_sweep_and_helpers_reject_bad_input():
    with pytest.raises(ValueError, match="disagree on the number of runs"):
        kernel_ce_gd_sweep(K, np.stack([Q] * 3), learning_rate=[0.1, 0.2], steps=2)
    with pytest.raises(ValueError, match="seed must be an integer"):
        kernel_ce_gd_sweep(K, Q, learning_rate=0.1, steps=2, seed=[0.5, 1.5])
    with pytest.raises(ValueError, match=r"teacher_weight must be a finite real number in \[0, 1\]"):
        distillation_targets(np.eye(2), np.eye(2), 1.5)
    with pytest.raises(ValueError, match="teacher_probs must have the shape of labels_one_hot"):
        distillation_targets(np.eye(2), np.full((2, 3), 1 / 3), 0.5)
    with pytest.raises(ValueError, match="labels_one_hot must be non-negative probabilities"):
        distillation_targets(-np.eye(2), np.eye(2), 0.5)
    with pytest.raises(ValueError, match="logits must be finite, got 1 NaN"):
        cross_entropy_gradient(np.array([[np.nan, 0.0]]), np.array([[1.0, 0.0]]))
    with pytest.raises(ValueError, match=r"features_test must have shape .*\(m, p\)"):
        linear_ce_gd(np.eye(4), Q, learning_rate=0.1, steps=1, features_test=np.ones((2, 3)))


# ------------------------------------------------------------ issue 11: teacher temperature, PSD, empty inputs

from theory.metrics import softmax  # noqa: E402


def test_tau_one_teacher_probabilities_at_another_temperature_are_refused():
    rng, features, _, k, _ = problem(5)
    teacher = rng.normal(size=(6, 3))
    rate = 0.5 / np.linalg.eigvalsh(k)[-1]
    message = (r"targets must be declared at the temperature τ = 4 they are read at: probability targets are not "
               r"re-tempered, .* Pass teacher_logits=Z_te \(softmax\(Z_te/τ\) is applied here\), or, if targets "
               r"already are softmax\(Z_te/τ\), targets_temperature=temperature\.")
    for call in (lambda: kernel_ce_gd(k, softmax(teacher), learning_rate=rate, steps=3, temperature=4.0),
                 lambda: linear_ce_gd(features, softmax(teacher), learning_rate=rate, steps=3, temperature=4.0),
                 lambda: kernel_ce_gd_sweep(k, softmax(teacher), learning_rate=rate, steps=3, temperature=[1.0, 4.0]),
                 lambda: cross_entropy(teacher, softmax(teacher), temperature=4.0)):
        with pytest.raises(ValueError, match=message):
            call()
    with pytest.raises(ValueError, match=r"targets_temperature must equal temperature .*got targets_temperature=\[1.0\] "
                                         r"for temperature=\[4.0\]"):
        kernel_ce_gd(k, softmax(teacher), learning_rate=rate, steps=3, temperature=4.0, targets_temperature=1.0)
    with pytest.raises(ValueError, match="targets and teacher_logits were both given"):
        kernel_ce_gd(k, softmax(teacher), teacher_logits=teacher, learning_rate=rate, steps=3, temperature=4.0)
    with pytest.raises(ValueError, match=r"targets must be \(n, C\) probabilities, or pass teacher_logits"):
        kernel_ce_gd(k, learning_rate=rate, steps=3)


def test_teacher_logits_are_tempered_in_one_place():
    rng, features, _, k, _ = problem(6)
    teacher, rate = rng.normal(size=(6, 3)), 0.5 / np.linalg.eigvalsh(k)[-1]
    options = dict(learning_rate=rate, steps=10, temperature=4.0, scale_by_temperature_squared=True)
    from_logits = kernel_ce_gd(k, teacher_logits=teacher, **options)
    declared = kernel_ce_gd(k, softmax(teacher, 4.0), targets_temperature=4.0, **options)
    np.testing.assert_array_equal(from_logits.train, declared.train)
    linear = linear_ce_gd(features, teacher_logits=teacher, **options)
    assert relative_error(linear.train, from_logits.train) < 1e-10
    temps = np.array([1.0, 2.0, 4.0])
    sweep = kernel_ce_gd_sweep(k, teacher_logits=teacher, learning_rate=rate, steps=10, temperature=temps)
    for p, tau in enumerate(temps):
        single = kernel_ce_gd(k, softmax(teacher, tau), targets_temperature=tau, learning_rate=rate, steps=10,
                              temperature=tau)
        assert relative_error(sweep.train[p], single.train) < 1e-12
    one_hot_targets = one_hot(rng, 6, 3)  # one-hot rows are the same at every temperature: no declaration
    kernel_ce_gd(k, one_hot_targets, learning_rate=rate, steps=3, temperature=4.0)
    assert abs(cross_entropy(teacher, teacher_logits=teacher, temperature=2.0)
               - cross_entropy(teacher, softmax(teacher, 2.0), temperature=2.0, targets_temperature=2.0)) < 1e-12


@pytest.mark.parametrize("simulate", [kernel_ce_gd, kernel_ce_gd_sweep])
def test_a_kernel_that_is_not_psd_is_refused(simulate):
    _, _, _, k, _ = problem(7)
    with pytest.raises(ValueError, match=r"k_train_train must be positive semi-definite, got smallest eigenvalue -"):
        simulate(k - 2 * np.eye(6), np.eye(3)[[0, 1, 2, 0, 1, 2]], learning_rate=1e-3, steps=3)


@pytest.mark.parametrize("call", [
    lambda: kernel_ce_gd(np.zeros((0, 0)), np.zeros((0, 2)), learning_rate=0.1, steps=3),
    lambda: linear_ce_gd(np.zeros((0, 3)), np.zeros((0, 2)), learning_rate=0.1, steps=3),
], ids=["kernel_ce_gd", "linear_ce_gd"])
def test_no_training_points_are_refused(call):
    with pytest.raises(ValueError, match=r"must hold at least one training point, got shape \(0, \d\)"):
        call()
