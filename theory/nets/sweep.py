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

from ..evidence import Claim, Estimate, at_least, greater_than
from ..metrics import matched_deficit
from . import analysis, tracking
from .experiment import Setting, control_config, student_config, switched_config, teacher_config
from .store import atomic_write
from .training import data_for, train

__all__ = ["GRIDS", "configs_for", "measure", "claims", "run_sweep", "build_parser", "runs_dir", "main"]


def configs_for(setting: Setting, seed: int = 0) -> dict:
    """``{"teacher", "student", "control", "late", "early"}`` TrainConfigs of a setting and seed."""
    half = max(1, setting.student_epochs // 2)
    return dict(teacher=teacher_config(setting, seed), student=student_config(setting, seed),
                control=control_config(setting, seed), late=switched_config(setting, seed, half, "onehot_to_kd"),
                early=switched_config(setting, seed, half, "kd_to_onehot"))


def measure(setting: Setting, seed: int, run_dir, *, progress: bool = False) -> dict:
    """Trains (or reuses) the five runs of a setting and seed; returns the measured numbers."""
    configs = configs_for(setting, seed)
    runs = {role: train(config, run_dir, progress=progress) for role, config in configs.items()}
    teacher, student, control = runs["teacher"], runs["student"], runs["control"]
    result = analysis.pair_summary(teacher, student)
    for split in ("train", "test"):
        result[f"control_{split}_slope"] = analysis.exaggeration(teacher, control, split).slope
    for role in ("control", "late", "early"):
        result[f"{role}_test_accuracy"] = analysis.accuracy(runs[role], "test")
    data = data_for(configs["teacher"])
    index = tracking.tracked_points(data, setting.track_points)
    spectrum = tracking.input_spectrum(data, index, "rbf")
    groups = {"top": (0, 10), "bottom": (20, min(100, len(index)))}
    onehot = tracking.progress_curves(control, spectrum, index, groups)
    distilled = tracking.progress_curves(student, spectrum, index, groups)
    deficit = matched_deficit(onehot["top"][1:], onehot["bottom"][1:], distilled["top"][1:], distilled["bottom"][1:])
    result.update(c3_matched=int(deficit.size),
                  c3_frac_positive=float(np.mean(deficit > 0)) if deficit.size else float("nan"),
                  c3_median_deficit=float(np.median(deficit)) if deficit.size else float("nan"),
                  seconds=sum(r.summary()["seconds_total"] for r in runs.values()))
    return result


#: smallest KD gain (test accuracy over the control) that counts as a gain for C2 (a recovered fraction of a
#: smaller gain is seed noise: 800 MNIST-1D test points give a standard error of ~1.7 points per run).
MIN_GAIN = 0.01


def claims(row: dict) -> list:
    """The claims C1 (test and train), C2, C3 and C5 of one sweep row (seed means), as :class:`Claim` values.

    C2 is not run without a KD gain of at least :data:`MIN_GAIN`, C3 not without matched points.
    """
    gain = row["student_test_accuracy"] - row["control_test_accuracy"]
    significant = gain >= MIN_GAIN
    recovered = (row["late_test_accuracy"] - row["control_test_accuracy"]) / gain if significant else float("nan")
    setting = row.get("name", "setting")
    return [
        Claim(claim="C1 test", setting=setting, statement="test slope of φ(p_student) on φ(p_teacher) > 1",
              evidence=Estimate(row["test_slope"]), criterion=greater_than(1.0)),
        Claim(claim="C1 train", setting=setting, statement="train slope of φ(p_student) on φ(p_teacher) > 1",
              evidence=Estimate(row["train_slope"]), criterion=greater_than(1.0)),
        Claim(claim="C2", setting=setting, statement="the late student recovers at least half of the KD gain",
              evidence=Estimate(recovered), criterion=at_least(0.5)),
        Claim(claim="C3", setting=setting, statement="≥ 80 % of matched points have a positive bottom deficit",
              evidence=Estimate(row["c3_frac_positive"]), criterion=at_least(0.8)),
        Claim(claim="C5", setting=setting, statement="the student's test accuracy exceeds the teacher's",
              evidence=Estimate(row["student_test_accuracy"] - row["teacher_test_accuracy"]),
              criterion=greater_than(0.0)),
    ]


def _verdicts(row: dict) -> dict:
    """The table's numbers and marks: True (reproduced), False (not reproduced), None (not run, inconclusive)."""
    gain = row["student_test_accuracy"] - row["control_test_accuracy"]
    significant = gain >= MIN_GAIN
    recovered = (row["late_test_accuracy"] - row["control_test_accuracy"]) / gain if significant else float("nan")
    kept = (row["early_test_accuracy"] - row["control_test_accuracy"]) / gain if significant else float("nan")
    mark = {"reproduced": True, "not reproduced": False}
    verdicts = {claim.claim: mark.get(claim.verdict) for claim in claims(row)}
    return dict(kd_gain=gain, late_recovered=recovered, early_kept=kept, c1_test=verdicts["C1 test"],
                c1_train=verdicts["C1 train"], c2=verdicts["C2"], c3=verdicts["C3"], c5=verdicts["C5"])


# --------------------------------------------------------------------------------------------------- grids
_BASE = Setting("base")


def _vary(**changes):
    name = ", ".join(f"{k}={v}" for k, v in changes.items())
    return dataclasses.replace(_BASE, name=name, **changes)


GRIDS = {
    "quick": [Setting("quick", dataset="digits", width=64, teacher_epochs=8, student_epochs=8, track_points=300)],
    "default": [
        _BASE,
        _vary(teacher_epochs=15), _vary(teacher_epochs=200),
        _vary(student_epochs=15), _vary(student_epochs=200),
        _vary(temperature=2.0), _vary(temperature=4.0), _vary(teacher_weight=0.5),
        _vary(label_noise=0.2), _vary(label_noise=0.3),
        _vary(weight_decay=5e-4), _vary(weight_decay=5e-3),
        _vary(n_train=1000), _vary(data_options=(("num_samples", 10000),)),
        _vary(model="cnn1d"), _vary(model="cnn1d", label_noise=0.2), _vary(model="cnn1d", teacher_epochs=200),
        _vary(loss="mse", learning_rate=0.01),
        _vary(dataset="digits"), _vary(dataset="digits", label_noise=0.3),
        _vary(dataset="digits", teacher_epochs=15), _vary(dataset="digits", model="cnn2d"),
    ],
    # the factors that mattered in "default" (temperature, label noise, architecture), crossed, for 3 seeds
    "focus": [
        _vary(**data, label_noise=noise, temperature=temperature)
        for data in (dict(dataset="mnist1d", model="mlp"), dict(dataset="mnist1d", model="cnn1d"),
                     dict(dataset="digits", model="mlp"))
        for noise in (0.0, 0.2)
        for temperature in (1.0, 2.0, 4.0)
    ],
    # follow-ups of "focus": longer students, a hotter temperature, an under-trained teacher
    "extra": [
        _vary(temperature=4.0, student_epochs=200), _vary(temperature=8.0),
        _vary(model="cnn1d", temperature=2.0, student_epochs=200),
        _vary(model="cnn1d", label_noise=0.2, temperature=2.0, student_epochs=200),
        _vary(model="cnn1d", temperature=2.0, teacher_epochs=15),
        _vary(model="cnn1d", temperature=4.0, learning_rate=0.02),
    ],
}


def _finite_mean(values) -> float:
    """Mean of the finite values (a seed without matched C3 points gives NaN there); NaN if none is finite."""
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def run_sweep(settings, seeds, run_dir, *, progress: bool = False, log=print) -> list[dict]:
    """Measures every setting for every seed; returns one row per setting (seed means and per-seed values)."""
    rows = []
    for setting in settings:
        tick = time.perf_counter()
        per_seed = [measure(setting, seed, run_dir, progress=progress) for seed in seeds]
        mean = {key: _finite_mean([r[key] for r in per_seed]) for key in per_seed[0]}
        row = dict(setting=dataclasses.asdict(setting), name=setting.name, seeds=list(seeds), **mean)
        row.update(_verdicts(row))
        row["per_seed"] = per_seed
        rows.append(row)
        log(f"[{time.perf_counter() - tick:6.1f} s] {setting.name:<40} test slope {row['test_slope']:.3f} "
            f"(control {row['control_test_slope']:.3f}) train slope {row['train_slope']:.3f} "
            f"acc T/S/ctl {row['teacher_test_accuracy']:.3f}/{row['student_test_accuracy']:.3f}/"
            f"{row['control_test_accuracy']:.3f} late {row['late_test_accuracy']:.3f} "
            f"C3 {row['c3_frac_positive']:.2f}")
    return rows


def markdown(rows) -> str:
    """The sweep table in markdown."""
    head = ("| setting | T train acc | acc T / S / ctl | C1 slope test (ctl) | C1 slope train (ctl) | "
            "KD gain | late / early acc | late recovered / early kept | C3 frac>0 (median) | C1 | C2 | C3 | C5 |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    mark = {True: "yes", False: "no", None: "–"}
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['teacher_train_accuracy']:.3f} | {r['teacher_test_accuracy']:.3f} / "
            f"{r['student_test_accuracy']:.3f} / {r['control_test_accuracy']:.3f} | {r['test_slope']:.3f} "
            f"({r['control_test_slope']:.3f}) | {r['train_slope']:.3f} ({r['control_train_slope']:.3f}) | "
            f"{r['kd_gain']:+.3f} | {r['late_test_accuracy']:.3f} / {r['early_test_accuracy']:.3f} | "
            f"{r['late_recovered']:.2f} / {r['early_kept']:.2f} | {r['c3_frac_positive']:.2f} "
            f"({r['c3_median_deficit']:+.3f}) | "
            f"{mark[r['c1_test']]} | {mark[r['c2']]} | {mark[r['c3']]} | {mark[r['c5']]} |")
    return "\n".join(lines) + "\n"


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
