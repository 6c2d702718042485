"""Benchmark: the empirical NTK by structured per-layer products vs Jacobian contraction, NTK-vector products.

For each model and n, side by side in one run (each measurement in its own subprocess, so that its peak
resident memory ``ru_maxrss`` -- which also sees XLA's buffers -- is its own; compilation is excluded by a
warm-up call on one block of the real call's shape and reported separately):

* ``structured`` -- ``empirical_ntk(..., method="structured")``, traced (n, n) kernel (or the reason it does
  not apply: convolutions fall back to the Jacobian path under ``method="auto"``);
* ``jacobian`` -- ``empirical_ntk(..., method="jacobian")``, measured at n <= --jacobian-max and extrapolated
  as n² from the largest measured n beyond (marked ``*``);
* ``nvp`` -- one product v ↦ J Jᵀ v of ``ntk_vector_product`` on (n·C) vectors (full) and on n vectors
  (traced: C vjp/jvp pairs), seconds per vector, averaged over --nvp-vectors vectors in one ``matmat``;
* ``relu_ntk`` -- the closed-form infinite-width kernel (MLP only), float64 numpy.

    python benchmarks/ntk.py                                  # MLP 512 x 2 at n = 1000, CNN-1D/2D at n = 250
    python benchmarks/ntk.py --models mlp --sizes 1000 10000 20000
    python benchmarks/ntk.py --models cnn1d cnn2d --sizes 250 --jacobian-max 250
    python benchmarks/ntk.py --models mlp --sizes 20000 --skip jacobian nvp relu_ntk --topk 256   # the 20k goal

Networks (float32, C = 10): ``mlp`` is ``ntk_mlp(depth=2, width=512)`` on d = 40 (MNIST-1D size);
``cnn1d`` is the toolkit's CNN1D (32 channels x 3) on (40, 1) sequences; ``cnn2d`` its CNN2D (32, 64
channels) on 8 x 8 x 1 images (inputs standard normal). The structured kernel costs per block pair
b1 · b2 · Σ_l (fan_in_l + C · m_l) multiply-adds (width 512: ~11,000 per point pair, against C · P ~ 3·10⁶
for the Jacobian contraction). On 2 shared cores (load 3.5-5.5), n = 1000: structured 0.2-0.7 s against
~115 s for the Jacobian path (n² from n = 250 / 500, where it was measured: 7 s / 31 s): 170-600x.
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

SHAPES = {"mlp": (40,), "cnn1d": (40, 1), "cnn2d": (8, 8, 1)}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=sorted(SHAPES), default=["mlp", "cnn1d", "cnn2d"])
    parser.add_argument("--sizes", type=int, nargs="+", default=None,
                        help="numbers of points n (default: 1000 for mlp, 250 for the CNNs)")
    parser.add_argument("--jacobian-max", type=int, default=250, help="largest n at which the Jacobian path runs")
    parser.add_argument("--nvp-vectors", type=int, default=8, help="vectors per NTK-vector product timing")
    parser.add_argument("--width", type=int, default=512, help="MLP width")
    parser.add_argument("--depth", type=int, default=2, help="MLP hidden layers")
    parser.add_argument("--outputs", type=int, default=10, help="C, network outputs (MNIST-1D: 10 classes)")
    parser.add_argument("--batch-size", type=int, default=None, help="empirical_ntk batch_size (None: its default)")
    parser.add_argument("--topk", type=int, default=None,
                        help="also: materialise the traced kernel (method='auto') and its top-k spectrum (MLP rows)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["jacobian", "nvp", "relu_ntk"],
                        help="measurements to leave out (e.g. at n = 20,000, where nvp and relu_ntk add minutes)")
    parser.add_argument("--child", choices=["structured", "jacobian", "nvp", "relu_ntk", "topk"],
                        help=argparse.SUPPRESS)
    parser.add_argument("--model", default="mlp", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def build(args):
    """(apply_fn on flat inputs, params, x (n, d)) for ``args.model``."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from theory.kernels import ntk_mlp
    from theory.nets.models import make_model

    shape = SHAPES[args.model]
    x = np.random.default_rng(0).normal(size=(args.n, int(np.prod(shape))))
    if args.model == "mlp":
        model = ntk_mlp(args.depth, args.width, weight_std=1.0, bias_std=0.1, output_dim=args.outputs)
        return model.apply, model.init(jax.random.key(0), jnp.zeros((1, shape[0]))), x
    model = make_model(args.model, shape, args.outputs)
    params = model.init(jax.random.key(0), jnp.zeros((1, *shape)))

    def apply_fn(p, flat):
        return model.apply(p, flat.reshape((flat.shape[0], *shape)))

    return apply_fn, params, x


def child(args) -> dict:
    """One measurement in this process; returns times (s) and peak RSS (MiB)."""
    import jax
    import numpy as np

    from theory.kernels import empirical_ntk, ntk_vector_product, relu_ntk
    from theory.kernels.empirical import block_size

    apply_fn, params, x = build(args)
    record = {"num_params": int(sum(leaf.size for leaf in jax.tree_util.tree_leaves(params)))}
    if args.child in ("structured", "jacobian"):
        options = {"method": args.child, "batch_size": args.batch_size}
        warm_up = x[: block_size(args.n, args.batch_size or (1024 if args.child == "structured" else 256))]
        start = time.perf_counter()
        try:
            empirical_ntk(apply_fn, params, warm_up, **options)
        except ValueError as error:
            return dict(record, reason=str(error).split(": ", 1)[-1])
        record["compile_s"] = time.perf_counter() - start
        with timer(record):
            empirical_ntk(apply_fn, params, x, **options)
    elif args.child == "nvp":
        rng = np.random.default_rng(1)
        for trace in (False, True):
            operator = ntk_vector_product(apply_fn, params, x, trace_outputs=trace)
            vectors = rng.normal(size=(operator.shape[0], args.nvp_vectors))
            operator.matmat(vectors)  # compile for this number of columns
            with timer(part := {}):
                operator.matmat(vectors)
            record["traced_s" if trace else "full_s"] = part["seconds"] / args.nvp_vectors
    elif args.child == "topk":
        from theory import Spectrum

        empirical_ntk(apply_fn, params, x[: block_size(args.n, 1024)])  # compile
        with timer(part := {}):
            kernel = np.asarray(empirical_ntk(apply_fn, params, x), dtype=np.float64)
        record["kernel_s"] = part["seconds"]
        with timer(part := {}):
            spectrum = Spectrum.from_operator(kernel, args.topk, tol=1e-6)
        record["topk_s"] = part["seconds"]
        record["max_residual"] = float(spectrum.residuals.max() / spectrum.eigenvalues[0])
    elif args.child == "relu_ntk":
        with timer(record):
            relu_ntk(x, depth=args.depth, weight_std=1.0, bias_std=0.1)
    record["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return record


@contextlib.contextmanager
def timer(record: dict):
    """Store wall-clock ``seconds`` and process CPU time ``cpu_s`` (all threads) of the block in ``record``."""
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    record["seconds"], record["cpu_s"] = time.perf_counter() - wall, time.process_time() - cpu


def measure(args, kind: str, model: str, n: int) -> dict:
    command = [sys.executable, os.path.abspath(__file__), "--child", kind, "--model", model, "--n", str(n)]
    command += ["--width", str(args.width), "--depth", str(args.depth), "--outputs", str(args.outputs)]
    command += ["--nvp-vectors", str(args.nvp_vectors)] + ([] if args.topk is None else ["--topk", str(args.topk)])
    command += [] if args.batch_size is None else ["--batch-size", str(args.batch_size)]
    repo_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [repo_root, os.environ.get("PYTHONPATH")])))
    completed = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"{kind} {model} n={n} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(child(args)))
        return
    print(f"empirical NTK, traced (n, n), C = {args.outputs}, float32 networks; load: {os.getloadavg()[0]:.2f} "
          f"(1-min average) on {os.cpu_count()} cores")
    header = (f"{'model':>6} {'n':>6} {'params':>8} {'struct s':>9} {'jacob s':>9} {'ratio':>7} {'compile':>8} "
              f"{'nvp s/v':>8} {'nvp tr s/v':>10} {'relu s':>7} {'str MiB':>8} {'jac MiB':>8} {'jac n':>6}")
    print(header)
    print("-" * len(header))
    reasons, topk_rows = {}, []
    for model in args.models:
        sizes = args.sizes or ([1000] if model == "mlp" else [250])
        measured = None  # (n, seconds) of the largest Jacobian run, for the n² extrapolation
        for n in sorted(sizes):
            structured = measure(args, "structured", model, n)
            jacobian_n = min(n, args.jacobian_max)
            if "jacobian" not in args.skip and (measured is None or measured[0] < jacobian_n):
                run = measure(args, "jacobian", model, jacobian_n)
                measured = (jacobian_n, run["seconds"], run["peak_rss_mib"])
            nan = float("nan")
            jacobian_s = measured[1] * (n / measured[0]) ** 2 if measured else nan
            mark = "*" if measured and measured[0] != n else " "
            nvp = measure(args, "nvp", model, n) if "nvp" not in args.skip else {"full_s": nan, "traced_s": nan}
            relu = (measure(args, "relu_ntk", model, n)["seconds"] if model == "mlp" and "relu_ntk" not in args.skip
                    else nan)
            if "reason" in structured:
                reasons[model] = structured["reason"]
                struct_s, ratio, compile_s, struct_mib = "fallback", "-", "-", "-"
            else:
                struct_s = f"{structured['seconds']:.2f}"
                ratio = f"{jacobian_s / structured['seconds']:.0f}" if measured else "-"
                compile_s, struct_mib = f"{structured['compile_s']:.1f}", f"{structured['peak_rss_mib']:.0f}"
            jac_mib = f"{measured[2]:.0f}" if measured else "-"
            print(f"{model:>6} {n:>6} {structured['num_params']:>8} {struct_s:>9} {jacobian_s:>8.2f}{mark} "
                  f"{ratio:>7} {compile_s:>8} {nvp['full_s']:>8.3f} {nvp['traced_s']:>10.3f} {relu:>7.2f} "
                  f"{struct_mib:>8} {jac_mib:>8} {measured[0] if measured else '-':>6}", flush=True)
            if args.topk is not None and model == "mlp":
                top = measure(args, "topk", model, n)
                topk_rows.append(f"{model:>6} {n:>6} top-{args.topk}: kernel {top['kernel_s']:.1f} s + top-k "
                                 f"{top['topk_s']:.1f} s = {top['kernel_s'] + top['topk_s']:.1f} s, peak "
                                 f"{top['peak_rss_mib']:.0f} MiB, max residual {top['max_residual']:.1e}·λ_max")
    print(
        "s: wall-clock seconds (compile excluded; compile: the structured warm-up call); *: Jacobian time\n"
        "extrapolated as n² from the run at 'jac n' (--jacobian-max; its MiB is that run's); ratio: jacobian / structured;\n"
        "nvp s/v: seconds per NTK-vector product (full (n·C) operator: one vjp + one jvp; tr: traced (n, n)\n"
        "operator, C pairs); MiB: peak resident memory of the measuring process."
    )
    for row in topk_rows:
        print(row)
    for model, reason in reasons.items():
        print(f"{model}: structured path not applicable -> method='auto' uses the Jacobian path, because {reason}")
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
