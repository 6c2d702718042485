"""Where do the paper's claims hold for small networks? A sweep of teacher–student settings (claims C1, C2, C3, C5).

``python -m theory.nets.sweep --out results/sweep`` trains, for every :class:`Setting` of a grid and seed, a
one-hot teacher (seed 100·s), and with seed 100·s + 1 a distilled student, a one-hot *control* (the student's
seed and budget without a teacher), a late student (one-hot → KD at half its epochs) and an early student
(KD → one-hot at half its epochs). Runs go to the run store ``--runs DIR`` (default ``<out>/runs``; give a figure
and a sweep the same ``--runs`` to share runs) and are reused. It writes ``sweep.json`` (every number) and
``sweep.md`` (the table) into ``--out``.

Measured per setting (means over seeds):

* C1 — OLS slope of φ(p_student) on φ(p_teacher), teacher's top-1 class (:func:`theory.metrics.exaggeration`),
  train and test; and the same slope for the one-hot control against the teacher (two independently trained
  networks: the regression-dilution baseline, < 1 whenever the two disagree at random). Holds: test slope > 1.
* C2 — gain of KD over the control, and the fraction of it the late student recovers,
  (acc_late − acc_control) / (acc_KD − acc_control) (and the fraction the early student keeps). Holds: recovered
  ≥ ½; not judged (–) when the KD gain is below :data:`MIN_GAIN`.
* C3 — at equal progress on the top-10 eigendirections of an RBF input kernel on ``track_points`` training points,
  the bottom (20–100) progress of the one-hot control minus the student's (:func:`~theory.metrics
  .matched_deficit`). Holds: ≥ 80 % of matched points have a positive deficit.
* C5 — student test accuracy minus teacher test accuracy, beside the teacher's training accuracy (the confounder).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np

from .grids import GRIDS
from .outcome import MIN_GAIN, claims, configs_for, finite_mean, markdown, measure, verdicts
from .store import atomic_write

__all__ = ["GRIDS", "configs_for", "measure", "claims", "run_sweep", "build_parser", "runs_dir", "main",
           "MIN_GAIN", "markdown"]

_verdicts = verdicts  # the old private name (tests, notebooks)


def run_sweep(settings, seeds, run_dir, *, progress: bool = False, log=print) -> list[dict]:
    """Measures every setting for every seed; returns one row per setting (seed means and per-seed values)."""
    rows = []
    for setting in settings:
        tick = time.perf_counter()
        per_seed = [measure(setting, seed, run_dir, progress=progress) for seed in seeds]
        mean = {key: finite_mean([r[key] for r in per_seed]) for key in per_seed[0]}
        row = dict(setting=dataclasses.asdict(setting), name=setting.name, seeds=list(seeds), **mean)
        row["per_seed"] = per_seed  # before the verdicts: their intervals resample the seeds' replicates
        row.update(verdicts(row))
        rows.append(row)
        log(f"[{time.perf_counter() - tick:6.1f} s] {setting.name:<40} test slope {row['test_slope']:.3f} "
            f"(control {row['control_test_slope']:.3f}) train slope {row['train_slope']:.3f} "
            f"acc T/S/ctl {row['teacher_test_accuracy']:.3f}/{row['student_test_accuracy']:.3f}/"
            f"{row['control_test_accuracy']:.3f} late {row['late_test_accuracy']:.3f} "
            f"C3 {row['c3_frac_positive']:.2f}")
    return rows


def _write(out: Path, rows):
    def clean(value):
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        if isinstance(value, (float, np.floating)):
            return float(value) if np.isfinite(value) else None
        if isinstance(value, (np.integer, np.bool_)):
            return value.item()
        return value

    text = json.dumps(clean(rows), indent=1)
    atomic_write(out / "sweep.json", lambda t: Path(t).write_text(text))
    table = markdown(rows)
    atomic_write(out / "sweep.md", lambda t: Path(t).write_text(table))


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m theory.nets.sweep``."""
    parser = argparse.ArgumentParser(prog="python -m theory.nets.sweep", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="directory for sweep.json and sweep.md")
    parser.add_argument("--runs", default=None, metavar="DIR", help="the run store (default <out>/runs)")
    parser.add_argument("--run-dir", dest="run_dir", default=None, help=argparse.SUPPRESS)  # deprecated: --runs
    parser.add_argument("--grid", default="default", choices=sorted(GRIDS))
    parser.add_argument("--only", nargs="*", default=None, help="setting names (or substrings) to run")
    parser.add_argument("--seeds", type=int, default=1, help="number of seeds (0 .. seeds-1)")
    parser.add_argument("--progress", action="store_true", help="show a progress bar per run")
    return parser


def runs_dir(args) -> str:
    """The run store of parsed arguments: ``--runs``, else the deprecated ``--run-dir``, else ``<out>/runs``."""
    if args.runs is not None:
        return args.runs
    if args.run_dir is not None:
        warnings.warn("--run-dir is deprecated; use --runs DIR.", DeprecationWarning, stacklevel=2)
        return args.run_dir
    return os.path.join(args.out, "runs")


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    settings = GRIDS[args.grid]
    if args.only:
        settings = [s for s in settings if any(o in s.name for o in args.only)]
    out = Path(args.out)
    runs = runs_dir(args)
    rows = []
    for setting in settings:  # write after every setting, so a long sweep can be read while it runs
        rows += run_sweep([setting], range(args.seeds), runs, progress=args.progress)
        _write(out, rows)
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
