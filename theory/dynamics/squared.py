"""Simulated training on the summed squared loss: kernel and linear gradient descent, full batch and SGD.

This module exists to *check* the closed forms of ``theory.filters`` / ``theory.predict`` by actually taking
the steps, to draw simulated points on figures, and to go where no closed form exists (minibatch SGD). For
the squared loss ℓ = ½‖F_i − Y_i‖² the gradient function of the driver is the residual ∂L/∂F = F − Y
(docs/maths.md §2), and the models of ``theory.dynamics.models`` take the steps

    F ← F − η K (F − Y)  (kernel),     β ← β − η Φᵀ(Φβ − Y)  (linear, K = ΦΦᵀ),

whose closed form is the GD filter g(λ) = 1 − (1 − ηλ)^t of docs/maths.md §3. GD is stable iff
η λ_max(K) < 2: a larger learning rate is refused with ``ValueError`` before simulating, and any
non-finite recorded state (SGD can diverge below that bound) raises ``FloatingPointError`` after the run.
Everything JAX runs float64 inside ``jax.enable_x64(True)`` only, and returns numpy float64 arrays.
"""
from __future__ import annotations

import numpy as np

from .._checks import as_array, check_integer, check_nonempty, check_positive
from ._validate import SEED_RANGE
from ._validate import as_cross_kernel
from ._validate import as_training_kernel
from ._validate import as_test_features
from ._validate import check_finite
from ._validate import check_stable
from ._validate import gram_largest_eigenvalue
from ._validate import kernel_largest_eigenvalue
from ._validate import per_run_rows
from ._validate import prepare_runs
from .driver import Schedule
from .models import Trajectory
from .models import simulate_kernel
from .models import simulate_linear

__all__ = ["Trajectory", "kernel_gd", "kernel_gd_sweep", "linear_gd", "squared_residual"]


def squared_residual(outputs, targets, parameters=()):
    """∂/∂F of ½‖F − Y‖² summed over points: the residual F − Y (no loss parameters)."""
    return outputs - targets


def _columns(array: np.ndarray | None) -> np.ndarray | None:
    """(rows,) -> (rows, 1); (rows, C) unchanged. Simulations always run on (rows, C)."""
    return array if array is None or array.ndim == 2 else array[:, None]


def _trailing(array: np.ndarray | None, trailing: tuple) -> np.ndarray | None:
    """(T, rows, C) -> (T, rows) + y.shape[1:], so outputs keep y's trailing shape."""
    return None if array is None else array.reshape(array.shape[:2] + trailing)


def _targets(y, n: int, source: str) -> np.ndarray:
    """The targets Y as a finite (n,) or (n, C) float64 array."""
    targets = as_array(y, "y", ndim=(1, 2))
    return as_array(targets, "y", shape=(n,) + targets.shape[1:], what=f"n = {n} rows, from {source}")


def kernel_gd(
    k_train_train,
    y,
    *,
    learning_rate: float,
    steps: int,
    record_every: int | None = 1,
    checkpoints=None,
    k_train_test=None,
    f_train_0=None,
    f_test_0=None,
) -> Trajectory:
    """Simulate kernel gradient descent on the summed squared loss, recording outputs.

    F_{t+1} = F_t − η K (F_t − Y),  F_test,{t+1} = F_test,t − η K_*ᵀ (F_t − Y)  (docs/maths.md §2), whose
    closed form is the GD filter g(λ) = 1 − (1 − ηλ)^t of docs/maths.md §3. Stable iff η λ_max(K) < 2.

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
        record_every: record every k ≥ 1 steps (the final step is always recorded); None: only at
            ``checkpoints``.
        checkpoints: optional strictly increasing steps in [0, steps] to record as well.
        k_train_test: optional (n, m) train–test kernel K_*.
        f_train_0: optional initial training outputs, same shape as ``y`` (default zeros).
        f_test_0: optional (m,) or (m, C) initial test outputs (default zeros); needs ``k_train_test``.

    Returns:
        ``Trajectory`` with ``train`` (T, n[, C]), ``test`` (T, m[, C]) or None, ``weights`` None.

    Raises:
        ValueError: non-finite inputs, mismatched shapes, non-symmetric K, K not positive semi-definite
            (checked before the learning rate), no training points, learning_rate ≤ 0 or η λ_max ≥ 2,
            steps < 0, record_every < 1, non-integer counts, records that would not fit in memory (the
            estimate is in the message).
        FloatingPointError: the recorded outputs are non-finite.
    """
    kernel = as_training_kernel(k_train_train, "k_train_train")
    n = kernel.shape[0]
    targets = _targets(y, n, "k_train_train")
    rate = check_positive(learning_rate, "learning_rate")
    schedule = Schedule(steps, record_every, checkpoints)
    train_0 = as_array(f_train_0, "f_train_0", shape=targets.shape, allow_none=True, what="the shape of y")
    cross = as_cross_kernel(k_train_test, n, f_test_0)
    m = 0 if cross is None else cross.shape[1]
    test_0 = as_array(f_test_0, "f_test_0", shape=(m,) + targets.shape[1:], allow_none=True,
                      what="(m,) + y.shape[1:] with m = k_train_test columns")
    check_stable(rate, kernel_largest_eigenvalue(kernel), "k_train_train")

    runs = prepare_runs(n, learning_rate=rate, seed=0, batch_size=None, replace=False)
    recorded, train, test = simulate_kernel(
        squared_residual, kernel, runs, _columns(targets)[None], (), schedule, cross=cross,
        start=_run_axis(_columns(train_0)), test_start=_run_axis(_columns(test_0)))
    check_finite(rate, train, test)
    trailing = targets.shape[1:]
    return Trajectory(recorded, _trailing(train[0], trailing), _trailing(_first(test), trailing), None)


def kernel_gd_sweep(
    k_train_train,
    y,
    *,
    learning_rate,
    steps: int,
    record_every: int | None = 1,
    checkpoints=None,
    k_train_test=None,
    f_train_0=None,
    f_test_0=None,
    batch_size: int | None = None,
    seed=0,
    replace: bool = False,
) -> Trajectory:
    """P kernel GD runs on the squared loss in one vmapped, jit-compiled simulation, recording outputs.

    Each run p is :func:`kernel_gd` with its own targets, initial outputs, learning rate and seed; an
    argument given without the run axis is shared by all runs. Minibatch SGD (``batch_size`` = b) steps
    F ← F − η (n/b) K[:, B] (F_B − Y_B) on a batch B drawn as in :func:`linear_gd`.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(6, 2))
        >>> sweep = kernel_gd_sweep(x @ x.T, np.ones((6, 1)), learning_rate=[0.01, 0.02], steps=20,
        ...                         record_every=10)
        >>> sweep.train.shape  # (P runs, recorded steps, n, C)
        (2, 3, 6, 1)

    Args:
        k_train_train: (n, n) symmetric PSD kernel K.
        y: (n, C) or (P, n, C) targets Y.
        learning_rate: η > 0, scalar or (P,), with η λ_max(K) < 2.
        steps: number of steps t ≥ 0 (shared).
        record_every: record every k ≥ 1 steps (the final step is always recorded); None: only at
            ``checkpoints``.
        checkpoints: optional strictly increasing steps in [0, steps] to record as well.
        k_train_test: optional (n, m) train–test kernel K_*.
        f_train_0: optional (n, C) or (P, n, C) initial outputs (default zeros).
        f_test_0: optional (m, C) or (P, m, C) initial test outputs (default zeros); needs ``k_train_test``.
        batch_size: None for full batch, else b in [1, n] (shared).
        seed: integer seed of the batch draws (SGD only), scalar or (P,).
        replace: draw batches with replacement (SGD only).

    Returns:
        ``Trajectory`` with ``train`` (P, R, n, C), ``test`` (P, R, m, C) or None, ``weights`` None.

    Raises:
        ValueError: non-finite inputs, mismatched shapes or run counts, non-symmetric or non-PSD K, no
            training points, learning_rate ≤ 0 or η λ_max ≥ 2, bad counts, records that would not fit in memory.
        FloatingPointError: non-finite recorded outputs.
    """
    kernel = as_training_kernel(k_train_train, "k_train_train")
    n = kernel.shape[0]
    schedule = Schedule(steps, record_every, checkpoints)
    cross = as_cross_kernel(k_train_test, n, f_test_0)
    m = 0 if cross is None else cross.shape[1]
    targets = per_run_rows(y, "y", n)
    classes = targets[0].shape[-1]
    runs = prepare_runs(n, learning_rate=learning_rate, seed=seed, batch_size=batch_size, replace=replace,
                        y=targets, f_train_0=per_run_rows(f_train_0, "f_train_0", n, classes),
                        f_test_0=per_run_rows(f_test_0, "f_test_0", m, classes))
    check_stable(runs.learning_rate, kernel_largest_eigenvalue(kernel), "k_train_train")
    recorded, train, test = simulate_kernel(
        squared_residual, kernel, runs, runs.values["y"], (), schedule, cross=cross,
        start=runs.values["f_train_0"], test_start=runs.values["f_test_0"])
    check_finite(runs.learning_rate, train, test)
    return Trajectory(recorded, train, test, None)


def _run_axis(array: np.ndarray | None) -> np.ndarray | None:
    return None if array is None else array[None]


def _first(array: np.ndarray | None) -> np.ndarray | None:
    return None if array is None else array[0]


def linear_gd(
    features_train,
    y,
    *,
    learning_rate: float,
    steps: int,
    record_every: int | None = 1,
    checkpoints=None,
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
    steps β ← β − η Σ_{i∈B_t} φ_i (n/b)(φ_iᵀβ − y_i). The factor n/b makes the batch gradient an unbiased
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
        record_every: record every k ≥ 1 steps (the final step is always recorded); None: only at
            ``checkpoints``.
        checkpoints: optional strictly increasing steps in [0, steps] to record as well.
        features_test: optional (m, p) test features Φ_test.
        weights_0: optional (p,) or (p, C) initial weights β₀ (trailing shape of ``y``; default zeros).
        batch_size: None for full batch, else b in [1, n] for minibatch SGD.
        seed: integer seed of the batch draws (SGD only); the same seed gives the same trajectory.
        replace: draw each step's batch with replacement (SGD only).

    Returns:
        ``Trajectory`` with ``weights`` (T, p[, C]), ``train`` = Φβ_t (T, n[, C]) and ``test`` = Φ_test β_t
        (T, m[, C]) or None.

    Raises:
        ValueError: non-finite inputs, mismatched shapes, no training points, learning_rate ≤ 0 or
            η λ_max ≥ 2, steps < 0, record_every < 1, batch_size outside [1, n], non-integer counts, records
            that would not fit in memory.
        FloatingPointError: the recorded weights or outputs are non-finite (e.g. SGD with small batches
            and a learning rate that is stable only for full-batch GD).
    """
    features = check_nonempty(as_array(features_train, "features_train", ndim=2), "features_train",
                              what="training point")
    n, p = features.shape
    targets = _targets(y, n, "features_train")
    rate = check_positive(learning_rate, "learning_rate")
    schedule = Schedule(steps, record_every, checkpoints)
    test_features = as_test_features(features_test, p)
    start = as_array(weights_0, "weights_0", shape=(p,) + targets.shape[1:], allow_none=True,
                     what="(p,) + y.shape[1:]")
    runs = prepare_runs(n, learning_rate=rate, seed=check_integer(seed, "seed", **SEED_RANGE),
                        batch_size=batch_size, replace=replace)
    check_stable(rate, gram_largest_eigenvalue(features), "the Gram matrix ΦΦᵀ of features_train")

    recorded, weights = simulate_linear(squared_residual, features, runs, _columns(targets)[None], (), schedule,
                                        start=_run_axis(_columns(start)))
    weights = weights[0]
    check_finite(rate, weights)
    train = features @ weights
    test = None if test_features is None else test_features @ weights
    check_finite(rate, train, test)
    trailing = targets.shape[1:]
    return Trajectory(recorded, _trailing(train, trailing), _trailing(test, trailing), _trailing(weights, trailing))
