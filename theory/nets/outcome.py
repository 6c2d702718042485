"""What one setting of a sweep measures and what it says about the claims C1, C2, C3 and C5.

For a :class:`~theory.nets.experiment.Setting` and a seed, :func:`configs_for` gives the five runs (teacher,
student, control, late, early); :func:`measure` trains or reuses them and returns the measured numbers;
:func:`claims` turns a row of seed means into :class:`~theory.evidence.Claim` values; :func:`markdown` is the
sweep table. The orchestration (which settings, where they run) is :mod:`theory.nets.sweep`.
"""
from __future__ import annotations

import numpy as np

from ..evidence import Claim, Estimate, at_least, greater_than
from ..metrics import matched_deficit
from . import analysis, tracking
from .experiment import Setting, control_config, student_config, switched_config, teacher_config
from .training import data_for, train

__all__ = ["configs_for", "measure", "MIN_GAIN", "claims", "verdicts", "finite_mean", "markdown"]


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


def verdicts(row: dict) -> dict:
    """The table's numbers and marks: True (reproduced), False (not reproduced), None (not run, inconclusive)."""
    gain = row["student_test_accuracy"] - row["control_test_accuracy"]
    significant = gain >= MIN_GAIN
    recovered = (row["late_test_accuracy"] - row["control_test_accuracy"]) / gain if significant else float("nan")
    kept = (row["early_test_accuracy"] - row["control_test_accuracy"]) / gain if significant else float("nan")
    mark = {"reproduced": True, "not reproduced": False}
    verdicts = {claim.claim: mark.get(claim.verdict) for claim in claims(row)}
    return dict(kd_gain=gain, late_recovered=recovered, early_kept=kept, c1_test=verdicts["C1 test"],
                c1_train=verdicts["C1 train"], c2=verdicts["C2"], c3=verdicts["C3"], c5=verdicts["C5"])


def finite_mean(values) -> float:
    """Mean of the finite values (a seed without matched C3 points gives NaN there); NaN if none is finite."""
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


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
