"""Agreement of probabilities with a teacher or the labels: fidelity, accuracy, NLL, calibration (docs/maths.md §6).

* fidelity to a teacher (Stanton et al. 2021): :func:`fidelity` -> :class:`Fidelity`;
* against the labels: :func:`accuracy`, :func:`nll`, :func:`expected_calibration_error`, and all three in
  :func:`classification_report`.

Every function takes class probabilities ``p (n, C)`` (see :func:`theory.metrics.check_probabilities`), or
``p (..., n, C)`` with leading batch axes (a trajectory ``(T, n, C)`` from ``th.predict`` or a simulator): then
each number is computed per leading index and returned as a float64 array of the leading shape (``Fidelity``
holds two such arrays); labels stay ``(n,)``, and a teacher and a student broadcast over their leading axes.

Example:
  >>> trajectory = np.array([[[0.9, 0.1], [0.2, 0.8]], [[0.4, 0.6], [0.3, 0.7]]])  # (T=2, n=2, C=2)
  >>> accuracy(trajectory, [0, 1]).tolist()
  [1.0, 0.5]
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from .._checks import as_labels
from .._checks import check_integer
from .._checks import check_positive
from ._common import over_leading
from ._common import per_leading
from ._common import probability_batch
from ._common import probability_batch_pair

__all__ = ["Fidelity", "fidelity", "accuracy", "nll", "expected_calibration_error", "classification_report"]


def _probabilities_and_labels(p, labels):
    """p ``(..., n, C)`` probabilities and labels ``(n,)`` in [0, C)."""
    p = probability_batch(p)
    return p, as_labels(labels, "labels", num_classes=p.shape[-1], n=p.shape[-2])


@dataclass(frozen=True)
class Fidelity:
    """How closely a student matches its teacher (Stanton et al. 2021). Result of :func:`fidelity`.

    Attributes:
      agreement: fraction of points where the two top-1 classes coincide.
      kl: mean over points of KL(p_teacher ‖ p_student), in nats.
      (Python floats; float64 arrays of the leading shape for inputs with leading axes.)
    """

    agreement: float
    kl: float


def fidelity(p_teacher, p_student, clip=1e-12) -> Fidelity:
    """Top-1 agreement and mean KL(teacher ‖ student).

        agreement = (1/n) Σ_i 1[argmax_c p_teacher[i, c] = argmax_c p_student[i, c]]
        kl = (1/n) Σ_i max(0, Σ_c t_ic log(t_ic / max(s_ic, clip)))   with 0 · log 0 = 0,

    t = p_teacher, s = p_student (ties in argmax go to the lowest index). The student is clipped from
    below at ``clip`` so that a zero where the teacher has mass costs log(t/clip) instead of +inf.
    By Gibbs' inequality each row is ≥ 0; the max(0, ·) only removes rounding-level negatives and
    those of rows where entries below ``clip`` are raised by the clip, so equal inputs give exactly 0.
    Stanton, Izmailov, Kirichenko, Alemi, Wilson (2021), "Does knowledge distillation really work?".

    Example:
      >>> fidelity([[0.5, 0.5]], [[0.5, 0.5]])
      Fidelity(agreement=1.0, kl=0.0)

    Args:
      p_teacher, p_student: ``(..., n, C)`` probabilities with the same (n, C); leading axes broadcast
        (e.g. a teacher ``(n, C)`` against a student trajectory ``(T, n, C)``).
      clip: lower clip of the student's probabilities inside the log, > 0.

    Returns:
      :class:`Fidelity` of floats, or of float64 arrays of the broadcast leading shape.

    Raises:
      ValueError: invalid probabilities, a different (n, C) ("p_student must have the shape of p_teacher"),
        leading axes that do not broadcast, or clip ≤ 0.
    """
    p_teacher, p_student, leading = probability_batch_pair(p_teacher, p_student)  # (B, n, C) each
    clip = check_positive(clip, "clip")
    agreement = np.mean(p_teacher.argmax(axis=-1) == p_student.argmax(axis=-1), axis=-1)
    # rel_entr(t, s) = t log(t/s), and 0 where t == 0.
    per_row = special.rel_entr(p_teacher, np.maximum(p_student, clip)).sum(axis=-1)
    kl = np.mean(np.maximum(per_row, 0.0), axis=-1)
    return Fidelity(agreement=per_leading(agreement, leading), kl=per_leading(kl, leading))


def accuracy(p, labels) -> float:
    """Top-1 accuracy (1/n) Σ_i 1[argmax_c p_ic = y_i] (ties go to the lowest index).

    Args: p ``(n, C)`` probabilities, or ``(..., n, C)`` (module docstring); labels ``(n,)`` integers in [0, C).
    Returns: float in [0, 1] (an array of the leading shape). Raises: ValueError on invalid input.
    """
    p, labels = _probabilities_and_labels(p, labels)
    return over_leading(p, lambda q: np.mean(q.argmax(axis=1) == labels))


def nll(p, labels, clip=1e-12) -> float:
    """Mean negative log-likelihood −(1/n) Σ_i log max(p[i, y_i], clip), in nats.

    The clip keeps a zero probability on the true class finite (−log 1e-12 ≈ 27.6).

    Example:
      >>> round(nll([[0.5, 0.5], [0.25, 0.75]], [0, 0]), 6)  # (log 2 + log 4) / 2
      1.039721

    Args: p ``(n, C)`` or ``(..., n, C)`` probabilities; labels ``(n,)`` integers in [0, C); clip > 0.
    Returns: float ≥ 0 (an array of the leading shape). Raises: ValueError on invalid input.
    """
    p, labels = _probabilities_and_labels(p, labels)
    clip = check_positive(clip, "clip")
    rows = np.arange(labels.size)
    return over_leading(p, lambda q: -np.mean(np.log(np.maximum(q[rows, labels], clip))))


def expected_calibration_error(p, labels, bins=15) -> float:
    """Expected calibration error of the top-1 prediction (Guo, Pleiss, Sun, Weinberger 2017).

    With confidence conf_i = max_c p_ic and prediction ŷ_i = argmax_c p_ic, points fall into ``bins``
    equal-width bins B_m = (m/M, (m+1)/M] on [0, 1] (edges from ``np.linspace(0, 1, M + 1)``), and

        ECE = Σ_m (|B_m| / n) · |acc(B_m) − conf(B_m)|,

    with acc and conf the mean accuracy and mean confidence in the bin; empty bins contribute 0.

    Example:
      >>> expected_calibration_error([[0.9, 0.1], [0.9, 0.1]], [0, 1], bins=10)  # |0.5 − 0.9|
      0.4

    Args: p ``(n, C)`` or ``(..., n, C)`` probabilities; labels ``(n,)`` integers in [0, C); bins M ≥ 1.
    Returns: float in [0, 1] (an array of the leading shape). Raises: ValueError on invalid input.
    """
    p, labels = _probabilities_and_labels(p, labels)
    bins = check_integer(bins, "bins", minimum=1)
    return over_leading(p, lambda q: _calibration_error(q, labels, bins))


def _calibration_error(p: np.ndarray, labels: np.ndarray, bins: int) -> float:
    """The ECE of one validated (n, C) slice."""
    confidence = p.max(axis=1)
    correct = (p.argmax(axis=1) == labels).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    # searchsorted(side="left") - 1 is the m with edges[m] < conf <= edges[m + 1]; the clip keeps
    # conf slightly above 1 (allowed by the row-sum tolerance) in the last bin.
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    gap = np.bincount(which, weights=correct - confidence, minlength=bins)
    # |Σ_{B_m}(correct − conf)| / n = (|B_m|/n) |acc(B_m) − conf(B_m)|.
    return float(np.abs(gap).sum() / p.shape[0])


def classification_report(p, labels, bins=15) -> dict:
    """Accuracy, NLL and ECE in one JSON-ready dict: ``{"accuracy", "nll", "ece", "n"}``.

    Args: p ``(n, C)`` probabilities, or ``(..., n, C)``; labels ``(n,)``; bins for the ECE.
    Returns: dict of Python floats (arrays of the leading shape with leading axes; ``n``, an int).
    Raises: ValueError on invalid input.
    """
    p, labels = _probabilities_and_labels(p, labels)
    return {"accuracy": accuracy(p, labels), "nll": nll(p, labels),
            "ece": expected_calibration_error(p, labels, bins), "n": int(p.shape[-2])}

