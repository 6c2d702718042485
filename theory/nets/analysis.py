"""Measuring stored runs with the shared metrics of :mod:`theory.metrics` (docs/maths.md §6).

Everything here reads logits from the run store (:class:`~theory.nets.store.Run`) and turns them into
probabilities with :func:`theory.metrics.softmax` (float64), so networks and theory are measured by the same code:
confidence exaggeration (claim C1), the student's underfitting of the true class where the teacher is unsure,
fidelity, and accuracies.
"""
from __future__ import annotations

import numpy as np

from theory import metrics as theory_metrics

from .store import Run
from .training import data_for

__all__ = ["probabilities", "exaggeration", "underfit", "accuracy", "pair_summary"]


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
