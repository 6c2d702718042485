"""Benchmark: dense ``eigh`` against the matrix-free top-k spectrum (``Spectrum.from_operator``).

For n MNIST-1D training points (generated offline, standardised, 40 features) and the RBF kernel at the median
lengthscale (or ``--kernel relu_ntk``, depth 2):

* ``dense``: ``kernels.rbf(x)`` (the n × n matrix) + ``scipy.linalg.eigh`` of it (all n eigenpairs), as
  ``Spectrum.from_kernel`` does; run where n ≤ ``--dense-max``;
* ``top-k``: ``Spectrum.from_operator(kernels.operator(x, …), k)`` — randomized subspace iteration on an
  operator that evaluates 256 MiB row blocks of K on the fly (never the n × n matrix), to residuals
  ≤ ``--tol``·λ_max.

Per row: wall seconds, peak traced memory (tracemalloc: numpy's allocations, LAPACK workspaces included),
products (passes over K), the largest residual / λ_max, the remainder bound on λ_{k+1} / λ_max (on the dense
row: the exact λ_{k+1} / λ_max), and, where dense exists, the largest eigenvalue error |θ_j − λ_j| / λ_max
over the top k and the ratio of times.

Set ``OPENBLAS_NUM_THREADS=1`` on a loaded machine (OpenBLAS threads that spin on shared cores make
Householder QR and ``eigh`` 10–40× slower); the README numbers were measured so.

Run: ``python benchmarks/spectra.py`` (``--sizes 4000 8000 --topk-sizes 20000 --k 512``). Not a test.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
import tracemalloc

import numpy as np
import scipy.linalg

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import theory as th  # noqa: E402
from theory import kernels  # noqa: E402
from theory.data import load_mnist1d  # noqa: E402


def measured(function):
    """(result, wall seconds, peak traced bytes) of one call."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    start = time.perf_counter()
    result = function()
    wall = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, wall, peak


def inputs(n, seed=0):
    samples = 10 * math.ceil(n / 0.8 / 10) + 10
    return load_mnist1d(num_samples=samples, n_train=n, seed=seed).x_train


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[4000, 8000], help="dense and top-k")
    parser.add_argument("--topk-sizes", type=int, nargs="*", default=[20000], help="top-k only")
    parser.add_argument("--dense-max", type=int, default=8000)
    parser.add_argument("--k", type=int, default=512)
    parser.add_argument("--tol", type=float, default=1e-6)
    parser.add_argument("--kernel", choices=("rbf", "relu_ntk"), default="rbf")
    args = parser.parse_args(argv)

    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} "
          f"(1/5/15 min) on {os.cpu_count()} cores; kernel {args.kernel}, k = {args.k}, tol = {args.tol:g}")
    header = (f"{'n':>6} {'method':>7} {'seconds':>8} {'peak MB':>8} {'products':>8} {'max res/λ1':>10} "
              f"{'λk+1 bd/λ1':>10} {'max |Δλ|/λ1':>11} {'t dense/t topk':>14}")
    print(header)
    for n in sorted(set(args.sizes) | set(args.topk_sizes)):
        x = inputs(n)
        params = ({"lengthscale": kernels.median_lengthscale(x)} if args.kernel == "rbf" else {"depth": 2})
        dense_values = dense_time = None
        if n in args.sizes and n <= args.dense_max:
            def dense():
                gram = getattr(kernels, args.kernel)(x, **params)
                return scipy.linalg.eigh(gram, eigvals_only=False)[0][::-1]
            dense_values, dense_time, peak = measured(dense)
            true_next = dense_values[args.k] / dense_values[0]  # the exact λ_{k+1}/λ_1, beside the bound
            print(f"{n:>6} {'dense':>7} {dense_time:>8.1f} {peak / 1e6:>8.0f} {'':>8} {'':>10} {true_next:>10.1e} "
                  f"{'':>11} {'':>14}", flush=True)
        op = kernels.operator(x, kernel=args.kernel, **params)
        spectrum, wall, peak = measured(lambda: th.Spectrum.from_operator(op, args.k, tol=args.tol))
        top = spectrum.eigenvalues[0]
        error = ratio = ""
        if dense_values is not None:
            error = f"{np.max(np.abs(spectrum.eigenvalues - dense_values[:args.k])) / dense_values[0]:.1e}"
            ratio = f"{dense_time / wall:.2f}"
        print(f"{n:>6} {'top-k':>7} {wall:>8.1f} {peak / 1e6:>8.0f} {op.products:>8} "
              f"{spectrum.residuals.max() / top:>10.1e} {spectrum.remainder_bound / top:>10.1e} {error:>11} "
              f"{ratio:>14}", flush=True)
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
