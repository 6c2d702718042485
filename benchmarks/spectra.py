"""Benchmark: dense ``eigh`` against the matrix-free top-k spectrum (``Spectrum.from_operator``).

For n MNIST-1D training points (generated offline, standardised, 40 features) and the RBF kernel at the median
lengthscale (over a 5,000-point subset: all n²/2 distances take 10 GB at n = 50,000) (or ``--kernel relu_ntk``, depth 2):

* ``dense``: ``kernels.rbf(x)`` (the n × n matrix) + ``scipy.linalg.eigh`` of it (all n eigenpairs), as
  ``Spectrum.from_kernel`` does; run where n ≤ ``--dense-max``;
* ``krylov`` / ``subspace``: ``Spectrum.from_operator(kernels.operator(x, …), k, method=…)`` — block
  Krylov–Ritz (the default) or subspace iteration on an operator that evaluates 256 MiB strips of K on the
  fly (never the n × n matrix), to residuals ≤ ``--tol``·λ_max (``--methods`` chooses; both by default).

Per row: wall seconds, CPU seconds of the process (on a shared machine the work done: with one BLAS thread,
what the wall time would be on an idle core), peak traced memory (tracemalloc: numpy's allocations, LAPACK workspaces included),
products (passes over K), columns multiplied (the GEMM cost: 2n² flops each), the largest residual / λ_max, the remainder bound on λ_{k+1} / λ_max (on the dense
row: the exact λ_{k+1} / λ_max), and, where dense exists, the largest eigenvalue error |θ_j − λ_j| / λ_max
over the top k and the ratio of times.

Set ``OPENBLAS_NUM_THREADS=1`` on a loaded machine (OpenBLAS threads that spin on shared cores make
Householder QR and ``eigh`` 10–40× slower); the README numbers were measured so.

``--max-products P`` caps the products (a row that stops there is marked ``(capped)``: its time is a lower
bound, used to extrapolate a larger n honestly as time per column and per pass).

Run: ``python benchmarks/spectra.py`` (``--sizes 4000 8000 16000 --topk-sizes 50000 --k 512``). Not a test.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
import tracemalloc
import warnings

import numpy as np
import scipy.linalg

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import theory as th  # noqa: E402
from theory import kernels  # noqa: E402
from theory.data import load_mnist1d  # noqa: E402


def measured(function):
    """(result, wall seconds, peak traced bytes, CPU seconds of this process) of one call."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    start, cpu = time.perf_counter(), time.process_time()
    result = function()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, wall, peak, cpu


class Counted:
    """An operator that counts its products and the columns multiplied."""

    def __init__(self, op):
        self.op, self.shape, self.trace = op, op.shape, op.trace
        self.products = self.columns = 0

    def matmat(self, block):
        self.products += 1
        self.columns += block.shape[1]
        return self.op.matmat(block)


def inputs(n, seed=0):
    samples = 10 * math.ceil(n / 0.8 / 10) + 10
    return load_mnist1d(num_samples=samples, n_train=n, seed=seed).x_train


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[4000, 8000, 16000], help="dense and top-k")
    parser.add_argument("--topk-sizes", type=int, nargs="*", default=[50000], help="top-k only")
    parser.add_argument("--dense-max", type=int, default=16000)
    parser.add_argument("--methods", nargs="+", choices=("krylov", "subspace"), default=["krylov", "subspace"])
    parser.add_argument("--max-products", type=int, default=30)
    parser.add_argument("--k", type=int, default=512)
    parser.add_argument("--tol", type=float, default=1e-6)
    parser.add_argument("--kernel", choices=("rbf", "relu_ntk"), default="rbf")
    args = parser.parse_args(argv)

    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} "
          f"(1/5/15 min) on {os.cpu_count()} cores; kernel {args.kernel}, k = {args.k}, tol = {args.tol:g}")
    header = (f"{'n':>6} {'method':>8} {'seconds':>8} {'cpu s':>7} {'peak MB':>8} {'products':>8} {'columns':>7} "
              f"{'max res/λ1':>10} {'λk+1 bd/λ1':>10} {'max |Δλ|/λ1':>11} {'t dense/t':>9}")
    print(header)
    for n in sorted(set(args.sizes) | set(args.topk_sizes)):
        x = inputs(n)
        params = ({"lengthscale": kernels.median_lengthscale(x, max_points=5000)} if args.kernel == "rbf" else {"depth": 2})
        dense_values = dense_time = None
        if n in args.sizes and n <= args.dense_max:
            def dense():
                gram = getattr(kernels, args.kernel)(x, **params)
                return scipy.linalg.eigh(gram, eigvals_only=False)[0][::-1]
            dense_values, dense_time, peak, cpu = measured(dense)
            true_next = dense_values[args.k] / dense_values[0]  # the exact λ_{k+1}/λ_1, beside the bound
            print(f"{n:>6} {'dense':>8} {dense_time:>8.1f} {cpu:>7.1f} {peak / 1e6:>8.0f} {'':>8} {'':>7} {'':>10} "
                  f"{true_next:>10.1e} {'':>11} {'':>9}", flush=True)
        for method in args.methods:
            op = Counted(kernels.operator(x, kernel=args.kernel, **params))
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                spectrum, wall, peak, cpu = measured(lambda: th.Spectrum.from_operator(
                    op, args.k, tol=args.tol, method=method, max_products=args.max_products))
            capped = any("residual" in str(w.message) for w in caught)
            top = spectrum.eigenvalues[0]
            error = ratio = ""
            if dense_values is not None:
                error = f"{np.max(np.abs(spectrum.eigenvalues - dense_values[:args.k])) / dense_values[0]:.1e}"
                ratio = f"{dense_time / wall:.2f}"
            label = method + ("*" if capped else "")
            print(f"{n:>6} {label:>8} {wall:>8.1f} {cpu:>7.1f} {peak / 1e6:>8.0f} {op.products:>8} {op.columns:>7} "
                  f"{spectrum.residuals.max() / top:>10.1e} {spectrum.remainder_bound / top:>10.1e} {error:>11} "
                  f"{ratio:>9}", flush=True)
    print("* capped by --max-products (not converged to --tol): a lower bound on the time")
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
