"""theory.krylov: predictions from products with K equal the dense closed forms; the top-k complement bound holds."""
import numpy as np
import pytest
import scipy.sparse.linalg as sla
from hypothesis import given, settings
from hypothesis import strategies as st

import theory as th


class Counting(sla.LinearOperator):
    """K as an operator that counts its products (one per matmat call, whatever the block's width)."""

    def __init__(self, kernel):
        super().__init__(np.float64, kernel.shape)
        self.kernel, self.products = kernel, 0

    def _matmat(self, block):
        self.products += 1
        return self.kernel @ block

    def _matvec(self, vector):
        return self._matmat(vector[:, None])[:, 0]

    def _rmatmat(self, block):
        return self._matmat(block)


def problem(seed, n, m, columns, rank=None):
    """A random PSD kernel (λ_max = 1, full rank or of the given rank), K_*, targets and starts."""
    rng = np.random.default_rng(seed)
    p = n if rank is None else rank
    features, features_test = rng.normal(size=(n, p)), rng.normal(size=(m, p))
    scale = np.linalg.norm(features, 2) ** 2
    kernel, cross = features @ features.T / scale, features @ features_test.T / scale
    shape = (n, columns) if columns else (n,)
    test_shape = (m, columns) if columns else (m,)
    return kernel, cross, rng.normal(size=shape), rng.normal(size=shape), rng.normal(size=test_shape)


def relative_error(actual, expected):
    return np.max(np.abs(actual - expected)) / max(np.max(np.abs(expected)), 1e-300)


def assert_matches_dense(kernel, cross, y, f0, f0_test, filter, tolerance=1e-8, operator=None):
    fast = th.krylov.predict(sla.aslinearoperator(kernel) if operator is None else operator, y, filter,
                             k_train_test=cross, f_train_0=f0, f_test_0=f0_test)
    dense = th.predict(th.Spectrum.from_kernel(kernel), y, filter, k_train_test=cross, f_train_0=f0,
                       f_test_0=f0_test)
    assert fast.train.shape == dense.train.shape and fast.test.shape == dense.test.shape
    assert relative_error(fast.train, dense.train) < tolerance
    assert relative_error(fast.test, dense.test) < tolerance
    assert fast.filter == filter
    return fast


LENGTH = 3  # a trajectory's length: filters in one product broadcast (3,) against ()


def trained(draw):
    """A filter of one trained model, parameters scaled to λ_max = 1: one value or a trajectory of LENGTH."""
    kind = draw(st.sampled_from(["gd", "flow", "ridge"]))
    # flow times are 0 or ≥ 1e-6: at t·λ ≪ 1 the Krylov flow is exact to round-off relative to ‖y‖ (it forms
    # block − e^{−Kt}·block), not relative to outputs of size t·λ·‖y‖ (test_tiny_flow_steps_are_exact_to_round_off)
    flow_times = st.one_of(st.just(0.0), st.floats(1e-6, 20.0))
    values = {"gd": st.integers(0, 40), "flow": flow_times, "ridge": st.floats(1e-3, 10.0)}[kind]
    value = draw(st.lists(values, min_size=LENGTH, max_size=LENGTH) if draw(st.booleans()) else values)
    if kind == "gd":
        return th.gd(draw(st.floats(0.05, 1.9)), value)
    return th.flow(value) if kind == "flow" else th.ridge(value)


@st.composite
def filters(draw):
    """One model, a distilled student (a product, possibly of three), a student on mixed targets, a late switch."""
    shape = draw(st.sampled_from(["one", "product", "chain", "mix", "switch"]))
    if shape == "one":
        return trained(draw)
    if shape == "product":
        return trained(draw) * trained(draw)
    if shape == "chain":
        return trained(draw) * trained(draw) * trained(draw)
    if shape == "mix":
        return trained(draw) * th.mix(draw(st.floats(-0.5, 2.0)), trained(draw))
    steps = draw(st.lists(st.integers(0, 30), min_size=LENGTH, max_size=LENGTH))
    return th.late_switch(draw(st.floats(0.05, 1.0)), steps, draw(st.integers(0, max(steps))), trained(draw))


@settings(max_examples=40)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 60), m=st.integers(1, 5), columns=st.integers(0, 2),
       low_rank=st.booleans(), filter=filters())
def test_krylov_equals_dense(seed, n, m, columns, low_rank, filter):
    """Train and test outputs equal theory.predict through Spectrum.from_kernel to 1e-8 (nonzero F₀, K of any
    rank, so the null space, where g/λ takes its limit, is exercised)."""
    kernel, cross, y, f0, f0_test = problem(seed, n, m, columns, rank=max(1, n // 3) if low_rank else None)
    assert_matches_dense(kernel, cross, y, f0, f0_test, filter)


@pytest.mark.parametrize("filter", [
    th.gd(0.9, range(0, 61, 20)),
    th.flow([0.5, 4.0, 30.0]),
    th.ridge([1e-3, 0.1, 10.0]),
    th.gd(0.5, 30) * th.mix(0.4, th.ridge(0.01)),
    th.flow(3.0) * th.flow(3.0),
    th.late_switch(0.8, [10, 40], 20, th.flow(5.0)),
], ids=repr)
def test_krylov_equals_dense_at_300_points(filter):
    kernel, cross, y, f0, f0_test = problem(3, 300, 20, 3)
    assert_matches_dense(kernel, cross, y, f0, f0_test, filter)


def test_dense_array_and_operator_cross_kernel():
    """K as a dense array, K_* as an operator with rmatmat: the same outputs."""
    kernel, cross, y, f0, f0_test = problem(4, 50, 6, 2)
    filter = th.ridge(0.05) * th.flow([1.0, 2.0])
    with_arrays = th.krylov.predict(kernel, y, filter, k_train_test=cross, f_train_0=f0, f_test_0=f0_test)
    with_operators = th.krylov.predict(sla.aslinearoperator(kernel), y, filter,
                                       k_train_test=sla.aslinearoperator(cross), f_train_0=f0, f_test_0=f0_test)
    assert relative_error(with_operators.train, with_arrays.train) < 1e-8
    assert relative_error(with_operators.test, with_arrays.test) < 1e-8


@given(seed=st.integers(0, 1000), n=st.integers(1, 40), rate=st.floats(0.05, 1.9),
       steps=st.lists(st.integers(0, 50), min_size=1, max_size=4, unique=True))
def test_gd_recurrence_is_exact_and_costs_max_steps_products(seed, n, rate, steps):
    """GD equals the explicit loop F ← F − ηK(F − Y), and the closed form, to 1e-10, in max(t) products."""
    kernel, cross, y, f0, f0_test = problem(seed, n, 4, 2)
    operator = Counting(kernel)
    fast = th.krylov.predict(operator, y, th.gd(rate, steps), k_train_test=cross, f_train_0=f0, f_test_0=f0_test)
    assert operator.products == max(steps)
    outputs, coefficients = f0.copy(), np.zeros_like(y)  # the model: F = F₀ + K a, F_test = F_test,0 + K_*ᵀ a
    for step in range(max(steps) + 1):
        if step in steps:
            index = steps.index(step)
            assert relative_error(fast.train[index], outputs) < 1e-10
            assert relative_error(fast.test[index], f0_test + cross.T @ coefficients) < 1e-10
        coefficients = coefficients - rate * (outputs - y)
        outputs = outputs - rate * kernel @ (outputs - y)
    assert_matches_dense(kernel, cross, y, f0, f0_test, th.gd(rate, steps), tolerance=1e-10)


def test_batched_targets_broadcast_like_dense():
    """Targets with a leading batch (a teacher's trajectory) broadcast against the filter's batch shape."""
    kernel, cross, y, f0, f0_test = problem(5, 30, 4, 2)
    batched = np.stack([y, 2.0 * y, -y])
    fast = th.krylov.predict(kernel, batched, th.flow([1.0, 2.0, 3.0]), k_train_test=cross)
    dense = th.predict(th.Spectrum.from_kernel(kernel), batched, th.flow([1.0, 2.0, 3.0]), k_train_test=cross)
    assert relative_error(fast.train, dense.train) < 1e-8 and relative_error(fast.test, dense.test) < 1e-8


def test_refusals():
    kernel, cross, y, f0, f0_test = problem(6, 20, 3, 0)
    with pytest.raises(ValueError, match="top-k"):
        th.krylov.predict(kernel, y, th.interpolate())
    with pytest.raises(ValueError, match="top-k"):
        th.krylov.predict(kernel, y, th.gd(0.5, 3) * th.interpolate())
    with pytest.raises(TypeError, match="target transform"):
        th.krylov.predict(kernel, y, th.mix(0.5, th.flow(1.0)), k_train_test=cross)
    np.testing.assert_allclose(th.krylov.predict(kernel, y, th.mix(0.5, th.flow(1.0))).train,
                               th.predict(th.Spectrum.from_kernel(kernel), y, th.mix(0.5, th.flow(1.0))).train,
                               atol=1e-12)
    with pytest.raises(ValueError, match="maxiter"):
        th.krylov.predict(kernel, y, th.ridge(1e-4), maxiter=1)
    with pytest.raises(ValueError, match="y must have shape"):
        th.krylov.predict(kernel, y[:-1], th.flow(1.0))
    with pytest.raises(ValueError, match="operator must be square"):
        th.krylov.predict(sla.aslinearoperator(cross), y, th.flow(1.0))
    with pytest.raises(ValueError, match="f_test_0"):
        th.krylov.predict(kernel, y, th.flow(1.0), f_test_0=f0_test)
    with pytest.raises(ValueError, match="tol"):
        th.krylov.predict(kernel, y, th.ridge(1.0), tol=0.0)


# ----------------------------------------------------------------------------------------------- the bound
@st.composite
def bound_filters(draw):
    """Filters for the bound: any of the above, GD up to η·λ < 2, mixes with any ξ, late switches."""
    shape = draw(st.sampled_from(["one", "product", "mix", "switch", "interpolate"]))
    if shape == "interpolate":
        return th.interpolate()
    one = trained(draw)
    if shape == "one":
        return one
    if shape == "product":
        return one * trained(draw)
    if shape == "mix":
        return one * th.mix(draw(st.floats(-1.0, 3.0)), trained(draw))
    steps = draw(st.lists(st.integers(0, 30), min_size=LENGTH, max_size=LENGTH))
    return th.late_switch(draw(st.floats(0.05, 1.9)), steps, draw(st.integers(0, max(steps))), trained(draw))


@given(seed=st.integers(0, 10_000), decay=st.floats(0.5, 3.0), k=st.integers(0, 30), filter=bound_filters())
def test_complement_bound_holds_on_random_spectra(seed, decay, k, filter):
    """On eigenvalues ≤ λ_(k+1) of a random spectrum (λ_max = 1, zeros included), |g| and |g/λ| stay below the
    bound, and the projected outputs obey ‖P_c(F − F₀)‖ ≤ bound·‖P_c(Y − F₀)‖."""
    rng = np.random.default_rng(seed)
    eigenvalues = np.sort(np.concatenate([[1.0], rng.uniform(size=40) ** (1 + decay), np.zeros(3)]))[::-1]
    top = eigenvalues[k]
    complement = eigenvalues[k:]
    bound = th.krylov.complement_bound(filter, top)
    assert bound.value.shape == tuple(filter.batch_shape) and bound.reason
    slack = 1e-12
    if np.all(np.isnan(bound.value)):
        assert "no bound" in bound.reason
        return
    assert np.all(np.abs(filter(complement)) <= bound.value[..., None] + slack)
    monotone = (isinstance(filter, (th.filters.GradientFlow, th.filters.Ridge))
                or (isinstance(filter, th.filters.GradientDescent) and filter.learning_rate * top <= 1.0))
    if monotone:  # attained: g(λ_(k+1))
        np.testing.assert_allclose(bound.value, filter(np.array([top]))[..., 0], rtol=1e-14, atol=0)
    if filter.trains and not isinstance(filter, th.filters.Interpolate):
        test_bound = th.krylov.complement_bound(filter, top, test=True)
        over = filter.over_eigenvalue(complement)
        assert np.all(np.abs(over) <= test_bound.value[..., None] * (1 + 1e-12) + slack)
    # the norm statement, with exact pairs: K = U diag(λ) Uᵀ, P_c the projector on directions k, k+1, …
    n = eigenvalues.size
    basis, _ = np.linalg.qr(rng.normal(size=(n, n)))
    residual = rng.normal(size=n)
    spectrum = th.Spectrum(eigenvalues=eigenvalues, eigenvectors=basis)
    outputs = th.predict(spectrum, residual, filter).train
    projector = basis[:, k:] @ basis[:, k:].T
    left = np.linalg.norm(outputs @ projector, axis=-1)
    assert np.all(left <= bound.value * np.linalg.norm(projector @ residual) * (1 + 1e-10) + slack)


def test_complement_bound_cases():
    assert th.krylov.complement_bound(th.flow(2.0), 0.01).value == pytest.approx(-np.expm1(-0.02), rel=1e-15)
    assert th.krylov.complement_bound(th.gd(0.5, 10), 0.2, test=True).value == pytest.approx(5.0)
    assert th.krylov.complement_bound(th.ridge(0.1), 0.2, test=True).value == pytest.approx(10.0)
    over = th.krylov.complement_bound(th.gd(1.5, [2, 3]), 1.0)  # η·λ = 1.5: sup 1 (even t), 1 + 0.5³ (odd t)
    np.testing.assert_allclose(over.value, [1.0, 1.125])
    assert "not monotone" in over.reason
    extrapolated = th.krylov.complement_bound(th.mix(3.0, th.flow(1.0)), 1e-6)
    assert extrapolated.value == pytest.approx(2.0, rel=1e-5) and "|1 − ξ|" in extrapolated.reason
    switch = th.krylov.complement_bound(th.late_switch(1.5, 10, 5, th.flow(1.0)), 1.0)
    assert np.isnan(switch.value) and "no bound" in switch.reason
    with pytest.raises(TypeError, match="target transform"):
        th.krylov.complement_bound(th.mix(0.5, th.flow(1.0)), 0.1, test=True)
    with pytest.raises(ValueError, match="stable gradient descent"):
        th.krylov.complement_bound(th.gd(2.5, 3), 1.0)
    with pytest.raises(ValueError, match="lambda_next"):
        th.krylov.complement_bound(th.flow(1.0), -1.0)


def test_diverging_gd_is_refused():
    kernel, cross, y, f0, f0_test = problem(7, 20, 3, 0)  # λ_max = 1: η = 2.5 diverges
    with pytest.raises(ValueError, match="learning_rate"):
        th.krylov.predict(kernel, y, th.gd(2.5, 2000))


@pytest.mark.parametrize("time", [5e-324, 1e-300, 1e-17, 1e-9])
@pytest.mark.parametrize("dense", [True, False])
def test_tiny_flow_steps_are_exact_to_round_off(time, dense):
    """Flow steps so short that s‖K‖ underflows crashed scipy's expm_multiply (division by zero); they now take a
    second-order Taylor step. Outputs are exact to round-off relative to the targets' size, alone, after a
    step of 0, inside a trajectory and in a product."""
    for n in (2, 30):
        _check_tiny_flow(time, dense, *problem(3, n, 3, 2, rank=max(1, n // 3)))


def _check_tiny_flow(time, dense, kernel, cross, y, f0, f0_test):
    scale = np.max(np.abs(np.concatenate([y, f0]))) * 1e-12
    for filter in (th.flow(time), th.flow([0.0, time, 1.0]), th.flow(time) * th.flow(1.0),
                   th.gd(0.5, 3) * th.flow(time)):
        fast = th.krylov.predict(kernel if dense else sla.aslinearoperator(kernel), y, filter, k_train_test=cross,
                                 f_train_0=f0, f_test_0=f0_test)
        exact = th.predict(th.Spectrum.from_kernel(kernel), y, filter, k_train_test=cross, f_train_0=f0,
                           f_test_0=f0_test)
        assert np.max(np.abs(fast.train - exact.train)) < scale
        assert np.max(np.abs(fast.test - exact.test)) < scale
