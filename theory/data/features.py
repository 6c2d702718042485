"""Feature scaling fit on the training set: one scalar scale for flat features, per channel for images."""
from __future__ import annotations

import numpy as np

from .._checks import as_array
from .._checks import as_matrix

__all__ = ["standardize", "standardize_channels"]


def standardize(x_train, x_test) -> tuple[np.ndarray, np.ndarray]:
    """Centres features by the training mean and divides all of them by one training scale.

    With ``μ = mean_i x_train[i]`` (per feature) and ``s = sqrt(mean_{i,j} (x_train[i, j] - μ_j)²)`` (one
    scalar: the root-mean-square of the centred training matrix), returns ``(x_train - μ) / s`` and
    ``(x_test - μ) / s``. Fit on the training set only. Afterwards the training features have mean 0
    and mean square 1, i.e. ``trace(Cov) = d`` and a typical ``‖x‖² ≈ d``.

    A single scale, rather than a per-feature z-score, keeps the relative size of the features: a
    per-feature z-score blows near-constant pixels (the border of the digits, std ≈ 0.03 of 16 grey
    levels) up to values of 30-90 and lets them dominate a kernel. Constant features become exactly 0 on
    the training set; no division by a per-feature variance means no NaN. If every training feature is
    constant, ``s`` is taken as 1.

    Example:
      >>> x_train, x_test = standardize(np.array([[0., 1.], [2., 3.]]), np.array([[1., 5.]]))
      >>> x_train.tolist(), x_test.tolist()
      ([[-1.0, -1.0], [1.0, 1.0]], [[0.0, 3.0]])

    Args:
      x_train: ``(n, d)`` training features, finite.
      x_test: ``(m, d)`` test features, finite.

    Returns:
      ``(x_train_std (n, d), x_test_std (m, d))``, float64, new arrays.

    Raises:
      ValueError: if the arrays are not 2-D, contain NaN/inf, disagree in ``d``, or ``n == 0``.
    """
    x_train = as_array(x_train, "x_train", ndim=2)
    x_test = as_array(x_test, "x_test", ndim=2)
    x_test = as_matrix(x_test, "x_test", shape=(None, x_train.shape[1]),
                       what=f"as many features as x_train, {x_train.shape[1]}")
    if x_train.shape[0] == 0:
        raise ValueError("x_train must have at least one row to fit the standardisation, got shape "
                         f"{x_train.shape}.")
    mean = x_train.mean(axis=0)
    centred = x_train - mean
    scale = float(np.sqrt(np.mean(centred**2)))
    if scale == 0.0:  # every feature is constant on the training set: centring already zeroes them
        scale = 1.0
    return centred / scale, (x_test - mean) / scale


def standardize_channels(x_train, x_test) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel standardisation of images ``(n, ..., channels)``, fit on the training images.

    For channel ``c``, ``μ_c`` and ``s_c`` are the mean and standard deviation of ``x_train[..., c]`` over
    all images and positions (accumulated in float64); returns ``(x - μ_c) / s_c`` for both sets. A constant
    channel (``s_c = 0``) is only centred.

    Example:
      >>> train, test = standardize_channels(np.array([[[0., 10.]], [[2., 10.]]]), np.array([[[1., 11.]]]))
      >>> train[:, 0].tolist(), test[:, 0].tolist()
      ([[-1.0, 0.0], [1.0, 0.0]], [[0.0, 1.0]])

    Args:
      x_train: ``(n, ..., c)`` training images (any real dtype; float32 stays float32 until the division).
      x_test: ``(m, ..., c)`` test images of the same trailing shape.

    Returns:
      ``(x_train_std, x_test_std)`` float64 arrays of the input shapes.
    """
    x_train = as_array(x_train, "x_train", dtype=None)
    x_test = as_array(x_test, "x_test", shape=(None, *x_train.shape[1:]), dtype=None)
    axes = tuple(range(x_train.ndim - 1))
    mean = x_train.mean(axis=axes, dtype=np.float64)
    std = x_train.std(axis=axes, dtype=np.float64)
    std = np.where(std > 0, std, 1.0)
    return tuple(np.asarray((x - mean) / std, dtype=np.float64) for x in (x_train, x_test))
