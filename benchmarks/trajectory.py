"""Benchmark: a whole closed-form GD trajectory against its floor (one eigendecomposition) and against explicit GD.

For n training points (RBF kernel on random 40-dimensional inputs), m = n/4 test points and C = 10 outputs:

* ``eigh``: one ``scipy.linalg.eigh(K)`` (eigenvalues and eigenvectors), the unavoidable floor;
* ``closed form``: ``Spectrum.from_kernel(K)`` + ``make_predictor`` + train and test predictions at 1,000
  times of ``gd`` (the full trajectory, shape (1000, n, 10) and (1000, m, 10));
* ``loop``: explicit float64 numpy GD on the outputs, F ← F − ηK(F − Y) (and the test outputs), for 10⁴ steps.
  At n > ``--loop-full-max`` the loop runs ``--loop-steps`` steps and the 10⁴-step time is extrapolated linearly
  (the loop's cost per step is constant); the table says which.

Run: ``python benchmarks/trajectory.py`` (``--sizes 1000 2000 4000``). Prints a table of measured seconds and
ratios from one run. Not a test.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import scipy.linalg

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import theory as th  # noqa: E402
from theory import kernels  # noqa: E402


def best_of(repeats, function):
    """Smallest (wall seconds, CPU seconds of this process) over ``repeats`` calls.

    CPU seconds (all threads) are reported beside wall time because they are far less sensitive to other jobs on
    a shared machine; ratios are given for both.
    """
    walls, cpus = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        function()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - start_cpu)
    return min(walls), min(cpus)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 4000])
    parser.add_argument("--times", type=int, default=1000, help="points on the trajectory")
    parser.add_argument("--loop-steps", type=int, default=1000, help="steps actually run when extrapolating")
    parser.add_argument("--loop-full-max", type=int, default=1000, help="largest n whose 10^4-step loop is run in full")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)

    rows = []
    for n in args.sizes:
        rng = np.random.default_rng(0)
        x, x_test = rng.normal(size=(n, 40)), rng.normal(size=(n // 4, 40))
        kernel = kernels.rbf(x, lengthscale=np.sqrt(40.0))
        kernel_test = kernels.rbf(x, x_test, lengthscale=np.sqrt(40.0))
        y = np.eye(10)[rng.integers(0, 10, n)]

        eigh_seconds = best_of(args.repeats, lambda: scipy.linalg.eigh(kernel))

        def closed_form():
            spectrum = th.Spectrum.from_kernel(kernel)
            rate = 1.0 / spectrum.eigenvalues[0]
            steps = np.unique(np.round(np.geomspace(1, 10_000, args.times)).astype(int))
            steps = np.concatenate([steps, np.arange(10_001, 10_001 + args.times - steps.size)])
            out = th.make_predictor(spectrum, y, k_train_test=kernel_test)(th.gd(rate, steps))
            assert out.train.shape == (args.times, n, 10) and out.test.shape == (args.times, n // 4, 10)
            return out

        closed_seconds = best_of(args.repeats, closed_form)

        rate = 1.0 / scipy.linalg.eigvalsh(kernel, subset_by_index=[n - 1, n - 1])[0]
        loop_steps = 10_000 if n <= args.loop_full_max else args.loop_steps

        def loop():
            train, test = np.zeros((n, 10)), np.zeros((n // 4, 10))
            for _ in range(loop_steps):
                residual = train - y
                train, test = train - rate * (kernel @ residual), test - rate * (kernel_test.T @ residual)
            return train

        loop_seconds = tuple(t * 10_000 / loop_steps for t in best_of(1, loop))
        rows.append((n, eigh_seconds, closed_seconds, loop_seconds, loop_steps < 10_000))
        print(f"n={n}: done", file=sys.stderr, flush=True)

    print(f"\nclosed-form trajectory of {args.times} times (train + test, C = 10) vs one eigh, and vs explicit GD (10^4 steps)")
    print("seconds as wall / CPU (all threads); ratios from wall and (CPU)")
    print(f"{'n':>6} {'eigh':>14} {'closed form':>14} {'ratio to eigh':>16} {'GD loop 1e4':>16} {'speed-up':>16}")
    for n, eigh_s, closed_s, loop_s, extrapolated in rows:
        mark = "*" if extrapolated else " "
        pair = lambda t: f"{t[0]:.2f}/{t[1]:.2f}"  # noqa: E731
        ratio = lambda a, b: f"{a[0] / b[0]:.2f} ({a[1] / b[1]:.2f})"  # noqa: E731
        print(f"{n:>6} {pair(eigh_s):>14} {pair(closed_s):>14} {ratio(closed_s, eigh_s):>16} "
              f"{pair(loop_s) + mark:>16} {ratio(loop_s, closed_s):>16}")
    if any(r[-1] for r in rows):
        print(f"* extrapolated linearly from {args.loop_steps} steps")


if __name__ == "__main__":
    main()
