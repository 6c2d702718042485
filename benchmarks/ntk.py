"""Benchmark: empirical NTK of a finite MLP vs the closed-form infinite-width ``relu_ntk``.

Each measurement runs in its own subprocess so that its peak resident memory (``ru_maxrss``, which
also sees XLA's buffers; on CPU ``device.memory_stats()`` returns None and tracemalloc sees only Python
allocations) is its own. For every n: a baseline process (imports, data, network initialisation),
one for ``empirical_ntk`` and one for ``relu_ntk`` on the same inputs. The empirical NTK is timed after
a warm-up call on one block, so compilation is excluded (and reported separately).

    python benchmarks/ntk.py                      # n = 1000 and 4000, width 512, depth 2, d = 40, C = 10
    python benchmarks/ntk.py --sizes 500 1000 --batch-size 64

The empirical NTK costs about n² · C · P / 2 multiply-adds (P parameters) plus n²/(2 · batch_size²)
block Jacobians, so time grows as n² while memory stays at two blocks of Jacobians; relu_ntk costs
O(n² (d + depth)) in float64 numpy. On 2 shared CPU cores n = 1000 took ~110 s (n = 4000: ~30 min).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import time


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000], help="numbers of points n")
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--depth", type=int, default=2, help="hidden layers")
    parser.add_argument("--dim", type=int, default=40, help="input dimension d (MNIST-1D: 40)")
    parser.add_argument("--outputs", type=int, default=10, help="C, network outputs (MNIST-1D: 10 classes)")
    parser.add_argument("--batch-size", type=int, default=128, help="empirical_ntk batch_size")
    parser.add_argument("--full", action="store_true", help="full (n, n, C, C) kernel instead of traced")
    parser.add_argument("--child", choices=["baseline", "empirical", "relu_ntk"], help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def child(args) -> dict:
    """One measurement in this process; returns times (s) and peak RSS (MiB)."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from theory.kernels import empirical_ntk, ntk_mlp, relu_ntk
    from theory.kernels.empirical import block_size

    x = np.random.default_rng(0).normal(size=(args.n, args.dim))
    model = ntk_mlp(args.depth, args.width, weight_std=1.0, bias_std=0.1, output_dim=args.outputs)
    params = model.init(jax.random.key(0), jnp.zeros((1, args.dim)))
    num_params = sum(leaf.size for leaf in jax.tree_util.tree_leaves(params))
    record = {"num_params": int(num_params)}
    if args.child == "empirical":
        warm_up = x[: block_size(args.n, args.batch_size)]  # one block of the real call's shape
        start = time.perf_counter()
        empirical_ntk(model.apply, params, warm_up, trace_outputs=not args.full, batch_size=args.batch_size)
        record["compile_s"] = time.perf_counter() - start
        with timer(record):
            kernel = empirical_ntk(model.apply, params, x, trace_outputs=not args.full, batch_size=args.batch_size)
        record["shape"] = list(kernel.shape)
    elif args.child == "relu_ntk":
        with timer(record):
            kernel = relu_ntk(x, depth=args.depth, weight_std=1.0, bias_std=0.1)
        record["shape"] = list(kernel.shape)
    record["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return record


@contextlib.contextmanager
def timer(record: dict):
    """Store wall-clock ``seconds`` and process CPU time ``cpu_s`` (all threads) of the block in ``record``."""
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    record["seconds"], record["cpu_s"] = time.perf_counter() - wall, time.process_time() - cpu


def measure(args, kind: str, n: int) -> dict:
    command = [sys.executable, os.path.abspath(__file__), "--child", kind, "--n", str(n)]
    command += ["--width", str(args.width), "--depth", str(args.depth), "--dim", str(args.dim)]
    command += ["--outputs", str(args.outputs), "--batch-size", str(args.batch_size)]
    command += ["--full"] if args.full else []
    repo_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [repo_root, os.environ.get("PYTHONPATH")])))
    completed = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"{kind} n={n} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(child(args)))
        return
    mode = "full (n, n, C, C)" if args.full else "traced (n, n)"
    print(
        f"empirical NTK vs relu_ntk: width {args.width}, depth {args.depth}, d = {args.dim}, C = {args.outputs}, "
        f"{mode}, batch_size {args.batch_size}, float32 network; relu_ntk in float64 numpy"
    )
    header = (
        f"{'n':>6} {'params':>9} {'emp. s':>8} {'emp. cpu':>8} {'compile':>8} {'relu s':>7} {'relu cpu':>8} "
        f"{'ratio':>6} {'base MiB':>8} {'emp. MiB':>8} {'relu MiB':>8}"
    )
    print(header)
    print("-" * len(header))
    for n in args.sizes:
        baseline = measure(args, "baseline", n)
        empirical = measure(args, "empirical", n)
        closed = measure(args, "relu_ntk", n)
        print(
            f"{n:>6} {empirical['num_params']:>9} {empirical['seconds']:>8.1f} {empirical['cpu_s']:>8.1f} "
            f"{empirical['compile_s']:>8.1f} {closed['seconds']:>7.2f} {closed['cpu_s']:>8.2f} "
            f"{empirical['seconds'] / closed['seconds']:>6.0f} "
            f"{baseline['peak_rss_mib']:>8.0f} {empirical['peak_rss_mib']:>8.0f} {closed['peak_rss_mib']:>8.0f}",
            flush=True,
        )
    print(
        "s: wall-clock seconds; cpu: CPU seconds of all threads; compile: warm-up call on one block (excluded\n"
        "from emp. s); ratio: wall-clock empirical / relu_ntk; MiB: peak resident memory of a fresh process\n"
        "(base: imports, data and network initialisation only)."
    )


if __name__ == "__main__":
    main()
