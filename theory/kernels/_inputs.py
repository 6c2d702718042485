"""Input checks shared by the kernels of this subpackage (closed-form, random-feature and empirical).

Both compose :func:`theory._checks.as_matrix`, so messages read as everywhere else in the toolkit.
"""
from __future__ import annotations

import numpy as np

from .._checks import as_matrix


def kernel_inputs(x1, x2=None, *, name1: str = "x1", name2: str = "x2") -> tuple[np.ndarray, np.ndarray]:
    """``x1 (n1, d)`` and ``x2 (n2, d)`` as finite float64 arrays; ``x2=None`` gives ``(x1, x1)``.

    Raises:
        ValueError: if an input is not 2-D, has a NaN or infinite entry, or the feature dimensions differ.
    """
    x1 = as_matrix(x1, name1)
    if x2 is None:
        return x1, x1
    x2 = as_matrix(x2, name2, shape=(None, x1.shape[1]), what=f"the same feature dimension d as {name1}")
    return x1, x2


def map_inputs(x, input_dim: int, name: str = "x") -> np.ndarray:
    """``x (n, input_dim)`` for a feature map built for ``input_dim`` features, as a finite float64 array."""
    return as_matrix(x, name, shape=(None, input_dim), what="input_dim of the map")
