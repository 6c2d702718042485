"""Metrics shared by the theory and the trained networks (SCIENCE.md §6).

Plain numpy float64 functions of arrays. Every metric takes class probabilities ``p (n, C)``: one row
per point, summing to 1. Networks and kernel models that produce logits go through :func:`softmax`
first. Inputs are validated; bad input raises ``ValueError`` naming the argument.

* confidence exaggeration (claim C1): :func:`exaggeration` -> :class:`Exaggeration`;
* fidelity (Stanton et al. 2021): :func:`fidelity` -> :class:`Fidelity`;
* :func:`accuracy`, :func:`nll`, :func:`expected_calibration_error`, :func:`classification_report`;
* eigen progress: :func:`eigen_progress` and :func:`group_progress`, re-exported from ``theory.spectral``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

__all__ = [
    "softmax", "log_softmax", "check_probabilities", "logit_confidence", "Exaggeration",
    "exaggeration", "Fidelity", "fidelity", "accuracy", "nll", "expected_calibration_error",
    "classification_report", "eigen_progress", "group_progress",
]


def log_softmax(logits, temperature=1.0, axis=-1) -> np.ndarray:
    """Log-softmax of ``logits / temperature``, computed stably.

    log softmax(z/τ)_c = z_c/τ − max(z/τ) − log Σ_c' exp(z_c'/τ − max(z/τ)); subtracting the maximum
    keeps every exponent ≤ 0, so nothing overflows.

    Args: logits, finite, any shape (typically ``(n, C)``); temperature τ > 0; axis, the class axis.
    Returns: float64 array, same shape as ``logits``.
    Raises: ValueError for non-finite logits or temperature ≤ 0.
    """
    if not (np.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}")
    z = np.asarray(logits, dtype=np.float64) / temperature
    if not np.all(np.isfinite(z)):
        raise ValueError("logits contain NaN or inf; expected finite values")
    z = z - z.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def softmax(logits, temperature=1.0, axis=-1) -> np.ndarray:
    """Softmax of ``logits / temperature``: exp(log_softmax), stable for large logits.

    Example:
      >>> softmax([[0.0, np.log(3.0)]]).round(6).tolist()
      [[0.25, 0.75]]

    Args, Raises: as :func:`log_softmax`. Returns: float64 probabilities, same shape as ``logits``.
    """
    return np.exp(log_softmax(logits, temperature, axis))


def check_probabilities(p, name="p", atol=1e-6) -> np.ndarray:
    """Validate class probabilities and return them as a float64 array.

    Args:
      p: ``(n, C)`` with n ≥ 1, C ≥ 1, finite, non-negative, rows summing to 1 within ``atol``.
        Rows are not renormalised: float32 network outputs pass at the default tolerance.
      name: the argument's name, used in error messages.
      atol: tolerance on |Σ_c p_ic − 1|.

    Returns:
      ``p`` as a float64 ``(n, C)`` array.

    Raises:
      ValueError: naming ``name``, for each condition above that fails.
    """
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] < 1 or p.shape[1] < 1:
        raise ValueError(f"{name} must be a 2-D (n, C) array of probabilities with n, C >= 1, "
                         f"got shape {p.shape}")
    if not np.all(np.isfinite(p)):
        raise ValueError(f"{name} contains NaN or inf; expected finite probabilities")
    if np.any(p < 0):
        raise ValueError(f"{name} has negative entries (min {p.min():.3g}); expected probabilities "
                         "(apply softmax to logits first)")
    err = np.abs(p.sum(axis=1) - 1.0)
    if np.any(err > atol):
        row = int(np.argmax(err))
        raise ValueError(f"rows of {name} must sum to 1 within atol={atol:g}; row {row} sums to "
                         f"{p[row].sum():.8g} (apply softmax to logits first)")
    return p


def _check_labels(labels, p, name="labels") -> np.ndarray:
    """Integer labels ``(n,)`` in ``[0, C)`` matching probabilities ``p (n, C)``."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != p.shape[0]:
        raise ValueError(f"{name} must have shape ({p.shape[0]},) to match the probabilities, "
                         f"got {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{name} must be integer class indices, got dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= p.shape[1]):
        raise ValueError(f"{name} must lie in [0, {p.shape[1]}) (C = {p.shape[1]} classes), got "
                         f"values in [{labels.min()}, {labels.max()}]")
    return labels.astype(np.intp)


def _check_pair(p_teacher, p_student):
    """Validate teacher and student probabilities of the same ``(n, C)`` shape."""
    p_teacher = check_probabilities(p_teacher, "p_teacher")
    p_student = check_probabilities(p_student, "p_student")
    if p_student.shape != p_teacher.shape:
        raise ValueError(f"p_student shape {p_student.shape} must match p_teacher shape "
                         f"{p_teacher.shape}")
    return p_teacher, p_student


def _check_bins(bins):
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"bins must be an integer >= 1, got {bins!r}")


def logit_confidence(p, clip=1e-7) -> np.ndarray:
    """Log-odds confidence φ(p) = log(p / (1 − p)), with p clipped to ``[clip, 1 − clip]``.

    Computed as log(p) − log1p(−p), accurate for p near 1. The clip keeps φ finite on saturated
    outputs: |φ| ≤ log((1 − clip)/clip) ≈ 16.1 at the default (SCIENCE.md §6).

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
    if not 0 < clip < 0.5:
        raise ValueError(f"clip must lie in (0, 0.5), got {clip!r}")
    p = np.asarray(p, dtype=np.float64)
    if not np.all(np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError("p must be finite probabilities in [0, 1]")
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


def _readonly(array, dtype=np.float64) -> np.ndarray:
    array = np.array(array, dtype=dtype)
    array.setflags(write=False)
    return array


def exaggeration(p_teacher, p_student, *, classes="teacher_top1", labels=None, bins=20, clip=1e-7,
                 split="median") -> Exaggeration:
    """Confidence exaggeration of a student relative to its teacher (claim C1, SCIENCE.md §1, §6).

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
      ValueError: invalid probabilities, shape mismatch, bad ``classes``/``labels``/``bins``/``split``,
        or a teacher confidence x that is constant over the points (the slope is then undefined).
    """
    p_teacher, p_student = _check_pair(p_teacher, p_student)
    n = p_teacher.shape[0]
    if n < 2:
        raise ValueError(f"exaggeration needs at least 2 points to fit a line, got n = {n}")
    _check_bins(bins)
    if bins > n:
        raise ValueError(f"bins must be <= n = {n} so that no bin is empty, got {bins}")
    if classes == "teacher_top1":
        if labels is not None:
            raise ValueError('labels are only used with classes="true"; pass labels=None or '
                             'classes="true"')
        chosen = np.argmax(p_teacher, axis=1)
    elif classes == "true":
        if labels is None:
            raise ValueError('classes="true" needs labels (n,) of integer class indices')
        chosen = _check_labels(labels, p_teacher)
    else:
        raise ValueError(f'classes must be "teacher_top1" or "true", got {classes!r}')
    rows = np.arange(n)
    x = logit_confidence(p_teacher[rows, chosen], clip)
    y = logit_confidence(p_student[rows, chosen], clip)

    # OLS on centred values: exact slope 1, intercept 0 when y == x.
    x_centred, y_centred = x - x.mean(), y - y.mean()
    sxx = float(x_centred @ x_centred)
    if sxx == 0.0:
        raise ValueError("p_teacher: the teacher's confidence φ is identical on every point (after "
                         "clipping), so the slope is undefined")
    slope = float(x_centred @ y_centred) / sxx
    intercept = float(y.mean() - slope * x.mean())

    if isinstance(split, str):
        if split != "median":
            raise ValueError(f'split must be "median" or a probability in (0, 1), got {split!r}')
        threshold = float(np.median(x))
    elif isinstance(split, (int, float, np.number)) and 0 < split < 1:
        threshold = float(np.log(split) - np.log1p(-split))
    else:
        raise ValueError(f'split must be "median" or a probability in (0, 1), got {split!r}')
    low, high = x < threshold, x > threshold
    # Fractions over empty groups are undefined: NaN, stated in the docstring.
    frac_low = float(np.mean(y[low] < x[low])) if low.any() else float("nan")
    frac_high = float(np.mean(y[high] > x[high])) if high.any() else float("nan")

    groups = np.array_split(np.argsort(x, kind="stable"), bins)
    return Exaggeration(
        slope=slope, intercept=intercept, threshold=threshold, frac_low_below=frac_low,
        frac_high_above=frac_high, n=n,
        bin_teacher=_readonly([x[g].mean() for g in groups]),
        bin_student=_readonly([y[g].mean() for g in groups]),
        bin_counts=_readonly([g.size for g in groups], np.int64),
        phi_teacher=_readonly(x), phi_student=_readonly(y))


@dataclass(frozen=True)
class Fidelity:
    """How closely a student matches its teacher (Stanton et al. 2021). Result of :func:`fidelity`.

    Attributes:
      agreement: fraction of points where the two top-1 classes coincide.
      kl: mean over points of KL(p_teacher ‖ p_student), in nats.
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
      p_teacher, p_student: ``(n, C)`` probabilities of the same shape.
      clip: lower clip of the student's probabilities inside the log, > 0.

    Returns:
      :class:`Fidelity`.

    Raises:
      ValueError: invalid probabilities, shape mismatch or clip ≤ 0.
    """
    p_teacher, p_student = _check_pair(p_teacher, p_student)
    if not clip > 0:
        raise ValueError(f"clip must be > 0, got {clip!r}")
    agreement = float(np.mean(p_teacher.argmax(axis=1) == p_student.argmax(axis=1)))
    # rel_entr(t, s) = t log(t/s), and 0 where t == 0.
    per_row = special.rel_entr(p_teacher, np.maximum(p_student, clip)).sum(axis=1)
    return Fidelity(agreement=agreement, kl=float(np.mean(np.maximum(per_row, 0.0))))


def accuracy(p, labels) -> float:
    """Top-1 accuracy (1/n) Σ_i 1[argmax_c p_ic = y_i] (ties go to the lowest index).

    Args: p ``(n, C)`` probabilities; labels ``(n,)`` integers in [0, C).
    Returns: float in [0, 1]. Raises: ValueError on invalid input.
    """
    p = check_probabilities(p)
    labels = _check_labels(labels, p)
    return float(np.mean(p.argmax(axis=1) == labels))


def nll(p, labels, clip=1e-12) -> float:
    """Mean negative log-likelihood −(1/n) Σ_i log max(p[i, y_i], clip), in nats.

    The clip keeps a zero probability on the true class finite (−log 1e-12 ≈ 27.6).

    Example:
      >>> round(nll([[0.5, 0.5], [0.25, 0.75]], [0, 0]), 6)  # (log 2 + log 4) / 2
      1.039721

    Args: p ``(n, C)`` probabilities; labels ``(n,)`` integers in [0, C); clip > 0.
    Returns: float ≥ 0. Raises: ValueError on invalid input.
    """
    p = check_probabilities(p)
    labels = _check_labels(labels, p)
    if not clip > 0:
        raise ValueError(f"clip must be > 0, got {clip!r}")
    return float(-np.mean(np.log(np.maximum(p[np.arange(p.shape[0]), labels], clip))))


def expected_calibration_error(p, labels, bins=15) -> float:
    """Expected calibration error of the top-1 prediction (Guo, Pleiss, Sun, Weinberger 2017).

    With confidence conf_i = max_c p_ic and prediction ŷ_i = argmax_c p_ic, points fall into ``bins``
    equal-width bins B_m = (m/M, (m+1)/M] on [0, 1] (edges from ``np.linspace(0, 1, M + 1)``), and

        ECE = Σ_m (|B_m| / n) · |acc(B_m) − conf(B_m)|,

    with acc and conf the mean accuracy and mean confidence in the bin; empty bins contribute 0.

    Example:
      >>> expected_calibration_error([[0.9, 0.1], [0.9, 0.1]], [0, 1], bins=10)  # |0.5 − 0.9|
      0.4

    Args: p ``(n, C)`` probabilities; labels ``(n,)`` integers in [0, C); bins M ≥ 1.
    Returns: float in [0, 1]. Raises: ValueError on invalid input.
    """
    p = check_probabilities(p)
    labels = _check_labels(labels, p)
    _check_bins(bins)
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

    Args: p ``(n, C)`` probabilities; labels ``(n,)``; bins for the ECE.
    Returns: dict of Python floats (and ``n``, an int). Raises: ValueError on invalid input.
    """
    return {"accuracy": accuracy(p, labels), "nll": nll(p, labels),
            "ece": expected_calibration_error(p, labels, bins), "n": int(np.shape(p)[0])}


# Eigen progress (SCIENCE.md §6) lives with the eigendecomposition in ``theory.spectral``; re-exported here so
# that every shared metric is importable from one module: eigen_progress = spectral.progress (c_k per direction),
# group_progress = spectral.group_progress (energy-weighted progress of a group of directions).
from .spectral import group_progress  # noqa: E402
from .spectral import progress as eigen_progress  # noqa: E402
