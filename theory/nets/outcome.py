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
from ..metrics.bootstrap import MIN_SEEDS, combine_seeds, fieller_interval
from . import analysis, tracking
from .experiment import Setting, control_config, student_config, switched_config, teacher_config
from .training import data_for, train

__all__ = ["configs_for", "measure", "MIN_GAIN", "BOOTSTRAP_NAMES", "intervals", "claims", "verdicts",
           "finite_mean", "markdown"]


def configs_for(setting: Setting, seed: int = 0) -> dict:
    """``{"teacher", "student", "control", "late", "early"}`` TrainConfigs of a setting and seed."""
    half = max(1, setting.student_epochs // 2)
    return dict(teacher=teacher_config(setting, seed), student=student_config(setting, seed),
                control=control_config(setting, seed), late=switched_config(setting, seed, half, "onehot_to_kd"),
                early=switched_config(setting, seed, half, "kd_to_onehot"))


def measure(setting: Setting, seed: int, run_dir, *, progress: bool = False) -> dict:
    """Trains (or reuses) the five runs of a setting and seed; returns the measured numbers.

    Besides the numbers (accuracies, slopes, fidelity, C3), the regime variables of the pair on train and test
    (:func:`theory.nets.analysis.regime`) and, under ``"bootstrap"``, this seed's point-bootstrap replicates
    (:func:`theory.nets.analysis.replicates`) from which :func:`claims` builds the intervals over seeds.
    """
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
    for split in ("train", "test"):
        result.update(analysis.regime(teacher, student, split))
    result["bootstrap"] = analysis.replicates(runs, seed=seed)
    return result


#: smallest KD gain (test accuracy over the control) that counts as a gain for C2 in a row without bootstrap
#: replicates (an older sweep.json); with them, C2 is not judged unless the gain's interval lies above 0.
MIN_GAIN = 0.01

#: the statistics whose replicates are resampled together (paired: the same points and seeds for all).
BOOTSTRAP_NAMES = ("test_slope", "train_slope", "control_test_slope", "control_train_slope", "teacher_test_accuracy",
                   "student_test_accuracy", "control_test_accuracy", "late_test_accuracy", "early_test_accuracy")


def intervals(row: dict) -> dict | None:
    """The 95 % bootstrap intervals of a sweep row, from its per-seed replicates (docs/uncertainty.md).

    Returns ``{"note", "seeds", "test_slope", "train_slope", "control_test_slope", "slope_over_control",
    "kd_gain", "late_recovered", "c5_gap", "c3_frac_positive"}``, :class:`~theory.evidence.Estimate` values:
    hierarchical over seeds from :data:`theory.metrics.bootstrap.MIN_SEEDS` seeds, over points below; C3 over
    seeds only, from MIN_SEEDS seeds, a point value below (its matched points are epochs of one trajectory, not
    samples); ``late_recovered`` is Fieller's interval, NaN (not judged) unless the KD gain's interval lies above
    0. None for a row without replicates.
    """
    stored = [entry.get("bootstrap") for entry in row.get("per_seed", ()) if isinstance(entry, dict)]
    main = analysis.seed_bootstrap(stored, BOOTSTRAP_NAMES, seed=0)
    if main is None:
        return None
    boot, column = main
    late = boot.value[column["late_test_accuracy"]] - boot.value[column["control_test_accuracy"]]
    gain = boot.value[column["student_test_accuracy"]] - boot.value[column["control_test_accuracy"]]
    reps = boot.replicates
    late_reps = reps[:, column["late_test_accuracy"]] - reps[:, column["control_test_accuracy"]]
    gain_reps = reps[:, column["student_test_accuracy"]] - reps[:, column["control_test_accuracy"]]
    # C3's matched points are epochs of one trajectory (not samples): only the seeds are resampled, from MIN_SEEDS
    c3_values = np.array([entry.get("c3_frac_positive", np.nan) for entry in row.get("per_seed", ())
                          if isinstance(entry, dict)], dtype=float)
    c3_values = c3_values[np.isfinite(c3_values)]
    if c3_values.size >= MIN_SEEDS:
        draws = np.repeat(c3_values[:, None], boot.replicates.shape[0], axis=1)
        c3 = combine_seeds(c3_values, draws, seed=1).estimate(0)
    else:
        c3 = Estimate(float(np.mean(c3_values)) if c3_values.size else float("nan"))
    kd_gain = boot.difference(column["student_test_accuracy"], column["control_test_accuracy"])
    # C2 presupposes a gain: the recovered fraction is judged only when the gain's interval lies above 0
    recovered = fieller_interval(late, gain, late_reps, gain_reps) if kd_gain.low > 0 else Estimate(float("nan"))
    return dict(
        note=boot.note, seeds=boot.seeds,
        test_slope=boot.estimate(column["test_slope"]), train_slope=boot.estimate(column["train_slope"]),
        control_test_slope=boot.estimate(column["control_test_slope"]),
        slope_over_control=boot.difference(column["test_slope"], column["control_test_slope"]),
        kd_gain=kd_gain, late_recovered=recovered,
        c5_gap=boot.difference(column["student_test_accuracy"], column["teacher_test_accuracy"]),
        c3_frac_positive=c3)



def claims(row: dict) -> list:
    """The claims C1 (test and train), C2, C3 and C5 of one sweep row, as :class:`Claim` values with intervals.

    With per-seed bootstrap replicates (:func:`measure`) every claim carries its 95 % interval (:func:`intervals`)
    and C2 is not judged unless the KD gain's interval lies above 0; a row without them (an older sweep.json) gives
    point estimates, C2 not run without a KD gain of at least :data:`MIN_GAIN`, C3 not without matched points.
    """
    setting = row.get("name", "setting")
    ci = intervals(row)
    if ci is None:
        gain = row["student_test_accuracy"] - row["control_test_accuracy"]
        recovered = ((row["late_test_accuracy"] - row["control_test_accuracy"]) / gain if gain >= MIN_GAIN
                     else float("nan"))
        ci = dict(test_slope=Estimate(row["test_slope"]), train_slope=Estimate(row["train_slope"]),
                  late_recovered=Estimate(recovered), c3_frac_positive=Estimate(row["c3_frac_positive"]),
                  c5_gap=Estimate(row["student_test_accuracy"] - row["teacher_test_accuracy"]),
                  kd_gain=Estimate(gain))
        where = setting + "; point estimates (no bootstrap replicates stored)"
    else:
        where = f"{setting}; {ci['note']}"
    judged = ci["late_recovered"].value == ci["late_recovered"].value
    recovered_text = (f"recovered {ci['late_recovered'].show(2)} of the KD gain {ci['kd_gain'].show(3, '+')}"
                      if judged else f"not judged: KD gain {ci['kd_gain'].show(3, '+')} not above 0")
    return [
        Claim(claim="C1 test", setting=where, statement="test slope of φ(p_student) on φ(p_teacher) > 1",
              evidence=ci["test_slope"], criterion=greater_than(1.0), measured=f"slope {ci['test_slope'].show()}"),
        Claim(claim="C1 train", setting=where, statement="train slope of φ(p_student) on φ(p_teacher) > 1",
              evidence=ci["train_slope"], criterion=greater_than(1.0), measured=f"slope {ci['train_slope'].show()}"),
        Claim(claim="C2", setting=where, statement="the late student recovers at least half of the KD gain",
              evidence=ci["late_recovered"], criterion=at_least(0.5), measured=recovered_text),
        Claim(claim="C3", setting=where, statement="≥ 80 % of matched points have a positive bottom deficit",
              evidence=ci["c3_frac_positive"], criterion=at_least(0.8),
              measured=f"fraction {ci['c3_frac_positive'].show(2)}"),
        Claim(claim="C5", setting=where, statement="the student's test accuracy exceeds the teacher's",
              evidence=ci["c5_gap"], criterion=greater_than(0.0),
              measured=f"student − teacher {ci['c5_gap'].show(3, '+')}"),
    ]


def verdicts(row: dict) -> dict:
    """The table's numbers and marks: True (reproduced), False (not reproduced), None (not run, inconclusive);
    ``intervals``: ``{name: [value, low, high]}`` of :func:`intervals` (absent without replicates)."""
    gain = row["student_test_accuracy"] - row["control_test_accuracy"]
    ci = intervals(row)
    if ci is None:
        judged = gain >= MIN_GAIN
    else:
        judged = ci["late_recovered"].value == ci["late_recovered"].value
    recovered = (row["late_test_accuracy"] - row["control_test_accuracy"]) / gain if judged else float("nan")
    kept = (row["early_test_accuracy"] - row["control_test_accuracy"]) / gain if judged else float("nan")
    mark = {"reproduced": True, "not reproduced": False}
    verdicts = {claim.claim: mark.get(claim.verdict) for claim in claims(row)}
    result = dict(kd_gain=gain, late_recovered=recovered, early_kept=kept, c1_test=verdicts["C1 test"],
                  c1_train=verdicts["C1 train"], c2=verdicts["C2"], c3=verdicts["C3"], c5=verdicts["C5"])
    if ci is not None:
        result["intervals"] = {name: [e.value, e.low, e.high] for name, e in ci.items() if isinstance(e, Estimate)}
        result["bootstrap_scheme"] = ci["note"]
    return result


def finite_mean(values) -> float:
    """Mean of the finite numbers (a seed without matched C3 points gives NaN there); NaN if none is finite.

    Values that are not numbers (a seed's ``"bootstrap"`` replicates, kept in the row's ``per_seed``) give NaN.
    """
    finite = [v for v in values if isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
              and np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def _cell(row: dict, name: str, digits: int = 3, sign: str = "") -> str:
    """A number of the row with its interval where the row has one (``row["intervals"]``)."""
    stored = (row.get("intervals") or {}).get(name)
    if stored is not None and None not in stored:
        return Estimate(*stored).show(digits, sign)
    value = row.get(name, float("nan"))
    return "–" if value is None or value != value else f"{value:{sign}.{digits}f}"


def markdown(rows) -> str:
    """The sweep table in markdown: numbers with their 95 % intervals [low, high] (where replicates were stored)
    and the regime variables (docs/uncertainty.md): r · σ_S/σ_T of the test slope, the teacher's saturation
    (fraction of targets softmax(z/τ) with top probability > 1 − 10⁻³) and mean entropy on the training points,
    and the student's KL to / agreement with the teacher on test."""
    head = ("| setting | T train acc | acc T / S / ctl | C1 slope test (ctl) | C1 slope train (ctl) | "
            "r · σS/σT (test) | T saturation / entropy (train) | KL / agree (test) | "
            "KD gain | late / early acc | late recovered / early kept | C3 frac>0 (median) | C1 | C2 | C3 | C5 |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    mark = {True: "yes", False: "no", None: "–"}

    def number(r, key, digits=3):
        value = r.get(key)
        return "–" if value is None or value != value else f"{value:.{digits}f}"

    for r in rows:
        lines.append(
            f"| {r['name']} | {r['teacher_train_accuracy']:.3f} | {r['teacher_test_accuracy']:.3f} / "
            f"{r['student_test_accuracy']:.3f} / {r['control_test_accuracy']:.3f} | {_cell(r, 'test_slope')} "
            f"({r['control_test_slope']:.3f}) | {_cell(r, 'train_slope')} ({r['control_train_slope']:.3f}) | "
            f"{number(r, 'test_correlation')} · {number(r, 'test_spread_ratio')} | "
            f"{number(r, 'train_saturation', 2)} / {number(r, 'train_teacher_entropy', 2)} | "
            f"{number(r, 'test_kl')} / {number(r, 'test_agreement')} | "
            f"{_cell(r, 'kd_gain', 3, '+')} | {r['late_test_accuracy']:.3f} / {r['early_test_accuracy']:.3f} | "
            f"{_cell(r, 'late_recovered', 2)} / {number(r, 'early_kept', 2)} | {_cell(r, 'c3_frac_positive', 2)} "
            f"({r['c3_median_deficit']:+.3f}) | "
            f"{mark[r['c1_test']]} | {mark[r['c2']]} | {mark[r['c3']]} | {mark[r['c5']]} |")
    notes = sorted({r["bootstrap_scheme"] for r in rows if r.get("bootstrap_scheme")})
    if notes:
        lines += ["", "Intervals: " + "; ".join(notes) + " (docs/uncertainty.md)."]
    return "\n".join(lines) + "\n"
