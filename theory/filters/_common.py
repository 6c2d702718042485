"""Helpers shared by the modules of ``theory.filters``: validation of eigenvalues and parameters, and the
value semantics (exact keys, evaluable literals) of frozen filter dataclasses."""
from __future__ import annotations

import numpy as np

from .._checks import as_array

EPS = np.finfo(np.float64).eps


def as_eigenvalues(eigenvalues) -> np.ndarray:
    """Validate eigenvalues ``(n,)`` (or take them from a Spectrum)."""
    eigenvalues = as_array(getattr(eigenvalues, "eigenvalues", eigenvalues), "eigenvalues", ndim=1)
    if np.any(eigenvalues < 0):
        raise ValueError(
            f"eigenvalues must be >= 0 (a PSD kernel), got minimum {eigenvalues.min():.3g}; build them "
            "with theory.Spectrum, which clips round-off negatives."
        )
    return eigenvalues


def parameter(value, name: str, *, integer: bool = False, positive: bool = False) -> np.ndarray:
    """Validate a (possibly array-valued) filter parameter; returns a float64 array of shape S."""
    array = as_array(value, name)
    if positive and np.any(array <= 0):
        raise ValueError(f"{name} must be > 0, got minimum {array.min():.4g}.")
    if np.any(array < 0):
        raise ValueError(f"{name} must be >= 0 (no negative training time), got minimum {array.min():.4g}.")
    if integer and np.any(array != np.round(array)):
        raise ValueError(f"{name} must be whole numbers of steps, got {value!r}.")
    return array


def set_field(instance, name: str, value) -> None:
    """Store a validated field on a frozen dataclass (in ``__post_init__``)."""
    object.__setattr__(instance, name, value)


def literal(value) -> str:
    """A Python literal that evaluates back to ``value`` (a float, an int, a range, a nested list or a filter).

    Whole numbers print as integers; a 1-D arithmetic progression of whole numbers prints as ``range(...)``;
    other floats use ``repr`` (the shortest string that round-trips exactly).
    """
    if hasattr(value, "_FACTORY"):  # a filter
        return repr(value)
    array = np.asarray(value, dtype=np.float64)
    whole = bool(np.all(array == np.round(array))) and bool(np.all(np.abs(array) < 2**53))
    if array.ndim == 0:
        return str(int(array)) if whole else repr(float(array))
    if array.ndim == 1 and whole and array.size >= 3:
        step = array[1] - array[0]
        if step > 0 and np.all(np.diff(array) == step):
            return f"range({int(array[0])}, {int(array[-1] + step)}, {int(step)})"
    return "[" + ", ".join(literal(item) for item in array) + "]"


def value_key(value):
    """A hashable, exact key for a field value (arrays by shape and bytes)."""
    if isinstance(value, np.ndarray):
        return ("array", value.shape, value.tobytes())
    if isinstance(value, tuple):
        return tuple(value_key(item) for item in value)
    return value


def log_ratio_scale(fraction):
    """ψ(g) = −log(1 − g)/g, with ψ(0) = 1 (used for effective times where progress is small)."""
    safe = np.where(fraction == 0.0, 0.5, fraction)  # placeholder keeps log1p away from −1
    return np.where(fraction == 0.0, 1.0, -np.log1p(-safe) / safe)
