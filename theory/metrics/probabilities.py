"""Class probabilities from logits, and their validation (docs/maths.md §2, §6).

Every metric of :mod:`theory.metrics` takes class probabilities ``p (n, C)``: one row per point, summing to 1.
Networks and kernel models that produce logits go through :func:`softmax` first.
"""
from __future__ import annotations

import numpy as np

from .._checks import as_array
from .._checks import as_probabilities
from .._checks import check_positive

__all__ = ["log_softmax", "softmax", "check_probabilities"]


def log_softmax(logits, temperature=1.0, axis=-1) -> np.ndarray:
    """Log-softmax of ``logits / temperature``, computed stably.

    log softmax(z/τ)_c = z_c/τ − max(z/τ) − log Σ_c' exp(z_c'/τ − max(z/τ)); subtracting the maximum
    keeps every exponent ≤ 0, so nothing overflows.

    Args: logits, finite, any shape (typically ``(n, C)``); temperature τ > 0; axis, the class axis.
    Returns: float64 array, same shape as ``logits``.
    Raises: ValueError for non-finite logits or temperature ≤ 0.
    """
    temperature = check_positive(temperature, "temperature")
    z = as_array(logits, "logits") / temperature
    if not np.all(np.isfinite(z)):  # only a temperature near the smallest float overflows finite logits
        raise ValueError(f"logits / temperature must be finite, got an overflow at temperature={temperature!r}.")
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

    The public face of ``theory._checks.as_probabilities`` (one validation for the whole toolkit).

    Example:
      >>> check_probabilities([[0.25, 0.75]]).dtype
      dtype('float64')

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
    return as_probabilities(p, name, atol=atol)
