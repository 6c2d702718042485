"""Tests of theory.dynamics: an explicit numpy loop, least squares, kernel/linear agreement, SGD laws."""
import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory.dynamics import Trajectory, kernel_gd, linear_gd

seeds = st.integers(0, 2**32 - 1)
output_columns = st.sampled_from([None, 1, 3])  # None: y is (n,)


def relative_error(actual, expected):
    """max |actual − expected| / max |expected| (absolute when expected is all zeros)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    scale = np.max(np.abs(expected), initial=0.0)
    return np.max(np.abs(actual - expected), initial=0.0) / (scale if scale > 0 else 1.0)


def targets(rng, n, columns):
    return rng.normal(size=(n,) if columns is None else (n, columns))


def top_eigenvalue(matrix):
    return np.linalg.eigvalsh(matrix)[-1]


def numpy_kernel_gd(k, k_star, y, f_train, f_test, learning_rate, steps):
    """The update of docs/maths.md §2 written out: every step's (train, test) outputs, float64."""
    trains, tests = [f_train], [f_test]
    for _ in range(steps):
        residual = f_train - y
        f_train = f_train - learning_rate * (k @ residual)
        f_test = f_test - learning_rate * (k_star.T @ residual)
        trains.append(f_train)
        tests.append(f_test)
    return np.array(trains), np.array(tests)


def expected_steps(steps, record_every):
    recorded = list(range(0, steps + 1, record_every))
    return recorded if recorded[-1] == steps else recorded + [steps]


# ------------------------------------------------------------------------------ kernel GD vs a loop


@settings(max_examples=25)
@given(seed=seeds, n=st.integers(1, 7), m=st.integers(1, 4), p=st.integers(1, 6), columns=output_columns,
       steps=st.integers(0, 30), record_every=st.integers(1, 12), rate_fraction=st.floats(0.05, 1.9))
def test_kernel_gd_equals_numpy_loop(seed, n, m, p, columns, steps, record_every, rate_fraction):
    rng = np.random.default_rng(seed)
    features, features_test = rng.normal(size=(n, p)), rng.normal(size=(m, p))
    k, k_star = features @ features.T, features @ features_test.T
    y = targets(rng, n, columns)
    f_train_0 = rng.normal(size=y.shape)
    f_test_0 = rng.normal(size=(m,) + y.shape[1:])
    learning_rate = rate_fraction / top_eigenvalue(k)
    run = kernel_gd(k, y, learning_rate=learning_rate, steps=steps, record_every=record_every,
                    k_train_test=k_star, f_train_0=f_train_0, f_test_0=f_test_0)
    trains, tests = numpy_kernel_gd(k, k_star, y, f_train_0, f_test_0, learning_rate, steps)
    assert run.steps.tolist() == expected_steps(steps, record_every)
    assert run.weights is None and run.train.dtype == np.float64
    assert relative_error(run.train, trains[run.steps]) < 1e-12
    assert relative_error(run.test, tests[run.steps]) < 1e-12


@settings(max_examples=15)
@given(seed=seeds, n=st.integers(1, 6), columns=output_columns, steps=st.integers(0, 25),
       record_every=st.integers(1, 30))
def test_recorded_steps_and_initialisation(seed, n, columns, steps, record_every):
    rng = np.random.default_rng(seed)
    features, y = rng.normal(size=(n, 3)), targets(rng, n, columns)
    weights_0 = rng.normal(size=(3,) + y.shape[1:])
    learning_rate = 0.5 / top_eigenvalue(features @ features.T)
    linear = linear_gd(features, y, learning_rate=learning_rate, steps=steps, record_every=record_every,
                       weights_0=weights_0)
    kernel = kernel_gd(features @ features.T, y, learning_rate=learning_rate, steps=steps,
                       record_every=record_every)
    for run in (linear, kernel):
        assert run.steps.tolist() == expected_steps(steps, record_every)
        assert run.train.shape == (len(run.steps),) + y.shape and run.test is None
    np.testing.assert_array_equal(linear.weights[0], weights_0)
    np.testing.assert_allclose(linear.train[0], features @ weights_0, rtol=1e-14, atol=1e-14)
    np.testing.assert_array_equal(kernel.train[0], np.zeros_like(y))  # zero initial outputs by default


# ----------------------------------------------------------------------- linear GD is kernel GD


@settings(max_examples=25)
@given(seed=seeds, n=st.integers(1, 8), p=st.integers(1, 8), rank_cut=st.integers(0, 3), m=st.integers(1, 3),
       columns=output_columns, steps=st.integers(0, 40), record_every=st.integers(1, 10),
       rate_fraction=st.floats(0.05, 1.9))
def test_linear_gd_is_kernel_gd(seed, n, p, rank_cut, m, columns, steps, record_every, rate_fraction):
    rng = np.random.default_rng(seed)
    rank = max(1, min(n, p) - rank_cut)  # rank_cut > 0: rank-deficient Φ
    features = rng.normal(size=(n, rank)) @ rng.normal(size=(rank, p))
    features_test = rng.normal(size=(m, p))
    y = targets(rng, n, columns)
    weights_0 = rng.normal(size=(p,) + y.shape[1:])
    k = features @ features.T
    learning_rate = rate_fraction / top_eigenvalue(k)
    linear = linear_gd(features, y, learning_rate=learning_rate, steps=steps, record_every=record_every,
                       features_test=features_test, weights_0=weights_0)
    kernel = kernel_gd(k, y, learning_rate=learning_rate, steps=steps, record_every=record_every,
                       k_train_test=features @ features_test.T, f_train_0=features @ weights_0,
                       f_test_0=features_test @ weights_0)
    np.testing.assert_array_equal(linear.steps, kernel.steps)
    assert linear.weights.shape == (len(linear.steps), p) + y.shape[1:]
    assert relative_error(linear.train, kernel.train) < 1e-10
    assert relative_error(linear.test, kernel.test) < 1e-10


def orthonormal(rng, rows, columns):
    return np.linalg.qr(rng.normal(size=(rows, columns)))[0]


@pytest.mark.parametrize("n, p, rank", [(40, 5, 5), (30, 8, 3), (10, 25, 10), (10, 25, 4)])
def test_gd_from_zero_converges_to_min_norm_least_squares(n, p, rank):
    """Independent reference: GD from β = 0 stays in the row space of Φ, so it ends at lstsq's solution."""
    rng = np.random.default_rng(n * p + rank)
    singular_values = np.linspace(1.0, 2.0, rank)  # nonzero spectrum in [1, 4]: fast, sure convergence
    features = orthonormal(rng, n, rank) * singular_values @ orthonormal(rng, p, rank).T
    y = rng.normal(size=(n, 2))
    run = linear_gd(features, y, learning_rate=1.0 / 4.0, steps=400, record_every=400)  # ηλ_max ≤ 1
    least_squares = np.linalg.lstsq(features, y, rcond=None)[0]
    assert relative_error(run.weights[-1], least_squares) < 1e-10
    assert relative_error(run.train[-1], features @ least_squares) < 1e-10


# ------------------------------------------------------------------------------------------ SGD


@pytest.fixture
def problem(rng):
    features = rng.normal(size=(12, 3))
    return features, rng.normal(size=12), 0.5 / top_eigenvalue(features.T @ features)


def test_sgd_same_seed_same_trajectory_and_different_seed_differs(problem):
    features, y, learning_rate = problem
    def run(seed, replace=False):
        return linear_gd(features, y, learning_rate=learning_rate, steps=20, batch_size=4, seed=seed,
                         replace=replace).weights
    np.testing.assert_array_equal(run(7), run(7))
    np.testing.assert_array_equal(run(7, replace=True), run(7, replace=True))
    assert not np.allclose(run(7), run(8))
    assert not np.allclose(run(7), run(7, replace=True))


def test_sgd_with_whole_batch_without_replacement_is_full_batch(problem):
    features, y, learning_rate = problem
    full = linear_gd(features, y, learning_rate=learning_rate, steps=50, features_test=features[:4])
    batch = linear_gd(features, y, learning_rate=learning_rate, steps=50, features_test=features[:4],
                      batch_size=len(y), seed=3)
    assert relative_error(batch.weights, full.weights) < 1e-12
    assert relative_error(batch.test, full.test) < 1e-12


@pytest.mark.parametrize("replace", [False, True])
def test_sgd_step_is_unbiased(problem, rng, replace):
    features, y, learning_rate = problem
    weights_0 = rng.normal(size=3)
    full_update = -learning_rate * features.T @ (features @ weights_0 - y)
    updates = np.array([
        linear_gd(features, y, learning_rate=learning_rate, steps=1, weights_0=weights_0, batch_size=4,
                  seed=seed, replace=replace).weights[1] - weights_0
        for seed in range(400)
    ])
    standard_error = updates.std(axis=0, ddof=1) / np.sqrt(len(updates))
    assert np.all(standard_error > 0)
    np.testing.assert_array_less(np.abs(updates.mean(axis=0) - full_update), 5 * standard_error)


# ------------------------------------------------------------------------------ stability and x64


def test_unstable_learning_rate_is_refused(problem):
    features, y, _ = problem
    k = features @ features.T
    for learning_rate in (2.0 / top_eigenvalue(k) * 1.01, 5.0 / top_eigenvalue(k)):
        with pytest.raises(ValueError, match=r"learning_rate.*η·λ_max < 2"):
            kernel_gd(k, y, learning_rate=learning_rate, steps=10)
        with pytest.raises(ValueError, match=r"learning_rate.*η·λ_max < 2"):
            linear_gd(features, y, learning_rate=learning_rate, steps=10)


def test_unstable_learning_rate_is_refused_by_lanczos_on_large_problems(rng):
    features = rng.normal(size=(300, 400))  # both sides > the dense limit: eigsh path
    k = features @ features.T
    learning_rate = 2.01 / top_eigenvalue(k)
    with pytest.raises(ValueError, match="η·λ_max < 2"):
        kernel_gd(k, np.zeros(300), learning_rate=learning_rate, steps=1)
    with pytest.raises(ValueError, match="η·λ_max < 2"):
        linear_gd(features, np.zeros(300), learning_rate=learning_rate, steps=1)
    run = linear_gd(features, np.ones(300), learning_rate=1.9 / top_eigenvalue(k), steps=3)
    assert np.all(np.isfinite(run.train))


def test_sgd_divergence_raises_floating_point_error(rng):
    features = rng.normal(size=(20, 200))  # p ≫ n: K ≈ p·I, so a one-point batch scaled by n is ~20× steeper
    learning_rate = 1.5 / top_eigenvalue(features @ features.T)
    with pytest.raises(FloatingPointError, match="η·λ_max < 2"):
        linear_gd(features, rng.normal(size=20), learning_rate=learning_rate, steps=2000, batch_size=1)


def test_x64_does_not_leak_and_outputs_are_float64(problem):
    features, y, learning_rate = problem
    assert not jax.config.jax_enable_x64
    run = linear_gd(features.astype(np.float32), y.astype(np.float32), learning_rate=learning_rate, steps=3,
                    batch_size=2)
    kernel = kernel_gd(features @ features.T, y, learning_rate=learning_rate, steps=3)
    assert not jax.config.jax_enable_x64
    assert run.weights.dtype == run.train.dtype == kernel.train.dtype == np.float64
    assert isinstance(run.train, np.ndarray) and isinstance(kernel.train, np.ndarray)


def test_trajectory_repr_shows_shapes(problem):
    features, y, learning_rate = problem
    text = repr(linear_gd(features, y, learning_rate=learning_rate, steps=4, record_every=2,
                          features_test=features[:5]))
    assert text == "Trajectory(steps=3 recorded in [0, 4], train=(3, 12), test=(3, 5), weights=(3, 3))"
    assert isinstance(Trajectory(np.arange(1), np.zeros((1, 2)), None, None), Trajectory)


# -------------------------------------------------------------------------------------- bad input

K = np.eye(4)
Y = np.ones(4)
GOOD_KERNEL = dict(learning_rate=0.5, steps=3)
KERNEL_CASES = [
    (dict(k_train_train=np.ones((4, 3))), "k_train_train must be square"),
    (dict(k_train_train=np.ones(4)), r"k_train_train must be 2-D with shape \(\*, \*\), got shape \(4,\)"),
    (dict(k_train_train=np.triu(np.ones((4, 4)))), "k_train_train must be symmetric"),
    (dict(k_train_train=np.where(np.eye(4) > 0, np.nan, 0.0)), "k_train_train must be finite, got 4 NaN"),
    (dict(y=np.ones(5)), r"y must have shape \(4,\) .*got shape \(5,\)"),
    (dict(y=np.ones((4, 2, 1))), "y must be 1-D or 2-D"),
    (dict(y=np.array([1.0, np.inf, 0.0, 0.0])), "y must be finite, got 1 NaN"),
    (dict(y=np.array(["a"] * 4)), "y must be a real numeric array"),
    (dict(learning_rate=0.0), "learning_rate must be a finite real number > 0"),
    (dict(learning_rate=-1.0), "learning_rate must be a finite real number > 0"),
    (dict(learning_rate=np.nan), "learning_rate must be a finite real number > 0"),
    (dict(learning_rate="0.1"), "learning_rate must be a finite real number"),
    (dict(steps=-1), "steps must be an integer >= 0"),
    (dict(steps=2.5), "steps must be an integer"),
    (dict(steps=True), "steps must be an integer"),
    (dict(record_every=0), "record_every must be an integer >= 1"),
    (dict(k_train_test=np.ones((3, 2))), r"k_train_test must have shape \(4, \*\) \(\(n, m\) with n = 4"),
    (dict(f_train_0=np.ones((4, 1))), r"f_train_0 must be 1-D with shape \(4,\) .*got shape \(4, 1\)"),
    (dict(f_test_0=np.ones(2)), "f_test_0 was given without k_train_test"),
    (dict(k_train_test=np.ones((4, 2)), f_test_0=np.ones(3)), r"f_test_0 must have shape \(2,\) .*got shape \(3,\)"),
]


@pytest.mark.parametrize("change, message", KERNEL_CASES)
def test_kernel_gd_rejects_bad_input(change, message):
    arguments = dict(k_train_train=K, y=Y, **GOOD_KERNEL) | change
    with pytest.raises(ValueError, match=message):
        kernel_gd(**arguments)


FEATURES = np.eye(4)[:, :3]
LINEAR_CASES = [
    (dict(features_train=np.ones(4)), "features_train must be 2-D"),
    (dict(features_train=np.full((4, 3), np.inf)), "features_train must be finite, got 12 NaN"),
    (dict(y=np.ones((5, 2))), r"y must have shape \(4, 2\) .*got shape \(5, 2\)"),
    (dict(features_test=np.ones((2, 4))), "features_test must have shape .* p = 3 columns"),
    (dict(weights_0=np.ones(4)), r"weights_0 must have shape \(3,\) .*got shape \(4,\)"),
    (dict(batch_size=0), r"batch_size must be an integer in \[1, 4\], got 0"),
    (dict(batch_size=5), r"batch_size must be an integer in \[1, 4\], got 5"),
    (dict(batch_size=2.0), "batch_size must be an integer"),
    (dict(seed=1.5), "seed must be an integer"),
    (dict(learning_rate=0.0), "learning_rate must be a finite real number > 0"),
    (dict(steps=-2), "steps must be an integer >= 0"),
    (dict(record_every=-1), "record_every must be an integer >= 1"),
]


@pytest.mark.parametrize("change, message", LINEAR_CASES)
def test_linear_gd_rejects_bad_input(change, message):
    arguments = dict(features_train=FEATURES, y=Y, **GOOD_KERNEL) | change
    with pytest.raises(ValueError, match=message):
        linear_gd(**arguments)


# ------------------------------------------------------------------ issue 11: PSD kernels, sizes, empty inputs

import time  # noqa: E402

import theory._checks  # noqa: E402
from theory import Spectrum  # noqa: E402
from theory.dynamics import kernel_gd_sweep  # noqa: E402


def _gram(n, seed=0):
    features = np.random.default_rng(seed).normal(size=(n, 5))
    return features @ features.T


@pytest.mark.parametrize("n", [6, 300])  # dense and large-n paths
@pytest.mark.parametrize("simulate", [kernel_gd, kernel_gd_sweep])
def test_a_kernel_that_is_not_psd_is_refused_before_the_learning_rate(simulate, n):
    k = _gram(n)
    for bad in (k - 2 * np.eye(n), -k):
        with pytest.raises(ValueError, match=r"k_train_train must be positive semi-definite, got smallest eigenvalue "
                                             r"-\d.*\(λ_max .*round-off allows down to"):
            simulate(bad, np.ones((n, 1)), learning_rate=1e-6, steps=3)


def test_psd_tolerance_is_the_one_of_spectrum():
    tolerance = theory._checks.psd_tolerance(4, 5.0)
    assert tolerance == 10 * 4 * np.finfo(float).eps * 5.0
    inside, outside = np.diag([5.0, 1.0, 0.0, -0.5 * tolerance]), np.diag([5.0, 1.0, 0.0, -2 * tolerance])
    Spectrum.from_kernel(inside)
    kernel_gd(inside, np.ones(4), learning_rate=0.1, steps=2)
    with pytest.raises(ValueError, match="not positive semi-definite"):
        Spectrum.from_kernel(outside)
    with pytest.raises(ValueError, match="k_train_train must be positive semi-definite"):
        kernel_gd(outside, np.ones(4), learning_rate=0.1, steps=2)


@pytest.mark.parametrize("call", [
    lambda: kernel_gd(np.zeros((0, 0)), np.zeros(0), learning_rate=0.1, steps=3),
    lambda: kernel_gd_sweep(np.zeros((0, 0)), np.zeros((0, 1)), learning_rate=0.1, steps=3),
    lambda: linear_gd(np.zeros((0, 3)), np.zeros(0), learning_rate=0.1, steps=3),
], ids=["kernel_gd", "kernel_gd_sweep", "linear_gd"])
def test_no_training_points_are_refused(call):
    with pytest.raises(ValueError, match=r"(k_train_train|features_train) must hold at least one training point, "
                                         r"got shape \(0, \d\)"):
        call()


def test_a_recording_that_does_not_fit_in_memory_is_refused_up_front(monkeypatch):
    monkeypatch.setattr(theory._checks, "available_memory", lambda: 2**30)  # 1 GiB available
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"recording 1000001 steps of 16000 bytes each .* needs about 44.7 GiB "
                                         r"\(48008048008 bytes\), more than 50% of the 1 GiB available to this "
                                         r"process; record fewer steps: a larger record_every"):
        kernel_gd(_gram(1000), np.ones(1000), learning_rate=1e-6, steps=10**6, record_every=1)
    assert time.perf_counter() - start < 30  # refused before simulating (an eigen check and the estimate)
    with pytest.raises(ValueError, match="needs about"):
        linear_gd(np.ones((1000, 5)), np.ones(1000), learning_rate=1e-6, steps=10**7, record_every=1)
    run = kernel_gd(_gram(1000), np.ones(1000), learning_rate=1e-6, steps=100, record_every=10)  # fits: runs
    assert run.train.shape == (11, 1000)


def test_available_memory_reads_the_address_space_limit(tmp_path):
    import subprocess
    import sys

    script = ("import importlib.util, resource, sys\n"
              "spec = importlib.util.spec_from_file_location('checks', sys.argv[1])\n"
              "checks = importlib.util.module_from_spec(spec); spec.loader.exec_module(checks)\n"
              "limit = 6 * 2**30\n"
              "resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))\n"
              "available = checks.available_memory()\n"
              "assert 0 < available <= limit, available\n"
              "print('ok')\n")
    path = theory._memory.__file__  # loaded alone: no jax in the limited process
    result = subprocess.run([sys.executable, "-c", script, path], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "ok", result.stderr
    assert theory._checks.available_memory() is None or theory._checks.available_memory() > 0
