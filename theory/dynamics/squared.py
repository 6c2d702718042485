"""Simulated training in JAX: kernel and linear gradient descent, full batch and minibatch SGD.

This module exists to *check* the closed forms of ``theory.filters`` / ``theory.predict`` by actually
taking the steps, to draw simulated points on figures, and to go where no closed form exists (minibatch
SGD; softmax cross-entropy lives in ``theory.dynamics_ce``, which reuses the driver below). Conventions
are those of SCIENCE.md §2: the summed loss L(F) = Σ_i ℓ(F_i, Y_i) of the training outputs F (n, C);
for the squared loss ℓ = ½‖F_i − Y_i‖² and ∂L/∂F = F − Y. A linear model f(x) = φ(x)ᵀβ trained by
full-batch GD,

    β ← β − η Φᵀ ∂L/∂F(Φβ),

is kernel GD on the training outputs, F ← F − η K ∂L/∂F(F) with K = ΦΦᵀ, and test outputs follow
F_test ← F_test − η K_*ᵀ ∂L/∂F(F) with K_* = ΦΦ_testᵀ (n, m).

Structure: a loss enters only through ``residual(outputs, targets)`` = ∂ℓ/∂outputs
(``_squared_loss_residual`` here; the temperature-scaled cross-entropy residual of ``theory.dynamics_ce``
carries per-run parameters, so it has its own steppers around the same driver). The cached factories
``_kernel_step(residual)`` and ``_linear_step(residual, batch_size, replace)`` return a
``step(state, step_index, operands)``, and ``_simulate`` drives any step: an outer ``lax.scan`` records
the state every ``record_every`` steps around an inner ``lax.fori_loop`` that steps, so memory is
O(recorded steps), not O(steps); only the number of recorded chunks is static under ``jit``. Minibatches
come from ``_draw_batch``, shared with ``theory.dynamics_ce``. Everything JAX runs float64 inside
``jax.enable_x64(True)`` only, and returns numpy float64 arrays.

Stability: GD on the squared loss is stable iff η λ_max(K) < 2. Before simulating, λ_max is estimated by
Lanczos (``scipy.sparse.linalg.eigsh``, O(n²) per iteration; a dense ``eigvalsh`` only when the smaller
side of Φ or K is ≤ 256), and a learning rate with η λ_max ≥ 2 is refused with ``ValueError``. Ritz values
never exceed λ_max, so nothing stable is refused. Minibatch SGD can diverge even when η λ_max < 2 (a batch
of b points, scaled by n/b, has a larger top eigenvalue); any non-finite recorded state raises
``FloatingPointError`` after the run.
"""
from __future__ import annotations

import functools
import numbers
from dataclasses import dataclass
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg
import scipy.sparse.linalg

_DENSE_EIGEN_LIMIT = 256  # below this size a dense eigvalsh is cheaper than Lanczos


@dataclass(frozen=True, eq=False, repr=False)
class Trajectory:
    """Recorded states of a simulated training run.

    Attributes:
        steps: (T,) int64 step numbers, ``0, k, 2k, …`` and always the final step.
        train: (T, n) or (T, n, C) training outputs at those steps (trailing shape is ``y``'s).
        test: (T, m) or (T, m, C) test outputs, or ``None`` when no test points were given.
        weights: (T, p) or (T, p, C) weights of a linear model, or ``None`` for kernel GD.
    """

    steps: np.ndarray
    train: np.ndarray
    test: np.ndarray | None
    weights: np.ndarray | None

    def __repr__(self) -> str:
        def shape(array):
            return None if array is None else tuple(array.shape)

        return (
            f"Trajectory(steps={len(self.steps)} recorded in [0, {int(self.steps[-1])}], "
            f"train={shape(self.train)}, test={shape(self.test)}, weights={shape(self.weights)})"
        )


# --------------------------------------------------------------------------------------------------
# Losses: residual(outputs, targets) = ∂ℓ/∂outputs, summed over points (SCIENCE.md §2).


def _squared_loss_residual(outputs, targets):
    """∂/∂F of ½‖F − Y‖²: the residual F − Y."""
    return outputs - targets


# --------------------------------------------------------------------------------------------------
# Steppers (cached so that jit sees the same static function on every call) and the recording driver.


@functools.lru_cache(maxsize=None)
def _kernel_step(residual: Callable) -> Callable:
    def step(carry, step_index, operands):
        f_train, f_test = carry
        k_train_train, k_train_test, y, learning_rate = operands
        gradient = residual(f_train, y)  # (n, C)
        return (
            f_train - learning_rate * (k_train_train @ gradient),
            f_test - learning_rate * (k_train_test.T @ gradient),
        )

    return step


def _draw_batch(key, step_index, n: int, batch_size: int, replace: bool):
    """The (batch_size,) indices of step ``step_index``: a draw from ``fold_in(key, step_index)``.

    Shared by every minibatch stepper (squared loss here, cross-entropy in ``theory.dynamics_ce``), so the
    same seed draws the same batches whatever the loss or the model (kernel or linear).
    """
    return jax.random.choice(jax.random.fold_in(key, step_index), n, (batch_size,), replace=replace)


@functools.lru_cache(maxsize=None)
def _linear_step(residual: Callable, batch_size: int | None, replace: bool) -> Callable:
    def step(weights, step_index, operands):
        features, y, learning_rate, key = operands
        if batch_size is not None:  # unbiased minibatch estimate of the summed gradient
            batch = _draw_batch(key, step_index, features.shape[0], batch_size, replace)
            scale = features.shape[0] / batch_size
            features, y = features[batch], y[batch]
            learning_rate = learning_rate * scale
        return weights - learning_rate * (features.T @ residual(features @ weights, y))

    return step


@functools.partial(jax.jit, static_argnames=("step", "chunks"))
def _simulate(step, state, operands, record_every, remainder, *, chunks):
    """Run ``chunks`` chunks of ``record_every`` steps (recorded), then ``remainder`` more steps."""

    def advance(carry, count):
        def one_step(_, inner):
            state, step_index = inner
            return step(state, step_index, operands), step_index + 1

        return jax.lax.fori_loop(0, count, one_step, carry)

    def chunk(carry, _):
        carry = advance(carry, record_every)
        return carry, carry[0]

    carry, history = jax.lax.scan(chunk, (state, jnp.asarray(0)), None, length=chunks)
    final, _ = advance(carry, remainder)
    return history, final


def _recorded_run(step, state, operands, *, steps, record_every):
    """Run ``_simulate`` under x64; return recorded step numbers and the stacked numpy states."""
    chunks, remainder = divmod(steps, record_every)
    with jax.enable_x64(True):
        history, final = _simulate(step, state, operands, record_every, remainder, chunks=chunks)
        records = [jax.tree_util.tree_map(lambda leaf: leaf[None], state), history]
        if remainder:
            records.append(jax.tree_util.tree_map(lambda leaf: leaf[None], final))
        stacked = jax.tree_util.tree_map(
            lambda *leaves: np.concatenate([np.asarray(leaf, np.float64) for leaf in leaves]), *records
        )
    recorded_steps = np.arange(chunks + 1, dtype=np.int64) * record_every
    if remainder:
        recorded_steps = np.append(recorded_steps, steps)
    return recorded_steps, stacked


# --------------------------------------------------------------------------------------------------
# Validation and the stability check.


def _as_finite_array(name: str, value, ndims: tuple[int, ...]) -> np.ndarray | None:
    """``value`` as a finite float64 array of one of ``ndims`` dimensions; None stays None."""
    if value is None:
        return None
    array = np.asarray(value)
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise ValueError(f"{name} must be a real numeric array, got dtype {array.dtype}")
    if array.ndim not in ndims:
        wanted = " or ".join(f"{d}-D" for d in ndims)
        raise ValueError(f"{name} must be {wanted}, got shape {array.shape}")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains {np.size(array) - np.isfinite(array).sum()} NaN/inf entries; "
                         "all entries must be finite")
    return array


def _check_integer(name: str, value, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    if value < minimum or (maximum is not None and value > maximum):
        allowed = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise ValueError(f"{name} must be {allowed}, got {value}")
    return int(value)


def _check_learning_rate(learning_rate) -> float:
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, numbers.Real):
        raise ValueError(f"learning_rate must be a real number, got {learning_rate!r}")
    if not (np.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"learning_rate must be finite and > 0, got {learning_rate}")
    return float(learning_rate)


def _check_matches(name: str, array: np.ndarray | None, shape: tuple[int, ...], what: str):
    if array is not None and array.shape != shape:
        raise ValueError(f"{name} has shape {array.shape}; it must be {shape} ({what})")


def _largest_eigenvalue(dense: Callable[[], np.ndarray], apply: Callable, dimension: int) -> float:
    """λ_max of a PSD operator: dense ``eigvalsh`` when small, else Lanczos (a lower bound on λ_max)."""
    if dimension <= _DENSE_EIGEN_LIMIT:
        if dimension == 0:
            return 0.0
        return float(scipy.linalg.eigvalsh(dense(), subset_by_index=[dimension - 1, dimension - 1])[0])
    operator = scipy.sparse.linalg.LinearOperator((dimension, dimension), matvec=apply, dtype=np.float64)
    start = np.random.default_rng(0).standard_normal(dimension)  # seeded: same answer every call
    try:
        return float(scipy.sparse.linalg.eigsh(operator, k=1, which="LA", tol=1e-6, v0=start,
                                               return_eigenvectors=False)[0])
    except scipy.sparse.linalg.ArpackNoConvergence as error:
        return float(np.max(error.eigenvalues, initial=0.0))


def _check_stable(learning_rate: float, largest_eigenvalue: float, matrix: str):
    if learning_rate * largest_eigenvalue >= 2:
        raise ValueError(
            f"learning_rate={learning_rate:g} is unstable: η·λ_max = {learning_rate * largest_eigenvalue:.4g} "
            f"with λ_max ≈ {largest_eigenvalue:.6g} of {matrix}; gradient descent needs η·λ_max < 2, "
            f"so use learning_rate < {2 / largest_eigenvalue:.6g} "
            f"(≤ {1 / largest_eigenvalue:.6g} for monotone progress)"
        )


def _check_finite_result(learning_rate: float, *arrays):
    if not all(np.all(np.isfinite(array)) for array in arrays if array is not None):
        raise FloatingPointError(
            f"the simulation diverged (non-finite outputs) with learning_rate={learning_rate:g}: gradient "
            "descent needs η·λ_max < 2 for the matrix each step applies (for SGD the batch matrix, "
            "scaled by n/batch_size); lower learning_rate"
        )


def _as_kernel(k_train_train) -> np.ndarray:
    """The training kernel K as a finite, square, symmetric float64 (n, n) array."""
    kernel = _as_finite_array("k_train_train", k_train_train, (2,))
    if kernel.shape[0] != kernel.shape[1]:
        raise ValueError(f"k_train_train must be square (n, n), got shape {kernel.shape}")
    if not np.allclose(kernel, kernel.T, rtol=1e-10, atol=1e-10 * np.max(np.abs(kernel), initial=0.0)):
        raise ValueError("k_train_train must be symmetric (a Gram matrix K = ΦΦᵀ); symmetrise it with "
                         "(K + K.T) / 2 if the asymmetry is rounding")
    return kernel


def _as_cross_kernel(k_train_test, n: int, f_test_0) -> np.ndarray | None:
    """The train–test kernel K_* as a finite (n, m) array, or None; ``f_test_0`` needs it."""
    cross = _as_finite_array("k_train_test", k_train_test, (2,))
    if cross is not None and cross.shape[0] != n:
        raise ValueError(f"k_train_test must be (n, m) with n = {n} rows, got shape {cross.shape}")
    if f_test_0 is not None and cross is None:
        raise ValueError("f_test_0 was given without k_train_test; pass k_train_test (n, m) as well")
    return cross


def _check_run(y, n: int, source: str, learning_rate, steps, record_every):
    """Validate the arguments every simulation shares; return (targets, rate, steps, record_every)."""
    targets = _as_finite_array("y", y, (1, 2))
    _check_matches("y", targets, (n,) + targets.shape[1:], f"its first axis must be n = {n}, from {source}")
    return (targets, _check_learning_rate(learning_rate), _check_integer("steps", steps, 0),
            _check_integer("record_every", record_every, 1))


def _with_trailing(array: np.ndarray | None, trailing: tuple[int, ...]) -> np.ndarray | None:
    """(T, rows, C) -> (T, rows) + y.shape[1:], so outputs keep y's trailing shape."""
    return None if array is None else array.reshape(array.shape[:2] + trailing)


def _as_columns(array: np.ndarray) -> np.ndarray:
    """(n,) -> (n, 1); (n, C) unchanged. Simulations always run on (n, C)."""
    return array if array.ndim == 2 else array[:, None]


# --------------------------------------------------------------------------------------------------
# Public API.


def kernel_gd(
    k_train_train,
    y,
    *,
    learning_rate: float,
    steps: int,
    record_every: int = 1,
    k_train_test=None,
    f_train_0=None,
    f_test_0=None,
) -> Trajectory:
    """Simulate kernel gradient descent on the summed squared loss, recording outputs.

    F_{t+1} = F_t − η K (F_t − Y),  F_test,{t+1} = F_test,t − η K_*ᵀ (F_t − Y)  (SCIENCE.md §2), whose
    closed form is the GD filter g(λ) = 1 − (1 − ηλ)^t of SCIENCE.md §3. Stable iff η λ_max(K) < 2.

    Example:
        >>> import numpy as np, theory as th
        >>> features = np.random.default_rng(0).normal(size=(5, 3))
        >>> k = features @ features.T
        >>> run = th.kernel_gd(k, np.ones(5), learning_rate=0.5 / np.linalg.eigvalsh(k)[-1],
        ...                    steps=100, record_every=10)
        >>> run.steps[[0, -1]], run.train.shape
        (array([  0, 100]), (11, 5))

    Args:
        k_train_train: (n, n) symmetric PSD kernel K on the training points.
        y: (n,) or (n, C) targets Y.
        learning_rate: step size η > 0 with η λ_max(K) < 2.
        steps: number of steps t ≥ 0.
        record_every: record every k ≥ 1 steps (the final step is always recorded).
        k_train_test: optional (n, m) train–test kernel K_*.
        f_train_0: optional initial training outputs, same shape as ``y`` (default zeros).
        f_test_0: optional (m,) or (m, C) initial test outputs (default zeros); needs ``k_train_test``.

    Returns:
        ``Trajectory`` with ``train`` (T, n[, C]), ``test`` (T, m[, C]) or None, ``weights`` None.

    Raises:
        ValueError: non-finite inputs, mismatched shapes, non-symmetric K, learning_rate ≤ 0 or
            η λ_max ≥ 2, steps < 0, record_every < 1, non-integer counts.
        FloatingPointError: the recorded outputs are non-finite.
    """
    kernel = _as_kernel(k_train_train)
    n = kernel.shape[0]
    targets, rate, steps, record_every = _check_run(y, n, "k_train_train", learning_rate, steps, record_every)
    train_0 = _as_finite_array("f_train_0", f_train_0, (1, 2))
    _check_matches("f_train_0", train_0, targets.shape, "the shape of y")
    cross = _as_cross_kernel(k_train_test, n, f_test_0)
    m = 0 if cross is None else cross.shape[1]
    test_0 = _as_finite_array("f_test_0", f_test_0, (1, 2))
    _check_matches("f_test_0", test_0, (m,) + targets.shape[1:], "(m,) + y.shape[1:] with m = k_train_test columns")
    _check_stable(rate, _largest_eigenvalue(lambda: kernel, lambda v: kernel @ v, n), "k_train_train")

    columns = _as_columns(targets)
    state = (
        np.zeros_like(columns) if train_0 is None else _as_columns(train_0),
        np.zeros((m, columns.shape[1])) if test_0 is None else _as_columns(test_0),
    )
    cross_or_empty = np.zeros((n, 0)) if cross is None else cross
    recorded_steps, (train, test) = _recorded_run(
        _kernel_step(_squared_loss_residual), state, (kernel, cross_or_empty, columns, rate),
        steps=steps, record_every=record_every,
    )
    _check_finite_result(rate, train, test)
    trailing = targets.shape[1:]
    test = None if cross is None else test
    return Trajectory(recorded_steps, _with_trailing(train, trailing), _with_trailing(test, trailing), None)


def linear_gd(
    features_train,
    y,
    *,
    learning_rate: float,
    steps: int,
    record_every: int = 1,
    features_test=None,
    weights_0=None,
    batch_size: int | None = None,
    seed: int = 0,
    replace: bool = False,
) -> Trajectory:
    """Simulate (minibatch) gradient descent of a linear model f(x) = φ(x)ᵀβ on the summed squared loss.

    Full batch (``batch_size=None``): β ← β − η Φᵀ(Φβ − Y), which is ``kernel_gd`` with K = ΦΦᵀ and
    K_* = ΦΦ_testᵀ. Minibatch SGD: step t draws a batch B_t of ``batch_size`` = b indices from
    ``jax.random.fold_in(jax.random.key(seed), t)`` (distinct within a step unless ``replace=True``) and
    steps β ← β − η (n/b) Σ_{i∈B_t} φ_i(φ_iᵀβ − y_i). The factor n/b makes the batch gradient an unbiased
    estimate of the *summed*-loss gradient Φᵀ(Φβ − Y), so η means the same thing at every batch size
    (b = n without replacement is full-batch GD, up to summation order).

    Example:
        >>> import numpy as np, theory as th
        >>> features = np.random.default_rng(0).normal(size=(20, 3))
        >>> run = th.linear_gd(features, features @ np.ones(3), learning_rate=0.02, steps=500,
        ...                    record_every=100)
        >>> np.round(run.weights[-1], 6)
        array([1., 1., 1.])

    Args:
        features_train: (n, p) training features Φ.
        y: (n,) or (n, C) targets Y.
        learning_rate: step size η > 0 with η λ_max(ΦΦᵀ) < 2.
        steps: number of steps t ≥ 0.
        record_every: record every k ≥ 1 steps (the final step is always recorded).
        features_test: optional (m, p) test features Φ_test.
        weights_0: optional (p,) or (p, C) initial weights β₀ (trailing shape of ``y``; default zeros).
        batch_size: None for full batch, else b in [1, n] for minibatch SGD.
        seed: integer seed of the batch draws (SGD only); the same seed gives the same trajectory.
        replace: draw each step's batch with replacement (SGD only).

    Returns:
        ``Trajectory`` with ``weights`` (T, p[, C]), ``train`` = Φβ_t (T, n[, C]) and ``test`` = Φ_test β_t
        (T, m[, C]) or None.

    Raises:
        ValueError: non-finite inputs, mismatched shapes, learning_rate ≤ 0 or η λ_max ≥ 2, steps < 0,
            record_every < 1, batch_size outside [1, n], non-integer counts.
        FloatingPointError: the recorded weights or outputs are non-finite (e.g. SGD with small batches
            and a learning rate that is stable only for full-batch GD).
    """
    features = _as_finite_array("features_train", features_train, (2,))
    n, p = features.shape
    targets, rate, steps, record_every = _check_run(y, n, "features_train", learning_rate, steps, record_every)
    test_features = _as_finite_array("features_test", features_test, (2,))
    if test_features is not None and test_features.shape[1] != p:
        raise ValueError(f"features_test must be (m, p) with p = {p} columns like features_train, "
                         f"got shape {test_features.shape}")
    start = _as_finite_array("weights_0", weights_0, (1, 2))
    _check_matches("weights_0", start, (p,) + targets.shape[1:], "(p,) + y.shape[1:]")
    if batch_size is not None:
        batch_size = _check_integer("batch_size", batch_size, 1, n)
    seed = _check_integer("seed", seed, -(2**63), 2**63 - 1)
    if p <= n:  # λ_max(ΦΦᵀ) = λ_max(ΦᵀΦ): work on the smaller side
        top = _largest_eigenvalue(lambda: features.T @ features, lambda v: features.T @ (features @ v), p)
    else:
        top = _largest_eigenvalue(lambda: features @ features.T, lambda v: features @ (features.T @ v), n)
    _check_stable(rate, top, "the Gram matrix ΦΦᵀ of features_train")

    columns = _as_columns(targets)
    state = np.zeros((p, columns.shape[1])) if start is None else _as_columns(start)
    with jax.enable_x64(True):
        key = jax.random.key(seed)
        recorded_steps, weights = _recorded_run(
            _linear_step(_squared_loss_residual, batch_size, bool(replace)), state,
            (features, columns, rate, key), steps=steps, record_every=record_every,
        )
    _check_finite_result(rate, weights)
    train = features @ weights
    test = None if test_features is None else test_features @ weights
    _check_finite_result(rate, train, test)
    trailing = targets.shape[1:]
    return Trajectory(recorded_steps, _with_trailing(train, trailing), _with_trailing(test, trailing),
                      _with_trailing(weights, trailing))
