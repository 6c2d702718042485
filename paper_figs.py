"""Regenerate the paper's figures: ``python paper_figs.py --fig eigen`` (``--list`` for all of them).

Each figure writes ``<out>/<name>.png``, ``<out>/<name>.pdf`` and ``<out>/<name>.json`` (every plotted number,
the configuration, the claims' verdicts and the SHA-256 of the PNG and PDF that belong to it), replaced as one
set (``figures.output.save_figure_set``), and prints its claims with the measured numbers. The network
figures store their trained runs in ``--runs DIR`` (default ``<out>/runs``), shared with the sweep given the
same directory.

Everything that can be checked is checked before computing: the figure names, every override against every
selected figure, the dataset name, ``--data-dir`` (an existing directory; a ``.npz`` file for ``--data npz``),
``--out`` and ``--runs`` (created now, and writable), ``--sweep`` (a sweep's ``--out`` directory, for the
figures that read a stored sweep: ``regimes-nn``). A user error prints one line ``error: ...`` on stderr
and exits with status 2. Figure logic lives in ``figures/<name>.py``; this file only parses arguments and
does the I/O.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path


class UsageError(SystemExit):
    """A user error on the command line: :func:`main` prints ``error: <message>`` (one line) and returns 2."""

    def __init__(self, message: str):
        super().__init__(message)
        self.code = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse would print the usage and exit; one line instead
        raise UsageError(f"{message} (see --help)")


def _positive_int(text: str) -> int:
    """``--n-train``: a positive integer (argparse reports the ValueError as a one-line usage error)."""
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


_positive_int.__name__ = "positive integer"  # argparse's message: "invalid positive integer value: '0'"


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fig", help="figure name, or 'all'")
    parser.add_argument("--list", action="store_true", help="list the figures with a one-line description")
    parser.add_argument("--quick", action="store_true", help="a small, fast configuration (smoke test)")
    parser.add_argument("--seed", type=int, default=None, help="seed for data splits, label noise and training")
    parser.add_argument("--data", default=None, help="dataset name (default: the figure's own, e.g. digits)")
    parser.add_argument("--n-train", type=_positive_int, default=None, metavar="N",
                        help="training points (eigen, ntk and bias-nn take the scale route above their switch "
                             "point, 8,000 by default: top-k spectra from a kernel operator; docs/scale.md)")
    parser.add_argument("--data-dir", default=None,
                        help="directory of an on-disk dataset (e.g. CIFAR pickles; the .npz file for --data npz)")
    parser.add_argument("--out", default="results", help="output directory (default: results/)")
    parser.add_argument("--runs", default=None,
                        help="run store of the network figures (default: <out>/runs; give the sweep the same)")
    parser.add_argument("--sweep", default=None,
                        help="directory of a stored sweep (figures that read one, e.g. regimes-nn)")
    parser.add_argument(
        "--report", action="store_true",
        help="(re)build report.md and report.html in --out from stored results, without recomputing anything",
    )
    return parser


def _runs(args):
    """The run store the arguments choose: ``--runs``, else ``<out>/runs`` (None without either)."""
    runs = getattr(args, "runs", None)
    if runs is None and getattr(args, "out", None) is not None:
        runs = str(Path(args.out) / "runs")
    return runs


def _config(module, args):
    """The figure's (quick) Config with the --seed / --data / --data-dir / --n-train overrides and its run store.

    An override goes to the Config's own field of that name, or else to its ``setting`` (a network figure's
    :class:`theory.nets.experiment.Setting`); a figure that has neither refuses it (:class:`UsageError`). A
    Config with a ``run_dir`` field (the network figures) gets :func:`_runs`.
    """
    config = module.Config.quick() if args.quick else module.Config()
    overrides, setting_overrides = {}, {}
    fields = {f.name for f in dataclasses.fields(config)}
    setting = getattr(config, "setting", None) if "setting" in fields else None
    setting_fields = {f.name for f in dataclasses.fields(setting)} if dataclasses.is_dataclass(setting) else set()
    if getattr(args, "n_train", None) is not None and "scale_above" not in fields:
        import figures

        sized = [name for name in figures.available() if _takes_size(figures.load(name))]
        raise UsageError(f"figure {module.NAME!r} does not take --n-train (the figures with a scale route do: "
                         f"{', '.join(sized)}).")
    for name, value in (("seed", args.seed), ("dataset", args.data), ("data_dir", args.data_dir),
                        ("n_train", getattr(args, "n_train", None)), ("sweep", getattr(args, "sweep", None))):
        if value is None:
            continue
        if name in fields:
            overrides[name] = value
        elif name in setting_fields:
            setting_overrides[name] = value
        else:
            option = {"dataset": "data"}.get(name, name).replace("_", "-")
            raise UsageError(f"figure {module.NAME!r} does not take --{option}.")
    if setting_overrides:
        overrides["setting"] = dataclasses.replace(setting, **setting_overrides)
    if "run_dir" in fields and _runs(args) is not None:
        overrides["run_dir"] = _runs(args)
    return dataclasses.replace(config, **overrides)


def _takes_size(module) -> bool:
    """Whether a figure takes ``--n-train``: its Config has a scale route (a ``scale_above`` switch point)."""
    return "scale_above" in {field.name for field in dataclasses.fields(module.Config)}


def _stores_runs(module) -> bool:
    """Whether a figure trains networks into a run store (its Config has a ``run_dir`` field)."""
    return "run_dir" in {field.name for field in dataclasses.fields(module.Config)}


def _dataset_of(config):
    """The dataset name a figure's config will load (its own field, or its setting's)."""
    return getattr(config, "dataset", None) or getattr(getattr(config, "setting", None), "dataset", None)


def _check_data(args, configs: dict) -> None:
    """``--data`` names a known dataset; ``--data-dir`` exists (a file for ``npz``, else a directory)."""
    if args.data is not None:
        from theory.data import DATASETS

        if args.data not in DATASETS:
            raise UsageError(f"--data {args.data!r} is not a known dataset; known: {', '.join(DATASETS)}.")
    if args.data_dir is None:
        return
    path = Path(args.data_dir).expanduser()
    if not path.exists():
        raise UsageError(f"--data-dir {args.data_dir!r} does not exist.")
    if any(_dataset_of(config) == "npz" for config in configs.values()):
        if not path.is_file():
            raise UsageError(f"--data-dir {args.data_dir!r} is not a file (dataset 'npz' reads one .npz file).")
    elif not path.is_dir():
        raise UsageError(f"--data-dir {args.data_dir!r} is not a directory.")


def _check_sweep(args) -> None:
    """``--sweep`` is a directory where it exists (a figure reading a missing one reports it "not run")."""
    sweep = getattr(args, "sweep", None)
    if sweep is not None and Path(sweep).expanduser().exists() and not Path(sweep).expanduser().is_dir():
        raise UsageError(f"--sweep {sweep!r} is not a directory (give the --out directory of a sweep).")


def _writable_directory(path, option: str) -> Path:
    """Create directory ``path`` (and its parents) now and check that a file can be written there."""
    path = Path(path).expanduser()
    for existing in (path, *path.parents):
        if existing.exists():
            if not existing.is_dir():
                raise UsageError(f"{option} {str(path)!r}: {str(existing)!r} exists and is not a directory.")
            break
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        raise UsageError(f"{option} {str(path)!r} is not writable ({error.strerror or error}).") from None
    return path


def run_figure(name: str, args, config=None) -> list:
    """Compute, plot and save one figure; returns its claims as JSON rows (``Claim.to_dict()``).

    ``config``: the figure's Config (default: :func:`_config` of ``args``). The PNG, PDF and JSON are written
    together after plotting, so a failure anywhere leaves the previous three files as they were.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import figures
    from figures.output import save_figure_set

    module = figures.load(name)
    config = _config(module, args) if config is None else config
    start = time.perf_counter()
    data = module.compute(config)
    claims = [claim.to_dict() for claim in module.claims(data)]
    elapsed = time.perf_counter() - start
    out = Path(args.out)
    figure = module.plot(data)
    try:
        save_figure_set(out, name, dict(figure=name, seconds=elapsed, claims=claims, data=data), figure)
    finally:
        plt.close(figure)
    print(f"[{name}] computed in {elapsed:.1f} s -> {out / name}.{{png,pdf,json}}")
    for claim in claims:
        print(f"  {claim['claim']:<12} {claim['verdict']:<15} {claim['measured']}  ({claim['criterion']})")
    return claims


def main(argv=None) -> int:
    """The command line; returns the exit status (2 after a user error, printed as one line)."""
    try:
        return _main(argv)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _main(argv) -> int:
    args = _parser().parse_args(argv)
    import figures

    if args.list:
        for name in figures.available():
            print(f"{name:<24} {figures.load(name).DESCRIPTION}")
        return 0
    if args.report and not args.fig:
        return _report(args)
    if not args.fig:
        raise UsageError("give --fig NAME (or --fig all), --list or --report (see --help).")
    names = list(figures.available()) if args.fig == "all" else [args.fig]
    for name in names:
        if name not in figures.available():
            raise UsageError(f"unknown figure {name!r}; known: {', '.join(figures.available())} or 'all'.")
    configs = {name: _config(figures.load(name), args) for name in names}
    _check_data(args, configs)
    _check_sweep(args)
    stores = [name for name in names if _stores_runs(figures.load(name))]
    if args.runs is not None and not stores:
        users = [name for name in figures.available() if _stores_runs(figures.load(name))]
        raise UsageError(f"--runs: figure {args.fig!r} stores no network runs (those that do: {', '.join(users)}).")
    _writable_directory(args.out, "--out")
    if stores:
        _writable_directory(_runs(args), "--runs")
    for name in names:
        run_figure(name, args, configs[name])
    if args.fig == "all" or args.report:
        return _report(args)
    return 0


def _report(args) -> int:
    import figures
    from figures import report

    names = list(figures.available())
    descriptions = {name: figures.load(name).DESCRIPTION for name in names}
    try:
        md_path, html_path = report.build(args.out, names, figures.kinds(names), descriptions, runs=_runs(args))
    except report.ResultsError as error:
        raise UsageError(str(error)) from None
    except OSError as error:
        raise UsageError(f"--out {args.out!r}: cannot write the report ({error}).") from None
    print(f"report -> {md_path}, {html_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
