"""Closed-form train and test predictions of any spectral filter, whole trajectories in one call.

For a filter g on the training kernel K = U diag(λ) Uᵀ, targets Y and initial outputs F₀ (docs/maths.md §3):

    F_train = F₀ + U diag(g(λ)) Uᵀ (Y − F₀)
    F_test  = F_test,0 + K_*ᵀ U diag(g(λ)/λ) Uᵀ (Y − F₀)

with K_* = ``k_train_test`` (n, m). The test formula holds because a linear model trained by GD from β₀ only
moves β in the row space of Φ, so F_test − F_test,0 = Φ_* Φᵀ a with a = U diag(g/λ) Uᵀ (Y − F₀). g/λ is taken
from the filter's limit-safe ``over_eigenvalue`` (finite at λ = 0), never by dividing by a tiny eigenvalue.

The cost after the (cached) eigendecomposition is two matrix products per call: one n × n by n × (T·C)
for the trajectory on the training points and one m × n by n × (T·C) for the test points (K_*ᵀU is
computed once per :func:make_predictor). Together with one ``eigh`` they are the floor of a closed-form
trajectory; ``benchmarks/trajectory.py`` measures the rest (validation, the filter values, scaling the
coordinates) against it. The outputs ``S + (n, C)`` are views of ``(n,) + S + (C,)`` arrays, which is what
lets each product be a single GEMM with no transposed copy.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import as_array, as_matrix, check_memory

from .filters import Filter
from .spectral import Spectrum

__all__ = ["Prediction", "make_predictor", "predict"]


@dataclass(frozen=True, repr=False)
class Prediction:
    """Closed-form outputs of a filter.

    Attributes:
        train: ``S + (n,)`` or ``S + (n, C)`` outputs on the training points (S: the filter's batch shape).
        test: ``S + (m,)`` or ``S + (m, C)`` outputs on the test points, or None without ``k_train_test``.
        filter: the filter that produced them.
    """

    train: np.ndarray
    test: np.ndarray | None
    filter: Filter

    def __repr__(self):
        test = None if self.test is None else self.test.shape
        return f"Prediction(train={self.train.shape}, test={test}, filter={self.filter!r})"


def _rows(array, rows: int, name: str, columns: tuple) -> np.ndarray:
    """``array`` as finite float64 of shape ``(..., rows, *columns)``."""
    array = as_array(array, name)
    if array.shape[-len(columns) - 1:] != (rows, *columns):
        expected = (rows, *columns)
        raise ValueError(f"{name} must have shape {expected} (…, matching y), got {array.shape}.")
    return array


def _apply(basis: np.ndarray, factors: np.ndarray, coordinates_t: np.ndarray, buffer=None):
    """``basis (r, n) @ (factors[..., :, None] * coordinates)`` → ``(..., r, C)`` as one BLAS product.

    ``coordinates_t`` holds the coordinates transposed, ``(..., C, n)`` (C-contiguous). The scaled coordinates
    are built with the eigen-axis last, ``(B..., C, n)`` (an inner loop over n, no broadcast over the short C
    axis), and the product is the single GEMM ``(r, n) × (n, B·C)`` reading them transposed (no copy): the
    wide output ``(r, B·C)`` is the layout BLAS is fastest at (a tall ``(B·C, r)`` one costs 4-10% more).
    It is returned as the view ``(B..., r, C)``. ``buffer`` (the scaled coordinates of an earlier call, same
    shape) is reused when given. Returns ``(outputs, scaled)``.
    """
    n = basis.shape[1]
    shape = np.broadcast_shapes(factors.shape[:-1] + (1, n), coordinates_t.shape)
    if buffer is None or buffer.shape != shape:
        buffer = np.empty(shape)
    np.multiply(factors[..., None, :], coordinates_t, out=buffer)  # (B..., C, n)
    product = basis @ buffer.reshape(-1, n).T  # (r, B·C)
    return np.moveaxis(product.reshape(basis.shape[:1] + shape[:-1]), 0, -2), buffer


def _shifted(outputs: np.ndarray, start) -> np.ndarray:
    """``start + outputs``, in place in the (freshly computed) ``outputs`` when the shapes allow; None: none."""
    if start is None:
        return outputs
    if np.broadcast_shapes(outputs.shape, start.shape) == outputs.shape:
        outputs += start
        return outputs
    return start + outputs


def check_prediction_fits(filter: Filter, coordinates_shape: tuple, m: int, n: int | None = None) -> None:
    """Refuse up front a prediction whose outputs would not fit in memory (``theory._checks.check_memory``).

    With B = the broadcast of the filter's batch shape S and the targets' leading shape, the outputs take
    B·C·(n + m) floats; the estimate is 8·B·(n + 3·C·(n + m)) bytes: the filter values, the scaled
    coordinates, the matrix product and the outputs (float64). ``coordinates_shape`` is ``(..., r, C)`` with
    r the spectrum's rank (k for a top-k spectrum); ``n`` is the number of training points (default r).
    """
    rank, columns = coordinates_shape[-2:]
    n = rank if n is None else n
    batch = int(np.prod(np.broadcast_shapes(tuple(filter.batch_shape), tuple(coordinates_shape[:-2])), dtype=np.float64))
    estimate = 8.0 * batch * (n + 3 * columns * (n + m))
    check_memory(estimate, f"predicting {batch} outputs of shape ({n} + {m} points, {columns}) for filter "
                 f"batch shape {tuple(filter.batch_shape)}",
                 fix="predict fewer times or steps at once (a shorter time/steps array, or a loop over chunks "
                     "of it)")


def make_predictor(spectrum: Spectrum, y, *, k_train_test=None, f_train_0=None, f_test_0=None):
    """Precompute everything but the filter; returns ``predict_fn(filter) -> Prediction``.

    Use this when many filters share the targets and test points (a sweep, a figure): the projections Uᵀ(Y − F₀)
    and K_*ᵀU are computed once.

    Example:
        >>> import numpy as np, theory as th
        >>> x = np.random.default_rng(0).normal(size=(30, 4))
        >>> spectrum = th.Spectrum.from_kernel(x @ x.T)
        >>> predict_fn = th.make_predictor(spectrum, x[:, 0], k_train_test=x @ x[:5].T)
        >>> predict_fn(th.gd(learning_rate=0.01, steps=[0, 10, 100])).test.shape
        (3, 5)

    Args:
        spectrum: the :class:`~theory.spectral.Spectrum` of ``k_train_train (n, n)``.
        y: ``(n,)`` or ``(n, C)`` targets; a leading batch shape ``(..., n, C)`` is allowed too (a teacher's
           trajectory) and broadcasts against the filter's batch shape.
        k_train_test: optional ``(n, m)`` train–test kernel K_*.
        f_train_0: optional initial training outputs, y's shape (default 0).
        f_test_0: optional initial test outputs ``(m,)`` / ``(m, C)`` (default 0); needs ``k_train_test``.

    Returns:
        ``predict_fn(filter) -> Prediction``.

    Raises:
        ValueError: shapes that do not match, non-finite inputs; from ``predict_fn``, outputs that would
            not fit in memory (:func:`check_prediction_fits`), before computing them.
    """
    if not isinstance(spectrum, Spectrum):
        raise TypeError(f"spectrum must be a theory.Spectrum, got {type(spectrum).__name__}.")
    n = spectrum.n
    targets = as_array(y, "y", finite=False)
    vector = targets.ndim == 1
    if vector:
        targets = targets[:, None]
    if targets.ndim < 2 or targets.shape[-2] != n:
        raise ValueError(f"y must have shape (n,) or (n, C) with n = {n}, got shape {np.shape(y)}.")
    as_array(targets, "y")  # finite
    columns = targets.shape[-1]
    start = None if f_train_0 is None else _rows(
        np.reshape(f_train_0, np.shape(f_train_0) + (1,)) if vector else f_train_0, n, "f_train_0", (columns,)
    )
    coordinates = spectrum.coordinates(targets if start is None else targets - start)  # Uᵀ(Y − F₀): (..., n, C)
    coordinates_t = np.ascontiguousarray(np.swapaxes(coordinates, -1, -2))  # (..., C, n), for _apply

    test_basis = test_start = None
    if k_train_test is not None:
        cross = as_matrix(k_train_test, "k_train_test", shape=(n, None), what=f"n = {n} training points")
        test_basis = cross.T @ spectrum.eigenvectors  # K_*ᵀU: (m, n)
        m = cross.shape[1]
        test_start = None if f_test_0 is None else _rows(
            np.reshape(f_test_0, np.shape(f_test_0) + (1,)) if vector else f_test_0, m, "f_test_0", (columns,)
        )
    elif f_test_0 is not None:
        raise ValueError("f_test_0 was given without k_train_test; pass the (n, m) train-test kernel too.")

    def finish(outputs):
        return outputs[..., 0] if vector else outputs

    def predict_fn(filter: Filter) -> Prediction:
        if not isinstance(filter, Filter):
            raise TypeError(f"filter must be a theory filter (th.gd, th.flow, …), got {type(filter).__name__}.")
        check_prediction_fits(filter, coordinates.shape, 0 if test_basis is None else test_basis.shape[0], n)
        factors = filter(spectrum.eigenvalues)  # S + (n,)
        train, scaled = _apply(spectrum.eigenvectors, factors, coordinates_t)
        train = _shifted(train, start)
        test = None
        if test_basis is not None:
            over = filter.over_eigenvalue(spectrum.eigenvalues)
            test = _shifted(_apply(test_basis, over, coordinates_t, buffer=scaled)[0], test_start)
        return Prediction(train=finish(train), test=None if test is None else finish(test), filter=filter)

    return predict_fn


def predict(spectrum: Spectrum, y, filter: Filter, k_train_test=None, f_train_0=None, f_test_0=None) -> Prediction:
    """Closed-form train (and test) outputs of training by ``filter`` on targets ``y``.

        F_train = F₀ + U diag(g(λ)) Uᵀ (Y − F₀),   F_test = F_test,0 + K_*ᵀ U diag(g(λ)/λ) Uᵀ (Y − F₀)

    Example:
        >>> import numpy as np, theory as th
        >>> x = np.random.default_rng(0).normal(size=(20, 3))
        >>> spectrum = th.Spectrum.from_features(x)
        >>> out = th.predict(spectrum, x[:, :1], th.flow(time=[0.0, 1.0]))
        >>> out.train.shape
        (2, 20, 1)

    Args:
        spectrum: :class:`~theory.spectral.Spectrum` of ``k_train_train (n, n)``.
        y: ``(n,)`` or ``(n, C)`` targets (summed-loss convention, docs/maths.md §2).
        filter: any filter; its batch shape S becomes the leading axes of the outputs.
        k_train_test: optional ``(n, m)``.
        f_train_0: optional initial outputs on the training points (y's shape).
        f_test_0: optional initial outputs on the test points.

    Returns:
        :class:Prediction with ``.train`` ``S + (n[, C])`` and ``.test`` ``S + (m[, C])`` or None.
    """
    return make_predictor(spectrum, y, k_train_test=k_train_test, f_train_0=f_train_0, f_test_0=f_test_0)(filter)
