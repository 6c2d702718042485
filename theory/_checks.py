"""The one validation module: every argument check of the toolkit, one signature and one message style.

Every public function validates its arguments through these helpers, so that messages read alike and a new
check lands in one place. Conventions:

* signature ``check_*(value, name, *, ...)`` (or ``as_*`` when the value is converted, e.g. to a float64
  array); ``name`` is the argument's name as the caller spells it, and appears first in the message;
* message style ``"{name} must be <requirement>, got <what was given>."`` — the argument, what was wrong,
  and what would be right (with a hint where one helps);
* bad values raise ``ValueError`` (also for a wrong type of a scalar: the caller passed a value that cannot
  be used); a check returns the value converted to its canonical type (``int``, ``float``, float64 array).

Nothing here imports JAX, flax or any other part of ``theory``.
"""
from __future__ import annotations

import numbers
from typing import Iterable, Sequence

import numpy as np

from ._memory import available_memory, format_bytes

__all__ = [
    "check_integer", "check_real", "check_positive", "check_nonnegative", "check_fraction",
    "check_seed", "as_rng", "check_flag", "check_choice",
    "as_array", "as_matrix", "as_labels", "as_probabilities", "as_kernel", "check_same_shape",
    "check_sorted_unique", "describe", "check_nonempty", "psd_tolerance", "check_psd", "check_memory",
    "available_memory", "format_bytes",
]


def describe(value) -> str:
    """A short description of ``value`` for a message: its repr, and its type where that helps."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    if isinstance(value, (bool, str, type(None))) or not isinstance(value, numbers.Number):
        return f"{text} of type {type(value).__name__}"
    return text


# ---------------------------------------------------------------------------------------------------
# scalars


def check_integer(value, name: str, *, minimum: int | None = None, maximum: int | None = None,
                  allow_none: bool = False) -> int | None:
    """``value`` as a Python ``int`` in ``[minimum, maximum]`` (bool refused; ``None`` only if allowed).

    Example:
      >>> check_integer(3, "steps", minimum=0)
      3
      >>> check_integer(-1, "steps", minimum=0)
      Traceback (most recent call last):
      ...
      ValueError: steps must be an integer >= 0, got -1.
    """
    if value is None and allow_none:
        return None
    if minimum is not None and maximum is not None:
        requirement = f"an integer in [{minimum}, {maximum}]"
    elif minimum is not None:
        requirement = f"an integer >= {minimum}"
    elif maximum is not None:
        requirement = f"an integer <= {maximum}"
    else:
        requirement = "an integer"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be {requirement}, got {describe(value)}.")
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be {requirement}, got {value}.")
    return value


def check_real(value, name: str, *, low: float | None = None, high: float | None = None,
               low_open: bool = False, high_open: bool = False, allow_none: bool = False) -> float | None:
    """``value`` as a finite Python ``float`` in the interval given by ``low``/``high`` (open or closed ends).

    Example:
      >>> check_real(0.5, "rate", low=0.0, high=1.0, high_open=True)
      0.5
      >>> check_real(1.0, "rate", low=0.0, high=1.0, high_open=True)
      Traceback (most recent call last):
      ...
      ValueError: rate must be a finite real number in [0, 1), got 1.0.
    """
    if value is None and allow_none:
        return None
    requirement = "a finite real number" + _interval(low, high, low_open, high_open)
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(float(value)):
        raise ValueError(f"{name} must be {requirement}, got {describe(value)}.")
    value = float(value)
    too_low = low is not None and (value < low or (low_open and value == low))
    too_high = high is not None and (value > high or (high_open and value == high))
    if too_low or too_high:
        raise ValueError(f"{name} must be {requirement}, got {value!r}.")
    return value


def _interval(low, high, low_open, high_open) -> str:
    def show(bound):
        return f"{bound:g}" if isinstance(bound, float) else str(bound)

    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{show(low)}, {show(high)}{')' if high_open else ']'}"
    if low is not None:
        return f" {'>' if low_open else '>='} {show(low)}"
    if high is not None:
        return f" {'<' if high_open else '<='} {show(high)}"
    return ""


def check_positive(value, name: str) -> float:
    """A finite real number > 0, as a float."""
    return check_real(value, name, low=0, low_open=True)


def check_nonnegative(value, name: str) -> float:
    """A finite real number >= 0, as a float."""
    return check_real(value, name, low=0)


def check_fraction(value, name: str, *, closed_low: bool = True, closed_high: bool = False) -> float:
    """A real number in [0, 1) by default; ``closed_low``/``closed_high`` choose the ends."""
    return check_real(value, name, low=0, high=1, low_open=not closed_low, high_open=not closed_high)


def check_seed(seed, name: str = "seed") -> int:
    """An explicit, non-negative integer seed (``None`` is refused: every draw must be reproducible)."""
    if seed is None:
        raise ValueError(f"{name} must be an integer >= 0 (an explicit seed: every draw is reproducible), "
                         "got None.")
    return check_integer(seed, name, minimum=0)


def as_rng(seed, name: str = "seed") -> np.random.Generator:
    """A numpy ``Generator`` from a non-negative integer seed, or the ``Generator`` itself."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(check_seed(seed, name))


def check_flag(value, name: str) -> bool:
    """A Python/numpy bool (0/1 and strings are refused: a flag is explicit)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {describe(value)}.")
    return bool(value)


def check_choice(value, name: str, choices: Iterable):
    """``value`` if it is one of ``choices``."""
    choices = tuple(choices)
    try:
        known = value in choices
    except TypeError:  # unhashable or incomparable value
        known = False
    if not known:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}.")
    return value


# ---------------------------------------------------------------------------------------------------
# arrays


def as_array(value, name: str, *, ndim: int | Sequence[int] | None = None, shape: Sequence | None = None,
             finite: bool = True, dtype=np.float64, allow_none: bool = False, what: str = "") -> np.ndarray | None:
    """``value`` as a numpy array of ``dtype`` (float64 by default), checked.

    Args:
      ndim: the allowed number of dimensions (an int or a tuple of ints).
      shape: the required shape; ``None`` entries are free (e.g. ``(n, None)``). Implies ``ndim``.
      finite: refuse NaN and infinite entries.
      what: appended to a shape message to say where the expected shape comes from (e.g. "n from K").
    Raises:
      ValueError: naming ``name``, for a non-numeric dtype, a wrong number of dimensions or shape, or a
        non-finite entry.
    """
    if value is None and allow_none:
        return None
    raw = np.asarray(value)
    if raw.dtype == object or not (np.issubdtype(raw.dtype, np.number) or raw.dtype == bool):
        raise ValueError(f"{name} must be a real numeric array, got dtype {raw.dtype}.")
    if np.issubdtype(raw.dtype, np.complexfloating) and np.issubdtype(np.dtype(dtype), np.floating):
        raise ValueError(f"{name} must be a real numeric array, got dtype {raw.dtype}.")
    array = raw.astype(dtype, copy=False) if dtype is not None else raw
    suffix = f" ({what})" if what else ""
    if shape is not None:
        shape = tuple(shape)
        wanted = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
        if array.ndim != len(shape):
            raise ValueError(f"{name} must be {len(shape)}-D with shape {wanted}{suffix}, got shape {array.shape}.")
        if any(s is not None and s != a for s, a in zip(shape, array.shape)):
            raise ValueError(f"{name} must have shape {wanted}{suffix}, got shape {array.shape}.")
    elif ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if array.ndim not in allowed:
            wanted = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(f"{name} must be {wanted}{suffix}, got shape {array.shape}.")
    if finite and np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
        bad = int(array.size - np.count_nonzero(np.isfinite(array)))
        raise ValueError(f"{name} must be finite, got {bad} NaN or infinite entries.")
    return array


def as_matrix(value, name: str, shape: Sequence | None = None, **options) -> np.ndarray:
    """A finite float64 2-D array (``shape`` as in :func:`as_array`, default any ``(rows, columns)``)."""
    return as_array(value, name, shape=shape if shape is not None else (None, None), **options)


def check_same_shape(first: np.ndarray, first_name: str, second: np.ndarray, second_name: str) -> None:
    """Refuse two arrays of different shapes, naming both."""
    if np.shape(first) != np.shape(second):
        raise ValueError(f"{second_name} must have the shape of {first_name}, {np.shape(first)}, "
                         f"got shape {np.shape(second)}.")


def as_labels(labels, name: str = "labels", *, num_classes: int | None = None, n: int | None = None) -> np.ndarray:
    """Integer class labels ``(n,)`` in ``[0, num_classes)`` as an int64 array.

    Raises:
      ValueError: for a non-integer dtype (with a hint), a wrong shape, or a label out of range.
    """
    labels = np.asarray(labels)
    if labels.dtype == bool or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{name} must be an array of integer class indices, got dtype {labels.dtype}; "
                         "convert with labels.astype(np.int64) if the values are whole numbers.")
    if labels.ndim != 1 or (n is not None and labels.shape[0] != n):
        wanted = f"({n},)" if n is not None else "(n,)"
        raise ValueError(f"{name} must have shape {wanted}, got shape {labels.shape}.")
    if num_classes is not None and labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"{name} must lie in [0, num_classes) = [0, {num_classes}), "
                         f"got values in [{labels.min()}, {labels.max()}].")
    return labels.astype(np.int64, copy=False)


def as_probabilities(p, name: str = "p", *, atol: float = 1e-6, shape: Sequence | None = None) -> np.ndarray:
    """Class probabilities ``(n, C)``: finite, non-negative, rows summing to 1 within ``atol``; float64.

    Rows are not renormalised: float32 network outputs pass at the default tolerance.
    """
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] < 1 or p.shape[1] < 1:
        raise ValueError(f"{name} must be a 2-D (n, C) array of probabilities with n, C >= 1, "
                         f"got shape {p.shape}.")
    if shape is not None:
        as_array(p, name, shape=shape, finite=False)
    if not np.all(np.isfinite(p)):
        raise ValueError(f"{name} must be finite probabilities, got NaN or infinite entries.")
    if np.any(p < 0):
        raise ValueError(f"{name} must be non-negative probabilities, got minimum {p.min():.3g} "
                         "(apply softmax to logits first).")
    error = np.abs(p.sum(axis=1) - 1.0)
    if np.any(error > atol):
        row = int(np.argmax(error))
        raise ValueError(f"rows of {name} must sum to 1 within atol={atol:g}, got row {row} summing to "
                         f"{p[row].sum():.8g} (apply softmax to logits first).")
    return p


def as_kernel(value, name: str = "k_train_train", *, rtol: float = 1e-10) -> np.ndarray:
    """A finite, square, symmetric float64 kernel matrix ``(n, n)``.

    Symmetry is required as max|K − Kᵀ| ≤ ``rtol``·max|K|: a Gram matrix computed in float64 is symmetric to
    rounding; a larger asymmetry means the wrong matrix was passed.
    """
    kernel = as_matrix(value, name)
    if kernel.shape[0] != kernel.shape[1]:
        raise ValueError(f"{name} must be square (n, n), got shape {kernel.shape}.")
    scale = float(np.max(np.abs(kernel), initial=0.0))
    asymmetry = float(np.max(np.abs(kernel - kernel.T), initial=0.0))
    if asymmetry > rtol * max(scale, np.finfo(np.float64).tiny):
        raise ValueError(f"{name} must be symmetric (a Gram matrix K = ΦΦᵀ), got max |K − Kᵀ| = {asymmetry:.3g} "
                         f"> {rtol:g}·max|K| = {rtol * scale:.3g}; symmetrise it with (K + K.T) / 2 if the "
                         "asymmetry is rounding.")
    return kernel


def check_sorted_unique(values, name: str) -> np.ndarray:
    """A 1-D array of strictly increasing values (e.g. recording steps)."""
    values = as_array(values, name, ndim=1, dtype=None)
    if values.size > 1 and np.any(np.diff(values) <= 0):
        raise ValueError(f"{name} must be strictly increasing, got {values.tolist()[:8]}.")
    return values


# ---------------------------------------------------------------------------------------------------
# non-empty arrays (issue 11, item 6)

def check_nonempty(array, name: str, *, what: str = "point") -> np.ndarray:
    """``array`` (as a numpy array) if it holds at least one ``what`` along its first axis.

    Example:
      >>> check_nonempty(np.zeros((0, 3)), "x_train")
      Traceback (most recent call last):
      ...
      ValueError: x_train must hold at least one point, got shape (0, 3).
    """
    array = np.asarray(array)
    if array.ndim == 0 or array.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one {what}, got shape {array.shape}.")
    return array


# ---------------------------------------------------------------------------------------------------
# positive semi-definiteness and memory guards (issue 11, items 2 and 12)

_EPS = float(np.finfo(np.float64).eps)


def psd_tolerance(n: int, largest: float, rtol: float | None = None) -> float:
    """The round-off allowance for negative eigenvalues of an (n, n) PSD matrix: ``rtol · max(λ_max, 0)``.

    An entrywise error of ε·max|K| moves eigenvalues by at most ‖E‖₂ ≤ n·ε·max|K| ≤ n·ε·λ_max (for a PSD K,
    max|K| ≤ λ_max), so the default ``rtol = 10·n·ε`` (≈ 2e-12 at n = 1,000) admits every round-off
    negative; a kernel computed in float32 needs ``rtol ≈ 1e-5``.
    """
    rtol = 10.0 * max(int(n), 1) * _EPS if rtol is None else check_nonnegative(rtol, "psd_rtol")
    return rtol * max(float(largest), 0.0)


def check_psd(kernel: np.ndarray, name: str = "k_train_train", *, rtol: float | None = None) -> None:
    """Refuse a symmetric matrix with an eigenvalue below ``-psd_tolerance(n, λ_max, rtol)``.

    ``kernel`` is a finite symmetric float64 (n, n) array (:func:`as_kernel`). Cheap on a PSD kernel: one
    Cholesky factorisation of K + δI with δ = 10·n·ε·max|K| (n³/3 flops, no eigenvalue), which succeeds
    when λ_min(K) > −δ; max|K| ≤ λ_max for a PSD matrix, so that is inside the tolerance. Only when it
    fails are the eigenvalues computed (``scipy.linalg.eigvalsh``), to refuse with λ_min and λ_max or to
    pass a kernel at the border of the tolerance.

    Example:
      >>> check_psd(np.diag([5.3, 1.0, -2.0]))
      Traceback (most recent call last):
      ...
      ValueError: k_train_train must be positive semi-definite, got smallest eigenvalue -2 (λ_max 5.3; round-off allows down to -3.53e-14): a kernel (Gram) matrix has no negative eigenvalue.
    """
    import scipy.linalg

    n = kernel.shape[0]
    if n == 0:
        return
    scale = float(np.max(np.abs(kernel)))
    shifted = kernel + (10.0 * n * _EPS * scale) * np.eye(n)
    try:
        scipy.linalg.cholesky(shifted, lower=True, overwrite_a=True, check_finite=False)
        return
    except np.linalg.LinAlgError:
        pass
    values = scipy.linalg.eigvalsh(kernel, check_finite=False)
    smallest, largest = float(values[0]), float(values[-1])
    tolerance = psd_tolerance(n, largest, rtol)
    if smallest < -tolerance:
        raise ValueError(f"{name} must be positive semi-definite, got smallest eigenvalue {smallest:.6g} "
                         f"(λ_max {largest:.6g}; round-off allows down to {-tolerance:.3g}): a kernel (Gram) "
                         "matrix has no negative eigenvalue.")


def check_memory(estimate: float, what: str, *, fix: str, fraction: float = 0.5,
                 available: int | None = None) -> None:
    """Refuse up front a computation whose arrays need more than ``fraction`` of the available memory.

    Args:
      estimate: bytes the computation will hold at once.
      what: what needs them, for the message (e.g. "recording 1,000,001 steps of (1, 1000, 1) outputs").
      fix: how to need less, for the message.
      fraction: the share of :func:`available_memory` a single computation may take.
      available: bytes available (default :func:`available_memory`; None when nothing can be read: no check).

    Example:
      >>> check_memory(3 * 2**30, "the trajectory", fix="record fewer steps", available=2**30)
      Traceback (most recent call last):
      ...
      ValueError: the trajectory needs about 3 GiB (3221225472 bytes), more than 50% of the 1 GiB available to this process; record fewer steps.
    """
    available = available_memory() if available is None else available
    if available is None:
        return
    if estimate > fraction * available:
        raise ValueError(f"{what} needs about {format_bytes(estimate)} ({int(estimate)} bytes), more than "
                         f"{fraction:.0%} of the {format_bytes(available)} available to this process; {fix}.")
