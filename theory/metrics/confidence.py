"""Confidence exaggeration: does a student stretch its teacher's log-odds? (claim C1, docs/maths.md §4, §6).

* :func:`logit_confidence` φ(p) = log(p / (1 − p)), the confidence scale;
* :func:`exaggeration` -> :class:`Exaggeration`: the OLS line of φ_student on φ_teacher (slope > 1: the student
  exaggerates), with the fractions below / above the teacher and binned means;
* :func:`confidence_diagnostics`: the same, plus the checks that explain a slope (correlation, spread ratio,
  binned and split slopes, clipping);
* :func:`ols_line`: the one ordinary-least-squares line fit (slope, intercept) that all of them use.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import as_array
from .._checks import as_labels
from .._checks import check_choice
from .._checks import check_integer
from .._checks import check_real
from .._checks import check_same_shape
from ._common import probability_pair
from ._common import readonly

__all__ = ["logit_confidence", "Exaggeration", "exaggeration", "ols_line", "confidence_diagnostics"]


def ols_line(x, y) -> tuple[float, float]:
    """Ordinary least-squares line y ≈ slope · x + intercept.

        slope = Σ(x − x̄)(y − ȳ) / Σ(x − x̄)² = r · σ_y / σ_x,   intercept = ȳ − slope · x̄,

    with r the Pearson correlation and σ the (population) standard deviations. Computed on centred values,
    so y == x gives exactly slope 1 and intercept 0.

    Example:
      >>> ols_line([0.0, 1.0, 2.0], [1.0, 3.0, 5.0])
      (2.0, 1.0)

    Args:
      x, y: ``(n,)`` finite values of the same shape.

    Returns:
      ``(slope, intercept)`` as Python floats; both NaN when fewer than two points or when the spread of x
      is at round-off level (:func:`spread_is_roundoff`): no line is defined.

    Raises:
      ValueError: for arrays that are not 1-D, not finite, or of different shapes.
    """
    x = as_array(x, "x", ndim=1)
    y = as_array(y, "y", ndim=1)
    check_same_shape(x, "x", y, "y")
    if x.size < 2 or spread_is_roundoff(x):
        return float("nan"), float("nan")
    x_centred, y_centred = x - x.mean(), y - y.mean()
    spread = float(x_centred @ x_centred)
    slope = float(x_centred @ y_centred) / spread
    return slope, float(y.mean() - slope * x.mean())


SPREAD_RTOL = 64 * np.finfo(np.float64).eps  # ≈ 1.4e-14: round-off spread of values computed alike


def spread_is_roundoff(x) -> bool:
    """True when the values ``x`` are equal up to round-off: std(x) ≤ 64·ε·max|x| (ε = float64 epsilon).

    Why relative: values that are mathematically equal but computed in floating point (φ = log p − log1p(−p)
    of a softmax of equal logits, the mean subtracted to centre them) differ by a few ε times their size;
    the centring sum adds O(ε·log n)·max|x| for numpy's pairwise summation. An exact test ``Σ(x − x̄)² == 0``
    then fails on a constant teacher and the OLS slope is the ratio of two round-off numbers (e.g. −0.19 for
    ``softmax(zeros((1347, 10)))``). 64·ε (≈ 1.4e-14 relative) is far above that round-off and far below any
    real spread of confidences: φ differs by more than 1e-14·|φ| only between probabilities that differ in
    their 14th significant digit.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.size < 2:
        return True
    return bool(np.std(x) <= SPREAD_RTOL * np.max(np.abs(x)))


def logit_confidence(p, clip=1e-7) -> np.ndarray:
    """Log-odds confidence φ(p) = log(p / (1 − p)), with p clipped to ``[clip, 1 − clip]``.

    Computed as log(p) − log1p(−p), accurate for p near 1. The clip keeps φ finite on saturated
    outputs: |φ| ≤ log((1 − clip)/clip) ≈ 16.1 at the default (docs/maths.md §6).

    Example:
      >>> round(float(logit_confidence(0.75)), 12)  # log 3
      1.098612288668

    Args:
      p: probabilities in [0, 1], any shape.
      clip: in (0, 0.5).

    Returns:
      float64 array of φ, same shape as ``p``.

    Raises:
      ValueError: ``p`` outside [0, 1] or not finite, ``clip`` outside (0, 0.5).
    """
    clip = check_real(clip, "clip", low=0, high=0.5, low_open=True, high_open=True)
    p = as_array(p, "p")
    if np.any((p < 0) | (p > 1)):
        raise ValueError(f"p must be probabilities in [0, 1], got values in [{p.min():.3g}, {p.max():.3g}].")
    p = np.clip(p, clip, 1.0 - clip)
    return np.log(p) - np.log1p(-p)


@dataclass(frozen=True, eq=False)
class Exaggeration:
    """Does the student exaggerate the teacher's confidence? Result of :func:`exaggeration`.

    Attributes:
      slope, intercept: ordinary least squares fit φ_student ≈ slope · φ_teacher + intercept.
      threshold: the φ_teacher value splitting low- from high-confidence points.
      frac_low_below: among points with φ_teacher < threshold, the fraction with φ_student < φ_teacher
        (the student is less confident than the teacher); NaN if there are no such points.
      frac_high_above: among points with φ_teacher > threshold, the fraction with φ_student > φ_teacher;
        NaN if there are none. Points exactly at the threshold belong to neither group.
      n: number of points.
      bin_teacher, bin_student, bin_counts: ``(bins,)`` means of φ_teacher and φ_student, and point
        counts, over equal-count bins of the points sorted by φ_teacher.
      phi_teacher, phi_student: ``(n,)`` per-point values, for plotting.
    """

    slope: float
    intercept: float
    threshold: float
    frac_low_below: float
    frac_high_above: float
    n: int
    bin_teacher: np.ndarray
    bin_student: np.ndarray
    bin_counts: np.ndarray
    phi_teacher: np.ndarray
    phi_student: np.ndarray

    @property
    def exaggerates(self) -> bool:
        """slope > 1: the student's log-odds stretch the teacher's (claim C1)."""
        return bool(self.slope > 1.0)

    def as_dict(self) -> dict:
        """The scalar summaries as plain Python values (JSON-ready; NaN stays NaN)."""
        return {"slope": self.slope, "intercept": self.intercept, "threshold": self.threshold,
                "frac_low_below": self.frac_low_below, "frac_high_above": self.frac_high_above,
                "n": self.n, "exaggerates": self.exaggerates}

    def __repr__(self) -> str:
        return (f"Exaggeration(slope={self.slope:.4g}, intercept={self.intercept:.4g}, "
                f"frac_low_below={self.frac_low_below:.3g}, "
                f"frac_high_above={self.frac_high_above:.3g}, n={self.n}, "
                f"bins={self.bin_counts.size}, exaggerates={self.exaggerates})")


def exaggeration(p_teacher, p_student, *, classes="teacher_top1", labels=None, bins=20, clip=1e-7,
                 split="median") -> Exaggeration:
    """Confidence exaggeration of a student relative to its teacher (claim C1, docs/maths.md §4, §6).

    For each point i pick one class k_i: the teacher's top-1 class argmax_c p_teacher[i, c] (ties go to
    the lowest index) or, with ``classes="true"``, the label y_i. Both models are read on that class:

        x_i = φ(p_teacher[i, k_i]),   y_i = φ(p_student[i, k_i]),   φ(p) = log(p / (1 − p)),

    with p clipped to [clip, 1 − clip] (:func:`logit_confidence`). The OLS line y ≈ slope·x + intercept,
    slope = Σ(x − x̄)(y − ȳ) / Σ(x − x̄)², has slope > 1 when the student is less confident than the
    teacher where the teacher is unsure and more confident where it is sure (Nagarajan et al. 2023,
    "low-confidence underfitting"). The points, sorted by x (stable sort), are cut into ``bins``
    consecutive groups whose sizes differ by at most one (n // bins or n // bins + 1), for binned means.

    Example:
      >>> p_t = np.array([[0.6, 0.4], [0.8, 0.2], [0.9, 0.1]])
      >>> p_s = np.array([[0.55, 0.45], [0.8, 0.2], [0.95, 0.05]])
      >>> exaggeration(p_t, p_s, bins=3).exaggerates
      True

    Args:
      p_teacher, p_student: ``(n, C)`` probabilities (see :func:`check_probabilities`), n ≥ 2.
      classes: ``"teacher_top1"`` (default) or ``"true"``.
      labels: ``(n,)`` integer labels; required with ``classes="true"``, refused otherwise.
      bins: number of equal-count bins, 1 ≤ bins ≤ n.
      clip: probability clip for φ, in (0, 0.5).
      split: how low- and high-confidence points are separated: ``"median"`` (threshold = median of
        x, so each side holds about half the points) or a probability q in (0, 1) (threshold φ(q),
        e.g. 0.5 separates x < 0 from x > 0).

    Returns:
      :class:`Exaggeration`.

    Raises:
      ValueError: invalid probabilities, shape mismatch, bad ``classes``/``labels``/``bins``/``split``;
        a teacher confidence x that is constant over the points up to round-off (std(x) ≤ 64·ε·max|x|,
        :func:`spread_is_roundoff`: the slope is then a ratio of round-off errors); a one-hot (saturated)
        teacher, every x at the clip ±log((1 − clip)/clip); leading batch axes ``(T, n, C)`` (loop over
        them: ``[exaggeration(p_teacher, p) for p in trajectory]``).
    """
    p_teacher, p_student = probability_pair(p_teacher, p_student)
    n = p_teacher.shape[0]
    if n < 2:
        raise ValueError(f"p_teacher must have at least 2 points (rows) to fit a line, got n = {n}.")
    bins = check_integer(bins, "bins", minimum=1, maximum=n)  # bins <= n: no bin is empty
    check_choice(classes, "classes", ("teacher_top1", "true"))
    if classes == "teacher_top1":
        if labels is not None:
            raise ValueError('labels are only used with classes="true"; pass labels=None or '
                             'classes="true"')
        chosen = np.argmax(p_teacher, axis=1)
    else:
        if labels is None:
            raise ValueError('classes="true" needs labels (n,) of integer class indices')
        chosen = as_labels(labels, "labels", num_classes=p_teacher.shape[1], n=n)
    rows = np.arange(n)
    x = logit_confidence(p_teacher[rows, chosen], clip)
    y = logit_confidence(p_student[rows, chosen], clip)

    edge = float(np.log1p(-clip) - np.log(clip))  # |φ| at the clip
    if np.all(np.abs(x) >= edge * (1 - 1e-12)):
        raise ValueError(f"p_teacher must not be one-hot (saturated): every chosen probability is at the clip, "
                         f"φ_teacher = ±{edge:.4g} on all {n} points, so the slope would only compare the clip "
                         "with itself; use a teacher with graded confidences (e.g. softmax of its logits, or a "
                         "higher temperature).")
    if spread_is_roundoff(x):
        raise ValueError(f"p_teacher must have a teacher confidence φ_teacher that varies over the points, got an "
                         f"identical φ_teacher = {float(np.mean(x)):.6g} on all {n} points up to round-off (std "
                         f"{float(np.std(x)):.3g} ≤ {SPREAD_RTOL:.2g}·max|φ|): a teacher of constant "
                         "confidence (e.g. at initialisation) defines no slope.")
    slope, intercept = ols_line(x, y)  # exact slope 1, intercept 0 when y == x

    if isinstance(split, str):
        if split != "median":
            raise ValueError(f'split must be "median" or a probability in (0, 1), got {split!r}.')
        threshold = float(np.median(x))
    elif isinstance(split, (int, float, np.number)) and 0 < split < 1:
        threshold = float(np.log(split) - np.log1p(-split))
    else:
        raise ValueError(f'split must be "median" or a probability in (0, 1), got {split!r}.')
    low, high = x < threshold, x > threshold
    # Fractions over empty groups are undefined: NaN, stated in the docstring.
    frac_low = float(np.mean(y[low] < x[low])) if low.any() else float("nan")
    frac_high = float(np.mean(y[high] > x[high])) if high.any() else float("nan")

    groups = np.array_split(np.argsort(x, kind="stable"), bins)
    return Exaggeration(
        slope=slope, intercept=intercept, threshold=threshold, frac_low_below=frac_low,
        frac_high_above=frac_high, n=n,
        bin_teacher=readonly([x[g].mean() for g in groups]),
        bin_student=readonly([y[g].mean() for g in groups]),
        bin_counts=readonly([g.size for g in groups], np.int64),
        phi_teacher=readonly(x), phi_student=readonly(y))


def confidence_diagnostics(p_teacher, p_student, *, clip: float = 1e-7, bins: int = 20) -> dict:
    """Exaggeration statistics (:func:`exaggeration`) plus the checks that explain a slope.

    With x = φ(p_te), y = φ(p_st) on the teacher's top-1 class (φ(p) = log(p/(1−p)), p clipped to
    [clip, 1 − clip]):

    * ``slope``, ``intercept``, ``frac_low_below``, ``frac_high_above``: as :func:`exaggeration` (median split);
    * ``frac_below``: fraction of *all* points with y < x; ``mean_gap``: mean of y − x (global under-
      (< 0) or over-confidence of the student);
    * ``correlation`` r and ``spread_ratio`` σ_y/σ_x, whose product is the OLS slope (:func:`ols_line`): a
      slope below 1 is either a compressed student (spread ratio < 1) or a student that does not share part
      of the teacher's variation (r < 1: the regression is diluted by what the student drops);
    * ``slope_binned``: OLS slope through the ``bins`` equal-count binned means (robust to the scatter);
    * ``slope_low``, ``slope_high``: OLS slopes on the points below / above the median of x;
    * ``clipped_fraction``: fraction of points where x or y sits at the clip |φ| = log((1 − clip)/clip);
      ``slope_unclipped``: the OLS slope without them (NaN if fewer than two remain).

    Example:
        >>> p_t = np.array([[0.6, 0.4], [0.8, 0.2], [0.9, 0.1], [0.7, 0.3]])
        >>> round(confidence_diagnostics(p_t, p_t, bins=2)["slope_binned"], 6)
        1.0

    Args:
        p_teacher, p_student: (n, C) probabilities, n ≥ 2.
        clip: probability clip of φ, in (0, 0.5).
        bins: number of equal-count bins, 2 ≤ bins ≤ n.

    Returns:
        dict of Python floats (JSON-ready).

    Raises:
        ValueError: as :func:`exaggeration`, and bins < 2 (a slope through binned means needs two).
    """
    bins = check_integer(bins, "bins", minimum=2)
    result = exaggeration(p_teacher, p_student, bins=bins, clip=clip)
    x, y = result.phi_teacher, result.phi_student
    edge = np.log1p(-clip) - np.log(clip)
    clipped = (np.abs(x) >= edge * (1 - 1e-12)) | (np.abs(y) >= edge * (1 - 1e-12))
    low, high = x < result.threshold, x > result.threshold
    spread_x, spread_y = float(np.std(x)), float(np.std(y))
    correlation = float(np.corrcoef(x, y)[0, 1]) if spread_y > 0 else float("nan")

    def slope(mask):
        return ols_line(x[mask], y[mask])[0]

    return dict(
        result.as_dict(), frac_below=float(np.mean(y < x)), mean_gap=float(np.mean(y - x)),
        correlation=correlation, spread_ratio=spread_y / spread_x,
        slope_binned=ols_line(result.bin_teacher, result.bin_student)[0],
        slope_low=slope(low), slope_high=slope(high),
        clipped_fraction=float(np.mean(clipped)), slope_unclipped=slope(~clipped),
    )
