"""Regenerate the paper's figures: ``python paper_figs.py --fig eigen`` (``--list`` for all of them).

Each figure writes ``<out>/<name>.png``, ``<out>/<name>.pdf`` and ``<out>/<name>.json`` (every plotted number,
the configuration and the claims' verdicts), atomically, and prints its claims with the measured numbers.
Figure logic lives in ``figures/<name>.py``; this file only parses arguments and does the I/O.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fig", help="figure name, or 'all'")
    parser.add_argument("--list", action="store_true", help="list the figures with a one-line description")
    parser.add_argument("--quick", action="store_true", help="a small, fast configuration (smoke test)")
    parser.add_argument("--seed", type=int, default=None, help="seed for data splits, label noise and training")
    parser.add_argument("--data", default=None, help="dataset name (default: the figure's own, e.g. digits)")
    parser.add_argument("--data-dir", default=None, help="directory of an on-disk dataset (e.g. CIFAR pickles)")
    parser.add_argument("--out", default="results", help="output directory (default: results/)")
    parser.add_argument(
        "--report", action="store_true",
        help="(re)build report.md and report.html in --out from stored results, without recomputing anything",
    )
    return parser


def _config(module, args):
    """The figure's (quick) Config with the --seed / --data / --data-dir overrides.

    An override goes to the Config's own field of that name, or else to its ``setting`` (a network figure's
    :class:`theory.nets.experiment.Setting`); a figure that has neither refuses it.
    """
    config = module.Config.quick() if args.quick else module.Config()
    overrides, setting_overrides = {}, {}
    fields = {f.name for f in dataclasses.fields(config)}
    setting = getattr(config, "setting", None) if "setting" in fields else None
    setting_fields = {f.name for f in dataclasses.fields(setting)} if dataclasses.is_dataclass(setting) else set()
    for name, value in (("seed", args.seed), ("dataset", args.data), ("data_dir", args.data_dir)):
        if value is None:
            continue
        if name in fields:
            overrides[name] = value
        elif name in setting_fields:
            setting_overrides[name] = value
        else:
            raise SystemExit(f"figure {module.NAME!r} does not take --{name.replace('_', '-')}.")
    if setting_overrides:
        overrides["setting"] = dataclasses.replace(setting, **setting_overrides)
    return dataclasses.replace(config, **overrides)


def run_figure(name: str, args) -> list:
    """Compute, plot and save one figure; returns its claims as JSON rows (``Claim.to_dict()``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import figures
    from figures.output import save_figure, save_json

    module = figures.load(name)
    config = _config(module, args)
    start = time.perf_counter()
    data = module.compute(config)
    claims = [claim.to_dict() for claim in module.claims(data)]
    elapsed = time.perf_counter() - start
    out = Path(args.out)
    save_json(dict(figure=name, seconds=elapsed, claims=claims, data=data), out / f"{name}.json")
    figure = module.plot(data)
    for suffix in ("png", "pdf"):
        save_figure(figure, out / f"{name}.{suffix}")
    plt.close(figure)
    print(f"[{name}] computed in {elapsed:.1f} s -> {out / name}.{{png,pdf,json}}")
    for claim in claims:
        print(f"  {claim['claim']:<12} {claim['verdict']:<15} {claim['measured']}  ({claim['criterion']})")
    return claims


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    import figures

    if args.list:
        for name in figures.available():
            print(f"{name:<24} {figures.load(name).DESCRIPTION}")
        return 0
    if args.report and not args.fig:
        return _report(args)
    if not args.fig:
        _parser().print_usage()
        print("error: give --fig NAME (or --fig all), --list or --report", file=sys.stderr)
        return 2
    names = list(figures.available()) if args.fig == "all" else [args.fig]
    for name in names:
        if name not in figures.available():
            print(f"error: unknown figure {name!r}; known: {', '.join(figures.available())} or 'all'", file=sys.stderr)
            return 2
    for name in names:
        run_figure(name, args)
    if args.fig == "all" or args.report:
        return _report(args)
    return 0


def _report(args) -> int:
    import figures
    from figures import report

    names = list(figures.available())
    descriptions = {name: figures.load(name).DESCRIPTION for name in names}
    md_path, html_path = report.build(args.out, names, figures.kinds(names), descriptions)
    print(f"report -> {md_path}, {html_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
