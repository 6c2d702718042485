"""Measuring stored runs with the shared metrics of :mod:`theory.metrics` (docs/maths.md §6).

Everything here reads logits from the run store (:class:`~theory.nets.store.Run`) and turns them into
probabilities with :func:`theory.metrics.softmax` (float64), so networks and theory are measured by the same code:
confidence exaggeration (claim C1), the student's underfitting of the true class where the teacher is unsure,
fidelity, and accuracies; the regime variables of a pair (:func:`regime`) and per-seed bootstrap replicates of the
claims' statistics (:func:`replicates`, :func:`seed_bootstrap`; docs/uncertainty.md).
"""
from __future__ import annotations

import base64

import numpy as np

from theory import metrics as theory_metrics
from theory.metrics import bootstrap
from theory.metrics.regime import saturation

from .store import Run
from .training import data_for, final_variables, model_for, predict_logits, training_views

__all__ = ["probabilities", "exaggeration", "underfit", "accuracy", "pair_summary", "regime", "teacher_on_views", "PER_SEED_REPLICATES",
           "replicates", "pack_replicates", "correct", "seed_bootstrap"]


def probabilities(run: Run, split: str = "train", epoch: int | None = None) -> np.ndarray:
    """``(n, C)`` or ``(m, C)`` float64 class probabilities softmax(z) at a recorded epoch (None: final)."""
    return theory_metrics.softmax(run.logits_at(epoch, split))


def accuracy(run: Run, split: str = "test", epoch: int | None = None, *, clean: bool = True) -> float:
    """Top-1 accuracy at a recorded epoch; on train against the clean labels (``clean=True``) or the noisy ones."""
    data = data_for(run.config)
    labels = data.y_test if split == "test" else (data.y_train_clean if clean else data.y_train)
    return theory_metrics.accuracy(probabilities(run, split, epoch), labels)


def exaggeration(teacher: Run, student: Run, split: str = "test", *, bins: int = 20,
                 classes: str = "teacher_top1") -> theory_metrics.Exaggeration:
    """:func:`theory.metrics.exaggeration` of the student's final probabilities against the teacher's.

    φ(p) = log(p / (1 − p)) of each model's probability of the teacher's top-1 class (``classes="true"``: of the
    clean label), OLS slope of φ_student on φ_teacher (slope > 1: the student exaggerates, claim C1), and
    equal-count binned means.
    """
    labels = None
    if classes == "true":
        data = data_for(student.config)
        labels = data.y_test if split == "test" else data.y_train_clean
    return theory_metrics.exaggeration(probabilities(teacher, split), probabilities(student, split),
                                       classes=classes, labels=labels, bins=bins)


def underfit(teacher: Run, student: Run, *, bins: int = 10, labels: str = "train") -> dict:
    """Student vs teacher probability of the true class on the training points, binned by the teacher's.

    With p_T,i and p_S,i the two models' final probabilities of label y_i, points are sorted by p_T and cut into
    ``bins`` equal-count groups. Returned per bin: mean p_T, mean p_S, the fraction of points with
    p_S < p_T, and counts. Low-confidence underfitting (claim C1): in the bins where the teacher is unsure,
    the student's mean is below the teacher's.

    Args:
      teacher, student: complete runs on the same data.
      bins: number of equal-count bins.
      labels: ``"train"`` (the labels the models were trained on, noisy if any) or ``"clean"``.

    Returns:
      dict of lists ``teacher``, ``student``, ``frac_below``, ``counts``, and the per-point arrays
      ``p_teacher``, ``p_student`` (n,).
    """
    if labels not in ("train", "clean"):
        raise ValueError(f"labels must be 'train' or 'clean', got {labels!r}.")
    data = data_for(student.config)
    y = data.y_train if labels == "train" else data.y_train_clean
    rows = np.arange(y.shape[0])
    p_teacher = probabilities(teacher, "train")[rows, y]
    p_student = probabilities(student, "train")[rows, y]
    groups = np.array_split(np.argsort(p_teacher, kind="stable"), bins)
    return dict(teacher=[float(p_teacher[g].mean()) for g in groups],
                student=[float(p_student[g].mean()) for g in groups],
                frac_below=[float(np.mean(p_student[g] < p_teacher[g])) for g in groups],
                counts=[int(g.size) for g in groups], p_teacher=p_teacher, p_student=p_student)


def pair_summary(teacher: Run, student: Run) -> dict:
    """Headline numbers of a teacher–student pair: accuracies, C1 slopes on train and test, fidelity."""
    result = {"teacher_test_accuracy": accuracy(teacher, "test"),
              "student_test_accuracy": accuracy(student, "test"),
              "teacher_train_accuracy": accuracy(teacher, "train", clean=False),
              "student_train_accuracy": accuracy(student, "train", clean=False)}
    for split in ("train", "test"):
        measured = exaggeration(teacher, student, split)
        result[f"{split}_slope"] = measured.slope
        result[f"{split}_frac_low_below"] = measured.frac_low_below
        result[f"{split}_frac_high_above"] = measured.frac_high_above
        agreement = theory_metrics.fidelity(probabilities(teacher, split), probabilities(student, split))
        result[f"{split}_agreement"] = agreement.agreement
        result[f"{split}_kl"] = agreement.kl
    return result


def regime(teacher: Run, student: Run, split: str = "train") -> dict:
    """:func:`theory.metrics.regime` of a pair's final logits on ``split``, at the student's temperature.

    On ``"train"`` the teacher's saturation and entropy are measured on the inputs the student trains on: without
    augmentation the stored training points; with augmentation the augmented views of the student's last epoch
    (:func:`teacher_on_views`: the teacher's final weights on exactly the views whose targets the student fitted
    last), and on the un-augmented training points too (``train_saturation_points``,
    ``train_teacher_entropy_points``; equal to the former without augmentation). Keys are prefixed by the split:
    ``{split}_correlation``, ``{split}_spread_ratio``, ``{split}_saturation``, ``{split}_teacher_entropy``,
    ``{split}_clip_moved``, ``{split}_slope_exact``.
    """
    measured = theory_metrics.regime(teacher.logits_at(None, split), student.logits_at(None, split),
                                     temperature=student.config.temperature)
    result = {f"{split}_correlation": measured.correlation, f"{split}_spread_ratio": measured.spread_ratio,
              f"{split}_saturation": measured.saturation, f"{split}_teacher_entropy": measured.teacher_entropy,
              f"{split}_clip_moved": measured.clip_moved, f"{split}_slope_exact": measured.slope}
    if split == "train":
        result.update(train_saturation_points=measured.saturation, train_teacher_entropy_points=measured.teacher_entropy)
        if student.config.augmentation().active:
            share, entropy = saturation(teacher_on_views(teacher, student),
                                                       student.config.temperature)
            result.update(train_saturation=share, train_teacher_entropy=entropy)
    return result


def teacher_on_views(teacher: Run, student: Run, epoch: int | None = None) -> np.ndarray:
    """``(S·B, C)`` float32: the teacher's final eval-mode logits on the augmented views the student trained on in
    ``epoch`` (None: its last), :func:`theory.nets.training.training_views` — the logits whose softmax(z/τ) were
    the student's targets in that epoch."""
    epoch = student.config.epochs - 1 if epoch is None else epoch
    _, views = training_views(student.config, epoch)
    return predict_logits(model_for(teacher.config, data_for(teacher.config)), final_variables(teacher), views)


#: point-bootstrap replicates stored per seed (the hierarchical interval resamples them, docs/uncertainty.md).
PER_SEED_REPLICATES = 1000


def replicates(runs: dict, *, count: int = PER_SEED_REPLICATES, seed: int = 0) -> dict:
    """Point-bootstrap replicates of one seed's statistics, paired within each split (JSON-ready).

    ``runs``: ``{"teacher", "student", ["control", "late", "early"]}`` complete runs of one seed. Per split, the
    points are resampled once for all models: ``test_slope`` / ``train_slope`` (student) and
    ``control_{split}_slope`` (φ on the teacher's top-1 class, clipped form, as :func:`exaggeration`), and
    ``{role}_test_accuracy`` for every role. (C3's matched deficits are points of one trajectory, not samples:
    they are not resampled; see :func:`theory.nets.outcome.intervals`.)

    Returns:
      ``{"names": [k], "values": [k], "shape": [count, k], "replicates": base64 of the (count, k) replicates as
      little-endian float32}`` (compact in a sweep's JSON: about 50 kB per seed).
    """
    rng = np.random.default_rng(seed)
    teacher = runs["teacher"]
    names, values, draws = [], [], []
    slopers = [role for role in ("student", "control") if role in runs]
    for split in ("train", "test"):
        x = exaggeration(teacher, runs["student"], split).phi_teacher
        phis = {role: exaggeration(teacher, runs[role], split).phi_student for role in slopers}
        scored = {role: correct(run, "test") for role, run in runs.items()} if split == "test" else {}
        split_names, value, reps = bootstrap.split_replicates(split, x, phis, scored, replicates=count, seed=rng)
        names += split_names
        values.append(value)
        draws.append(reps)
    return pack_replicates(names, np.concatenate(values), np.concatenate(draws, axis=1))


def pack_replicates(names, values, draws) -> dict:
    """One seed's statistics ``names``, their ``values`` (k,) and point replicates ``draws`` (B, k) as the
    JSON-ready dict :func:`seed_bootstrap` reads (replicates as base64 of little-endian float32)."""
    table = np.ascontiguousarray(draws, dtype="<f4")
    if table.ndim != 2 or table.shape[1] != len(names) or len(values) != len(names):
        raise ValueError(f"draws must be (B, {len(names)}) and values ({len(names)},) for names {list(names)}, got "
                         f"shapes {table.shape} and {np.shape(values)}.")
    return dict(names=list(names), values=[float(v) for v in values], shape=list(table.shape),
                replicates=base64.b64encode(table.tobytes()).decode("ascii"))


def correct(run: Run, split: str = "test") -> np.ndarray:
    """``(m,)`` booleans: the run's final top-1 prediction equals the label (test, or the clean train labels)."""
    data = data_for(run.config)
    labels = data.y_test if split == "test" else data.y_train_clean
    return probabilities(run, split).argmax(axis=1) == labels


def _table(entry: dict) -> np.ndarray:
    """The ``(count, k)`` replicates of a :func:`replicates` dict (base64 of little-endian float32)."""
    return np.frombuffer(base64.b64decode(entry["replicates"]), dtype="<f4").reshape(entry["shape"]).astype(
        np.float64)


def seed_bootstrap(stored, names, *, seed: int = 0) -> tuple:
    """The hierarchical bootstrap over seeds (:func:`theory.metrics.combine_seeds`) of the statistics ``names``
    from the per-seed dicts of :func:`replicates`; a seed without one of the names is dropped.

    Returns ``(Bootstrap, {name: column})``; None when no seed has them all.
    """
    names = list(names)
    values, draws = [], []
    for entry in stored:
        if not entry or not all(name in entry["names"] for name in names):
            continue
        columns = [entry["names"].index(name) for name in names]
        values.append(np.asarray(entry["values"], dtype=np.float64)[columns])
        draws.append(_table(entry)[:, columns])
    if not values or len({d.shape[0] for d in draws}) != 1:
        return None
    return (theory_metrics.combine_seeds(np.array(values), np.array(draws), seed=seed),
            {name: column for column, name in enumerate(names)})
