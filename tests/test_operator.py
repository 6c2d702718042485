"""Top-k spectra without the n × n matrix: Spectrum.from_operator and theory.kernels.operator."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

import theory as th
from theory import kernels
from theory.topk import top_eigenpairs


def planted(seed, n, eigenvalues):
    """A PSD matrix with the given leading eigenvalues (rest 0) and a random eigenbasis."""
    basis, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(n, n)))
    values = np.zeros(n)
    values[: len(eigenvalues)] = eigenvalues
    kernel = (basis * values) @ basis.T
    return 0.5 * (kernel + kernel.T)


def subspace_sine(a, b):
    """Largest sine of the principal angles between the column spaces of a and b (orthonormal columns)."""
    cosines = scipy.linalg.svdvals(a.T @ b)
    return float(np.sqrt(max(0.0, 1.0 - cosines.min() ** 2)))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(60, 200), k=st.integers(1, 12),
       decay=st.floats(0.3, 0.8))
def test_top_k_equals_dense_eigh_on_a_planted_spectrum(seed, n, k, decay):
    values = 3.0 * decay ** np.arange(n)  # well separated: relative gaps ≥ 1 − decay
    kernel = planted(seed, n, values)
    op = scipy.sparse.linalg.aslinearoperator(kernel)
    spectrum = th.Spectrum.from_operator(op, k, seed=seed, tol=1e-10)
    dense = th.Spectrum.from_kernel(kernel)
    subspace = th.Spectrum.from_operator(op, k, seed=seed, tol=1e-10, method="subspace")
    # subspace iteration overshoots its tolerance (the last pair converges last): its basis is within 1e-7
    assert subspace_sine(subspace.eigenvectors, dense.eigenvectors[:, :k]) < 1e-7
    np.testing.assert_allclose(subspace.eigenvalues, dense.eigenvalues[:k], rtol=1e-8)
    assert spectrum.rank == k and spectrum.n == n
    assert spectrum.eigenvalues.shape == (k,) and spectrum.eigenvectors.shape == (n, k)
    assert np.all(np.diff(spectrum.eigenvalues) <= 0)
    np.testing.assert_allclose(spectrum.eigenvalues, dense.eigenvalues[:k], rtol=1e-8)
    np.testing.assert_allclose(spectrum.eigenvectors.T @ spectrum.eigenvectors, np.eye(k), atol=1e-12)
    # the block Krylov default stops at the tolerance: its basis is within the Davis–Kahan bound of its residuals
    gap = spectrum.eigenvalues[-1] - dense.eigenvalues[k]
    # (+ 1e-7: subspace_sine takes √(1 − cos²), which resolves sines down to about √eps only)
    assert subspace_sine(spectrum.eigenvectors, dense.eigenvectors[:, :k]) <= np.linalg.norm(spectrum.residuals) / gap + 1e-7
    assert subspace_sine(spectrum.eigenvectors, dense.eigenvectors[:, :k]) < 1e-5
    # residuals are the true ‖Ku − λu‖ and bound the eigenvalue errors
    true = np.linalg.norm(kernel @ spectrum.eigenvectors - spectrum.eigenvectors * spectrum.eigenvalues, axis=0)
    np.testing.assert_allclose(spectrum.residuals, true, rtol=1e-6, atol=1e-13 * values[0])
    error = np.abs(spectrum.eigenvalues - dense.eigenvalues[:k])
    assert np.all(error <= spectrum.residuals + 1e-13 * values[0])
    assert np.all(spectrum.eigenvalues <= dense.eigenvalues[:k] + 1e-13 * values[0])  # interlacing: θ_j ≤ λ_j
    assert spectrum.remainder_bound >= dense.eigenvalues[k]


def test_residuals_are_honest_before_convergence():
    """Stopped early, the pairs are not converged, but the residuals still are the true ones and bound errors."""
    values = 1.0 / (1.0 + np.arange(300)) ** 0.5  # slow decay: subspace iteration converges slowly
    kernel = planted(1, 300, values)
    with pytest.warns(RuntimeWarning, match="residual"):
        top = top_eigenpairs(kernel, 10, oversampling=2, max_products=3, tol=1e-12)
    assert not top.converged and top.products == 3
    true = np.linalg.norm(kernel @ top.eigenvectors - top.eigenvectors * top.eigenvalues, axis=0)
    np.testing.assert_allclose(top.residuals, true, rtol=1e-8)
    # every Ritz value has an eigenvalue within its residual, and never exceeds its own eigenvalue
    exact = np.linalg.eigvalsh(kernel)
    for theta, residual in zip(top.eigenvalues, top.residuals):
        assert np.min(np.abs(exact - theta)) <= residual * (1 + 1e-10)
    assert np.all(top.eigenvalues <= values[:10] + 1e-12)
    assert top.remainder_bound >= values[10]


def test_remainder_bound_with_trace_and_exact_when_the_block_is_everything():
    kernel = planted(2, 40, 0.5 ** np.arange(40))
    trace = float(np.trace(kernel))
    with_trace = top_eigenpairs(kernel, 5, trace=trace, probes=0, tol=1e-12)
    assert 0.5**5 <= with_trace.remainder_bound <= 0.5**5 * 1.01
    whole = top_eigenpairs(kernel, 38, oversampling=10, tol=1e-12)  # k + p ≥ n: the block spans everything
    np.testing.assert_allclose(whole.remainder_bound, 0.5**38, rtol=1e-6, atol=1e-13)
    assert top_eigenpairs(kernel, 40).remainder_bound <= 40 * np.finfo(float).eps


def test_from_operator_works_with_predict_and_progress():
    """A top-k Spectrum acts on the top-k directions only (the complement untrained)."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(120, 4))
    y = rng.normal(size=(120, 2))
    op = kernels.operator(x, kernel="rbf", lengthscale=2.0)
    top = th.Spectrum.from_operator(op, 15, tol=1e-12)
    dense = th.Spectrum.from_kernel(kernels.rbf(x, lengthscale=2.0))
    filter = th.flow(time=[0.5, 5.0])
    projector = top.eigenvectors @ top.eigenvectors.T
    got = th.predict(top, y, filter).train
    # dense prediction of the projected targets, restricted to the top-15 directions
    u = dense.eigenvectors[:, :15]
    expected = np.stack([u @ ((1 - np.exp(-t * dense.eigenvalues[:15]))[:, None] * (u.T @ y)) for t in (0.5, 5.0)])
    np.testing.assert_allclose(got, expected, atol=1e-8)
    np.testing.assert_allclose(projector @ got[1], got[1], atol=1e-10)
    progress = top.progress(got[1], y)
    assert progress.shape == (15,)
    np.testing.assert_allclose(progress, 1 - np.exp(-5.0 * top.eigenvalues), atol=1e-8)
    assert top.group_progress(got[1], y, [0, 1, 2]) > 0


@pytest.mark.parametrize("kernel, params", [
    ("linear", {}),
    ("rbf", {"lengthscale": 1.7}),
    ("relu_nngp", {"depth": 2, "bias_std": 0.3}),
    ("relu_ntk", {"depth": 3, "weight_std": 1.2, "bias_std": 0.1}),
])
def test_kernel_operator_equals_dense_products(kernel, params):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(157, 5))
    dense = getattr(kernels, kernel)(x, **params)
    op = kernels.operator(x, kernel=kernel, block_bytes=40 * 157 * 8, **params)  # several blocks
    assert op.block_rows < 157 and op.shape == (157, 157)
    v = rng.normal(size=(157, 7))
    scale = np.abs(dense).max()
    np.testing.assert_allclose(op.matmat(v), dense @ v, rtol=0, atol=1e-12 * scale * 157)
    np.testing.assert_allclose(op.matvec(v[:, 0]), dense @ v[:, 0], rtol=0, atol=1e-12 * scale * 157)
    np.testing.assert_allclose(op.T.matmat(v), dense @ v, rtol=0, atol=1e-12 * scale * 157)
    np.testing.assert_allclose(op.diagonal(), np.diag(dense), rtol=1e-12)
    np.testing.assert_allclose(op.trace, np.trace(dense), rtol=1e-12)


def test_kernel_operator_callable_hook_and_argument_checks():
    x = np.random.default_rng(5).normal(size=(30, 2))
    op = kernels.operator(x, kernel=lambda a, b, scale: scale * (a @ b.T), scale=2.0)
    np.testing.assert_allclose(op.matmat(np.eye(30)), 2.0 * x @ x.T, atol=1e-12)
    assert op.trace is None
    with pytest.raises(ValueError, match="kernel"):
        kernels.operator(x, kernel="poly")
    with pytest.raises(ValueError, match="lengthscale"):
        kernels.operator(x, kernel="rbf", lengthscale=-1.0)
    with pytest.raises(ValueError, match="x"):
        kernels.operator(x[:, :, None], kernel="linear")
    with pytest.raises(ValueError, match="k"):
        th.Spectrum.from_operator(np.eye(4), 5)
    with pytest.raises(ValueError, match="op"):
        th.Spectrum.from_operator(np.ones((3, 4)), 1)


def test_operator_never_allocates_n_by_n():
    """Under an address-space limit too small for one n × n float64 matrix, the top-k spectrum still runs."""
    n = 12_000  # a dense kernel is 1.15 GB; the limit leaves about 0.5 GB
    script = textwrap.dedent(f"""
        import resource, numpy as np
        import theory as th
        from theory import kernels
        x = np.random.default_rng(0).normal(size=({n}, 3))
        op = kernels.operator(x, kernel="rbf", lengthscale=1.0, block_bytes=2**25)
        with open("/proc/self/status") as handle:
            size = [int(l.split()[1]) * 1024 for l in handle if l.startswith("VmSize")][0]
        resource.setrlimit(resource.RLIMIT_AS, (size + 2**29, resource.RLIM_INFINITY))
        try:
            np.ones(({n}, {n}))
            raise SystemExit("the limit does not bite: a dense n x n matrix was allocated")
        except MemoryError:
            pass
        spectrum = th.Spectrum.from_operator(op, 4, oversampling=4, max_products=3, tol=1e-30, probes=2)
        assert spectrum.eigenvectors.shape == ({n}, 4)
        print("ok", op.products)
    """)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               JAX_PLATFORMS="cpu", XLA_FLAGS="--xla_force_host_platform_device_count=1")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run([sys.executable, "-W", "ignore", "-c", script], capture_output=True, text=True,
                            env=env, cwd=root, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "ok 3"


class _Counting:
    """An operator that counts the columns it multiplies."""

    def __init__(self, matrix):
        self.matrix, self.shape, self.columns = matrix, matrix.shape, 0

    def matmat(self, block):
        self.columns += block.shape[1]
        return self.matrix @ block


def test_krylov_restarts_stay_exact_and_multiply_fewer_columns_than_subspace_iteration():
    """Forced thick restarts (a small max_basis) keep the pairs right; block Krylov multiplies fewer columns."""
    values = 1.0 / (1.0 + np.arange(400)) ** 1.5
    kernel = planted(7, 400, values)
    dense = np.linalg.eigvalsh(kernel)[::-1]
    columns = {}
    for method, max_basis in (("krylov", None), ("krylov", 50), ("subspace", None)):
        op = _Counting(kernel)
        top = top_eigenpairs(op, 20, oversampling=10, tol=1e-9, method=method, max_basis=max_basis, max_products=200)
        assert top.converged
        np.testing.assert_allclose(top.eigenvalues, dense[:20], rtol=0, atol=1e-9 * values[0])
        true = np.linalg.norm(kernel @ top.eigenvectors - top.eigenvectors * top.eigenvalues, axis=0)
        np.testing.assert_allclose(top.residuals, true, rtol=1e-6, atol=1e-14)
        assert top.remainder_bound >= dense[20]
        columns[(method, max_basis)] = op.columns
    assert columns[("krylov", None)] < columns[("subspace", None)]


def test_median_lengthscale_on_a_subset():
    x = np.random.default_rng(8).normal(size=(300, 3))
    assert kernels.median_lengthscale(x, max_points=300) == kernels.median_lengthscale(x)
    subset = kernels.median_lengthscale(x, max_points=100, seed=3)
    index = np.sort(np.random.default_rng(3).choice(300, 100, replace=False))
    assert subset == kernels.median_lengthscale(x[index])
    with pytest.raises(ValueError, match="max_points"):
        kernels.median_lengthscale(x, max_points=1)
