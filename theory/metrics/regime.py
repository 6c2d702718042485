"""The regime variables beside every slope: what a teacher–student pair looked like (docs/uncertainty.md §5).

A C1 slope alone does not say why it is above or below 1. From the two models' logits (float64) on one split:

* :func:`phi_from_logits` — φ = log(p_c / (1 − p_c)) computed exactly from logits, z_c − logsumexp_{j≠c} z_j,
  never clipped (the probability form :func:`theory.metrics.logit_confidence` clips p to [1e-7, 1 − 1e-7]);
* :func:`regime` -> :class:`Regime`: the correlation r and spread ratio σ_S/σ_T of φ (the OLS slope is their
  product), the teacher's saturation (fraction of its targets softmax(z/τ) with top probability above
  1 − 10⁻³; mean entropy, in nats), the student's KL to and top-1 agreement with the teacher
  (:func:`theory.metrics.fidelity`), and the fraction of points the clipped form of φ moves.

On the inputs the student trains on: pass the teacher's logits on those inputs (with augmentation, on the
augmented views).

Example:
  >>> z = np.array([[3.0, 0.0, 0.0], [1.0, 0.5, 0.0], [0.2, 0.1, 0.0]])
  >>> r = regime(z, 1.1 * z)
  >>> abs(r.slope - r.correlation * r.spread_ratio) < 1e-12, r.agreement
  (True, 1.0)
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import special

from .._checks import as_array, as_matrix, check_positive, check_real
from .agreement import fidelity
from .confidence import logit_confidence, ols_line
from .probabilities import softmax

__all__ = ["SATURATION", "phi_from_logits", "saturation", "Regime", "regime"]

#: a target is saturated when its top probability exceeds 1 − SATURATION.
SATURATION = 1e-3


def phi_from_logits(logits, classes=None) -> np.ndarray:
    """Exact log-odds φ = log(p_c / (1 − p_c)) of class c_i per row, p = softmax(z), from the logits.

        φ_i = z_{i,c} − logsumexp_{j≠c} z_{i,j},

    finite for every finite logit (no clipping): the same quantity as
    ``logit_confidence(softmax(z)[i, c], clip)`` wherever p_c lies inside [clip, 1 − clip].

    Example:
      >>> round(float(phi_from_logits(np.array([[np.log(3.0), 0.0]]))[0]), 12)  # p = 3/4: log 3
      1.098612288668

    Args:
      logits: ``(n, C)`` finite, C ≥ 2.
      classes: ``(n,)`` class per row; None: the row's top-1 class (ties to the lowest index).

    Returns:
      ``(n,)`` float64.
    """
    z = as_matrix(logits, "logits")
    if z.shape[1] < 2:
        raise ValueError(f"logits must have at least 2 classes (columns) for log-odds, got shape {z.shape}.")
    rows = np.arange(z.shape[0])
    if classes is None:
        classes = np.argmax(z, axis=1)
    else:
        classes = as_array(classes, "classes", ndim=1, dtype=None).astype(np.int64)
        if classes.shape[0] != z.shape[0] or np.any((classes < 0) | (classes >= z.shape[1])):
            raise ValueError(f"classes must be ({z.shape[0]},) class indices in [0, {z.shape[1]}), got shape "
                             f"{classes.shape}.")
    others = z.copy()
    others[rows, classes] = -np.inf
    return z[rows, classes] - special.logsumexp(others, axis=1)


def saturation(logits, temperature: float = 1.0) -> tuple[float, float]:
    """How saturated a teacher's targets softmax(z/τ) are: ``(fraction with top probability > 1 − SATURATION,
    mean entropy in nats)``.

    Example:
      >>> share, entropy = saturation(np.array([[20.0, 0.0], [0.0, 0.0]]))
      >>> share, round(entropy, 6)  # the second row has entropy log 2
      (0.5, 0.346574)
    """
    temperature = check_positive(temperature, "temperature")
    targets = softmax(as_matrix(logits, "logits") / temperature)
    entropy = -np.sum(special.xlogy(targets, targets), axis=1)
    return float(np.mean(targets.max(axis=1) > 1 - SATURATION)), float(entropy.mean())


@dataclass(frozen=True)
class Regime:
    """The regime of a teacher–student pair on one split (module docstring); every field a float.

    Attributes:
      slope: OLS slope of φ_student on φ_teacher (exact φ from logits, teacher's top-1 class).
      correlation: Pearson r of the two φ; spread_ratio: σ_S/σ_T; slope = correlation · spread_ratio.
      saturation: fraction of teacher targets softmax(z_T/τ) with top probability > 1 − :data:`SATURATION`.
      teacher_entropy: mean entropy of those targets (nats).
      kl: mean KL(softmax(z_T) ‖ softmax(z_S)); agreement: top-1 agreement.
      clip_moved: fraction of points whose φ_teacher or φ_student the clipped form (p in [clip, 1 − clip])
        changes by more than 1e-6 · (1 + |φ|).
      slope_clipped: the slope from the clipped form (the toolkit's :func:`theory.metrics.exaggeration`).
      n: number of points.
    """

    slope: float
    correlation: float
    spread_ratio: float
    saturation: float
    teacher_entropy: float
    kl: float
    agreement: float
    clip_moved: float
    slope_clipped: float
    n: int

    def as_dict(self) -> dict:
        """JSON-ready (NaN stays NaN)."""
        return asdict(self)


def regime(teacher_logits, student_logits, *, temperature: float = 1.0, clip: float = 1e-7) -> Regime:
    """The regime variables of a pair from its logits ``(n, C)`` on one split (module docstring).

    Args:
      teacher_logits, student_logits: ``(n, C)`` finite, the same shape, n ≥ 2.
      temperature: τ > 0 of the teacher's distillation targets softmax(z_T/τ) (saturation and entropy).
      clip: the probability clip of the clipped φ form, in (0, 0.5).
    """
    teacher = as_matrix(teacher_logits, "teacher_logits")
    student = as_matrix(student_logits, "student_logits")
    if teacher.shape != student.shape:
        raise ValueError(f"student_logits must have the shape of teacher_logits, {teacher.shape}, got "
                         f"{student.shape}.")
    if teacher.shape[0] < 2:
        raise ValueError(f"teacher_logits must have at least 2 points (rows) for a slope, got {teacher.shape[0]}.")
    clip = check_real(clip, "clip", low=0, high=0.5, low_open=True, high_open=True)
    top = np.argmax(teacher, axis=1)
    x, y = phi_from_logits(teacher, top), phi_from_logits(student, top)
    slope = ols_line(x, y)[0]
    sx, sy = float(np.std(x)), float(np.std(y))
    correlation = float(np.corrcoef(x, y)[0, 1]) if sx > 0 and sy > 0 else float("nan")
    saturated, entropy = saturation(teacher, temperature)
    p_teacher, p_student = softmax(teacher), softmax(student)
    agree = fidelity(p_teacher, p_student)
    rows = np.arange(teacher.shape[0])
    xc = logit_confidence(p_teacher[rows, top], clip)
    yc = logit_confidence(p_student[rows, top], clip)
    moved = (np.abs(xc - x) > 1e-6 * (1 + np.abs(x))) | (np.abs(yc - y) > 1e-6 * (1 + np.abs(y)))
    return Regime(slope=float(slope), correlation=correlation, spread_ratio=sy / sx if sx > 0 else float("nan"),
                  saturation=saturated, teacher_entropy=entropy, kl=float(agree.kl), agreement=float(agree.agreement),
                  clip_moved=float(np.mean(moved)), slope_clipped=float(ols_line(xc, yc)[0]),
                  n=int(teacher.shape[0]))
