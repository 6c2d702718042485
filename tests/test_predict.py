"""predict: closed forms against explicit GD on the weights of a linear model, scikit-learn and the pseudo-inverse."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.kernel_ridge import KernelRidge

import theory as th


def problem(seed, n, p, m, columns):
    rng = np.random.default_rng(seed)
    phi, phi_test = rng.normal(size=(n, p)), rng.normal(size=(m, p))
    y = rng.normal(size=(n, columns)) if columns else rng.normal(size=n)
    return phi, phi_test, y, rng


def explicit_weight_gd(phi, y, learning_rate, steps, f0, f0_test, phi_test):
    """β ← β − η Φᵀ(F₀ + Φβ − Y): GD on a linear model whose outputs start at F₀ (an offset), in float64."""
    beta = np.zeros((phi.shape[1],) + y.shape[1:])
    for _ in range(steps):
        beta = beta - learning_rate * phi.T @ (f0 + phi @ beta - y)
    return f0 + phi @ beta, f0_test + phi_test @ beta


def relative_error(actual, expected):
    return np.max(np.abs(actual - expected)) / max(np.max(np.abs(expected)), 1e-300)


@given(
    seed=st.integers(0, 10_000),
    n=st.integers(2, 20),
    p=st.integers(1, 25),
    m=st.integers(1, 6),
    columns=st.integers(0, 3),
    rate=st.floats(0.1, 1.9),
    steps=st.integers(0, 150),
    nonzero_start=st.booleans(),
)
def test_closed_form_equals_explicit_gd_loop(seed, n, p, m, columns, rate, steps, nonzero_start):
    phi, phi_test, y, rng = problem(seed, n, p, m, columns)
    spectrum = th.Spectrum.from_features(phi)  # p < n gives a rank-deficient kernel
    learning_rate = rate / spectrum.eigenvalues[0]
    f0 = rng.normal(size=y.shape) if nonzero_start else np.zeros(y.shape)
    f0_test = rng.normal(size=(m,) + y.shape[1:]) if nonzero_start else np.zeros((m,) + y.shape[1:])
    out = th.predict(
        spectrum, y, th.gd(learning_rate, steps), k_train_test=phi @ phi_test.T, f_train_0=f0, f_test_0=f0_test
    )
    train, test = explicit_weight_gd(phi, y, learning_rate, steps, f0, f0_test, phi_test)
    assert out.train.shape == y.shape and out.test.shape == (m,) + y.shape[1:]
    # GD with ηλ up to 1.9 amplifies round-off of the loop itself by at most |1 − ηλ|^t ≤ 1 per step
    assert relative_error(out.train, train) < 1e-10
    assert relative_error(out.test, test) < 1e-10


def test_whole_trajectory_in_one_call_matches_pointwise_calls(rng):
    phi, phi_test = rng.normal(size=(30, 8)), rng.normal(size=(5, 8))
    y = rng.normal(size=(30, 4))
    spectrum = th.Spectrum.from_features(phi)
    predict_fn = th.make_predictor(spectrum, y, k_train_test=phi @ phi_test.T)
    steps = np.array([0, 1, 7, 100, 1000])
    trajectory = predict_fn(th.gd(0.9 / spectrum.eigenvalues[0], steps))
    assert trajectory.train.shape == (5, 30, 4) and trajectory.test.shape == (5, 5, 4)
    for i, t in enumerate(steps):
        single = predict_fn(th.gd(0.9 / spectrum.eigenvalues[0], t))
        np.testing.assert_allclose(trajectory.train[i], single.train, rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(trajectory.test[i], single.test, rtol=1e-13, atol=1e-13)


def test_batched_targets_and_starts_broadcast_like_the_formula(rng):
    """Filter batch (2, 1), teacher-trajectory targets (3, n, C), a batched test start (4, 1, 1, m, C)."""
    n, m, columns = 12, 5, 2
    phi, phi_test = rng.normal(size=(n, 6)), rng.normal(size=(m, 6))
    spectrum = th.Spectrum.from_features(phi)
    y, f0 = rng.normal(size=(3, n, columns)), rng.normal(size=(n, columns))
    f0_test = rng.normal(size=(4, 1, 1, m, columns))
    filter = th.flow(time=[[0.5], [3.0]])
    out = th.predict(spectrum, y, filter, k_train_test=phi @ phi_test.T, f_train_0=f0, f_test_0=f0_test)
    assert out.train.shape == (2, 3, n, columns) and out.test.shape == (4, 2, 3, m, columns)
    u, lam = spectrum.eigenvectors, spectrum.eigenvalues
    for i, time in enumerate([0.5, 3.0]):
        gain = u @ np.diag(-np.expm1(-time * lam)) @ u.T  # U diag(g) Uᵀ
        weights = u @ np.diag(filter.over_eigenvalue(lam)[i, 0]) @ u.T  # U diag(g/λ) Uᵀ
        for j in range(3):
            np.testing.assert_allclose(out.train[i, j], f0 + gain @ (y[j] - f0), rtol=1e-12, atol=1e-12)
            expected_test = f0_test[:, 0, 0] + phi_test @ phi.T @ weights @ (y[j] - f0)
            np.testing.assert_allclose(out.test[:, i, j], expected_test, rtol=1e-12, atol=1e-12)


def test_time_zero_returns_initialisation(rng):
    phi = rng.normal(size=(10, 3))
    y, f0, f0_test = rng.normal(size=10), rng.normal(size=10), rng.normal(size=4)
    spectrum = th.Spectrum.from_features(phi)
    for flt in (th.gd(0.01, 0), th.flow(0.0)):
        out = th.predict(spectrum, y, flt, rng.normal(size=(10, 4)), f0, f0_test)
        np.testing.assert_array_equal(out.train, f0)
        np.testing.assert_array_equal(out.test, f0_test)


@given(seed=st.integers(0, 10_000), n=st.integers(2, 15), p=st.integers(1, 20))
def test_long_training_interpolates_with_the_minimum_norm_solution(seed, n, p):
    phi, phi_test, y, _ = problem(seed, n, p, 3, 2)
    spectrum = th.Spectrum.from_features(phi)
    beta = np.linalg.pinv(phi) @ y  # minimum-norm least squares: where GD from 0 converges
    for flt in (th.interpolate(), th.flow(1e4 / spectrum.eigenvalues[spectrum.rank - 1])):
        out = th.predict(spectrum, y, flt, k_train_test=phi @ phi_test.T)
        np.testing.assert_allclose(out.train, phi @ beta, atol=1e-8 * np.abs(y).max())
        np.testing.assert_allclose(out.test, phi_test @ beta, atol=1e-7 * max(np.abs(phi_test @ beta).max(), 1))


@given(seed=st.integers(0, 10_000), strength=st.floats(1e-3, 1e2), rbf=st.booleans())
def test_ridge_equals_scikit_learn_kernel_ridge(seed, strength, rbf):
    phi, phi_test, y, _ = problem(seed, 25, 4, 6, 3)
    kernel = "rbf" if rbf else "linear"
    model = KernelRidge(alpha=strength, kernel=kernel, gamma=0.3 if rbf else None).fit(phi, y)
    if rbf:
        gram = lambda a, b: np.exp(-0.3 * ((a[:, None] - b[None]) ** 2).sum(-1))  # noqa: E731
    else:
        gram = lambda a, b: a @ b.T  # noqa: E731
    out = th.predict(th.Spectrum.from_kernel(gram(phi, phi)), y, th.ridge(strength), k_train_test=gram(phi, phi_test))
    np.testing.assert_allclose(out.train, model.predict(phi), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(out.test, model.predict(phi_test), rtol=1e-8, atol=1e-10)


def test_vector_and_matrix_targets_agree(rng):
    phi = rng.normal(size=(12, 5))
    y = rng.normal(size=12)
    spectrum = th.Spectrum.from_features(phi)
    flt = th.flow([0.5, 2.0])
    vector = th.predict(spectrum, y, flt, k_train_test=phi @ phi[:3].T)
    matrix = th.predict(spectrum, y[:, None], flt, k_train_test=phi @ phi[:3].T)
    assert vector.train.shape == (2, 12) and vector.test.shape == (2, 3)
    np.testing.assert_allclose(vector.train, matrix.train[..., 0])
    assert "filter=flow" in repr(vector)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(y=np.ones(7)), "y must have shape"),
        (dict(y=np.full(10, np.nan)), "NaN"),
        (dict(k_train_test=np.ones((9, 3))), "k_train_test"),
        (dict(f_train_0=np.ones(9)), "f_train_0"),
        (dict(k_train_test=np.ones((10, 3)), f_test_0=np.ones(4)), "f_test_0"),
        (dict(f_test_0=np.ones(3)), "without k_train_test"),
    ],
)
def test_shape_mismatches_refused(kwargs, message):
    spectrum = th.Spectrum.from_features(np.random.default_rng(0).normal(size=(10, 3)))
    arguments = dict(y=np.ones(10), filter=th.flow(1.0))
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        th.predict(spectrum, **arguments)


def test_unstable_step_and_non_filter_refused():
    spectrum = th.Spectrum.from_kernel(np.diag([4.0, 1.0]))
    with pytest.raises(ValueError, match="unstable"):
        th.predict(spectrum, np.ones(2), th.gd(0.5, 10))
    with pytest.raises(TypeError, match="filter"):
        th.predict(spectrum, np.ones(2), lambda lam: lam)
    with pytest.raises(TypeError, match="Spectrum"):
        th.predict(np.eye(2), np.ones(2), th.flow(1.0))


def test_a_prediction_that_does_not_fit_in_memory_is_refused_up_front(monkeypatch):
    import time

    import theory._checks

    monkeypatch.setattr(theory._checks, "available_memory", lambda: 2**30)  # 1 GiB available
    x = np.random.default_rng(0).normal(size=(1000, 5))
    spectrum = th.Spectrum.from_features(x)
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"predicting 1000000 outputs of shape \(1000 \+ 0 points, 1\) for filter "
                                         r"batch shape \(1000000,\) needs about 29.8 GiB \(32000000000 bytes\), more "
                                         r"than 50% of the 1 GiB available to this process; predict fewer times"):
        th.predict(spectrum, x[:, 0], th.flow(time=np.linspace(0.0, 1.0, 10**6)))
    assert time.perf_counter() - start < 10
    assert th.predict(spectrum, x[:, 0], th.flow(time=np.linspace(0.0, 1.0, 10))).train.shape == (10, 1000)
