"""Benchmark: a whole closed-form trajectory against the machine's floor for it, measured in the same run.

For n training points (RBF kernel on random 40-dimensional inputs), m = n/4 test points, C = 10 outputs and
T = ``--times`` points on a GD trajectory, the closed form (docs/maths.md §3) is

    F_train(t) = U diag(g_t(λ)) Uᵀ Y,   F_test(t) = (K_*ᵀ U) diag(g_t(λ)/λ) Uᵀ Y,

so whatever the implementation, it needs one eigendecomposition of K and two output products that write the
whole trajectory: (n × n)·(n × T·C) and (m × n)·(n × T·C). The **floor** is measured here, in this run:

* ``eigh``: one ``scipy.linalg.eigh(K)`` (eigenvalues and eigenvectors);
* ``GEMMs``: one float64 GEMM of each of the two output shapes above on random operands (numpy ``@``,
  the same BLAS); the GEMM rate (GFLOP/s) they reach is printed too;
* ``floor`` = eigh + GEMMs.

The **closed form** is what a user runs: ``Spectrum.from_kernel(K)`` + ``make_predictor(spectrum, Y,
k_train_test=K_*)`` + the train and test predictions of ``gd`` at T step counts (outputs (T, n, 10) and
(T, m, 10)). Everything it does beyond the floor (validation, symmetrising K, K_*ᵀU, the filter values,
scaling the coordinates, adding F₀) is its overhead; the goal is closed form ≤ 1.2 × floor. The columns
``spectrum`` and ``predict`` split the closed form into its two stages.

``--loop`` also times explicit float64 numpy GD on the outputs, F ← F − ηK(F − Y) (and the test outputs), for
10⁴ steps (extrapolated linearly from ``--loop-steps`` steps at n > ``--loop-full-max``; marked so).

Times are the best of ``--repeats`` rounds (each round runs every measurement in turn), as wall seconds and CPU seconds of this process (all threads; far less
sensitive to other jobs on a shared machine); ratios are given for both. The load (``os.getloadavg``) is
printed before and after; ``--threads 1`` pins BLAS to one thread (steadier on a shared machine).

Run: ``python benchmarks/trajectory.py`` (defaults: ``--sizes 1000 2000 --times 1000 --repeats 3``, about a
minute on 2 cores). Not a test.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import scipy.linalg
import threadpoolctl

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import theory as th  # noqa: E402
from theory import kernels  # noqa: E402


def best_of(repeats, functions: dict) -> dict:
    """Smallest (wall seconds, CPU seconds of this process) of each function over ``repeats`` rounds.

    The functions are run in turn within each round (interleaved), so that a change of load on a shared machine
    hits the floor and the closed form alike.
    """
    walls = {name: [] for name in functions}
    cpus = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            function()
            walls[name].append(time.perf_counter() - start)
            cpus[name].append(time.process_time() - start_cpu)
    return {name: np.array([min(walls[name]), min(cpus[name])]) for name in functions}


def load() -> str:
    """The 1-, 5- and 15-minute load averages and the number of CPUs, as ``uptime`` shows them."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} CPUs"


def gd_steps(times: int) -> np.ndarray:
    """``times`` distinct step counts, log-spaced from 1 to 10⁴ (then consecutive beyond)."""
    steps = np.unique(np.round(np.geomspace(1, 10_000, times)).astype(int))
    return np.concatenate([steps, np.arange(10_001, 10_001 + times - steps.size)])


def measure(n: int, times: int, repeats: int, loop: bool, loop_steps: int, loop_full_max: int) -> dict:
    """Floor, closed form and (optionally) the GD loop at one size; seconds as (wall, CPU) pairs."""
    columns, m = 10, n // 4
    rng = np.random.default_rng(0)
    x, x_test = rng.normal(size=(n, 40)), rng.normal(size=(m, 40))
    kernel = kernels.rbf(x, lengthscale=np.sqrt(40.0))
    kernel_test = kernels.rbf(x, x_test, lengthscale=np.sqrt(40.0))
    y = np.eye(columns)[rng.integers(0, columns, n)]
    steps = gd_steps(times)

    square, tall = rng.normal(size=(n, n)), rng.normal(size=(m, n))
    right = rng.normal(size=(n, times * columns))
    state = {}

    def spectrum():
        state["spectrum"] = th.Spectrum.from_kernel(kernel)

    def predict():
        spectrum = state["spectrum"]
        rate = 1.0 / spectrum.eigenvalues[0]
        out = th.make_predictor(spectrum, y, k_train_test=kernel_test)(th.gd(rate, steps))
        assert out.train.shape == (times, n, columns) and out.test.shape == (times, m, columns)

    def closed_form():
        spectrum()
        predict()

    spectrum()  # warm-up: LAPACK/BLAS workspaces and threads, outside the timings
    square @ right[:, :100]
    row = {"n": n, "m": m}
    row.update(best_of(repeats, {
        "eigh": lambda: scipy.linalg.eigh(kernel), "gemm train": lambda: square @ right,
        "gemm test": lambda: tall @ right, "closed": closed_form, "spectrum": spectrum, "predict": predict,
    }))
    row["gemm"] = row["gemm train"] + row["gemm test"]
    row["gflops"] = 2.0 * (n + m) * n * times * columns / row["gemm"][0] / 1e9
    del square, tall, right

    if loop:
        rate = 1.0 / scipy.linalg.eigvalsh(kernel, subset_by_index=[n - 1, n - 1])[0]
        run_steps = 10_000 if n <= loop_full_max else loop_steps

        def gd_loop():
            train, test = np.zeros((n, columns)), np.zeros((m, columns))
            for _ in range(run_steps):
                residual = train - y
                train, test = train - rate * (kernel @ residual), test - rate * (kernel_test.T @ residual)

        row["loop"] = best_of(1, {"loop": gd_loop})["loop"] * 10_000 / run_steps
        row["extrapolated"] = run_steps < 10_000
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000])
    parser.add_argument("--times", type=int, default=1000, help="points on the trajectory (T)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads (threadpoolctl); default: the library's own. On a shared machine "
                             "--threads 1 gives steadier ratios (no threads waiting on each other)")
    parser.add_argument("--loop", action="store_true", help="also time explicit GD for 10^4 steps")
    parser.add_argument("--loop-steps", type=int, default=1000, help="steps actually run when extrapolating")
    parser.add_argument("--loop-full-max", type=int, default=1000, help="largest n whose 10^4-step loop is run in full")
    args = parser.parse_args(argv)

    before = load()
    rows = []
    with threadpoolctl.threadpool_limits(limits=args.threads):
        threads = max((pool["num_threads"] for pool in threadpoolctl.threadpool_info()
                       if pool["user_api"] == "blas"), default="?")
        for n in args.sizes:
            rows.append(measure(n, args.times, args.repeats, args.loop, args.loop_steps, args.loop_full_max))
            print(f"n={n}: done", file=sys.stderr, flush=True)
    after = load()

    pair = lambda t: f"{t[0]:.2f}/{t[1]:.2f}"  # noqa: E731
    ratio = lambda a, b: f"{a[0] / b[0]:.2f} ({a[1] / b[1]:.2f})"  # noqa: E731
    print(f"\nclosed-form trajectory (gd at T = {args.times} times, train + test, C = 10, m = n/4) vs its floor "
          f"(one eigh + the two output GEMMs, measured in this run); best of {args.repeats}")
    print(f"load before: {before}; after: {after}; BLAS threads: {threads}")
    print("seconds as wall/CPU (all threads); ratios from wall and (CPU); goal: closed form / floor <= 1.2")
    print(f"{'n':>6} {'eigh':>11} {'GEMMs':>11} {'GFLOP/s':>8} {'floor':>11} {'spectrum':>11} {'predict':>11} "
          f"{'closed form':>12} {'/ floor':>13} {'/ eigh':>13}")
    for row in rows:
        floor = row["eigh"] + row["gemm"]
        print(f"{row['n']:>6} {pair(row['eigh']):>11} {pair(row['gemm']):>11} {row['gflops']:>8.1f} "
              f"{pair(floor):>11} {pair(row['spectrum']):>11} {pair(row['predict']):>11} "
              f"{pair(row['closed']):>12} {ratio(row['closed'], floor):>13} {ratio(row['closed'], row['eigh']):>13}")
    if args.loop:
        print(f"\nexplicit GD, 10^4 steps, vs the closed form")
        print(f"{'n':>6} {'GD loop 1e4':>16} {'speed-up':>16}")
        for row in rows:
            mark = "*" if row["extrapolated"] else " "
            print(f"{row['n']:>6} {pair(row['loop']) + mark:>16} {ratio(row['loop'], row['closed']):>16}")
        if any(row["extrapolated"] for row in rows):
            print(f"* extrapolated linearly from {args.loop_steps} steps")


if __name__ == "__main__":
    main()
