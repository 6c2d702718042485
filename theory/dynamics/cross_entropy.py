"""Simulated training on softmax cross-entropy: kernel and linear models, GD and SGD, sweeps in one call.

There is no closed form for cross-entropy (SCIENCE.md §4), so this module takes the steps, in float64 JAX,
with the recording driver of :mod:`theory.dynamics` (``_recorded_run``: ``lax.scan`` over recorded chunks
around a ``lax.fori_loop``). Logits Z (n, C) of the training points; the summed loss is

    L(Z) = (1 − w) · s · Σ_i CE(q_i, softmax(z_i / τ)) + w · Σ_i CE(y_i, softmax(z_i)),
    CE(q, p) = −Σ_c q_c log p_c,

with ``targets`` Q (n, C) read at temperature τ, optional ``onehot_targets`` Y (n, C) read at τ = 1,
``onehot_weight`` w ∈ [0, 1] (default 0: the first term alone) and s = τ² when
``scale_by_temperature_squared`` (Hinton et al. 2015), else s = 1. Its gradient, row by row, is

    ∂L/∂z_i = (1 − w) · (s/τ) · (softmax(z_i/τ) − q_i) + w · (softmax(z_i) − y_i),

and training is function-space gradient descent on the logits, exactly as for the squared loss:

    Z ← Z − η K ∂L/∂Z(Z),     Z_test ← Z_test − η K_*ᵀ ∂L/∂Z(Z)     (kernel model, K (n, n), K_* (n, m)),
    β ← β − η Φᵀ ∂L/∂Z(Φβ)                                          (linear model f(x) = φ(x)ᵀβ),

which coincide when K = ΦΦᵀ and K_* = ΦΦ_testᵀ. Every row of ∂L/∂z_i sums to zero, so logits started
at zero stay centred over the classes.

Which losses this covers:

* one-hot training: ``targets`` = one-hot labels, τ = 1;
* distillation at temperature τ: ``targets`` = teacher probabilities softmax(Z_te / τ);
* a mixture with the *same* τ in both terms is one loss: CE against the mixed targets
  (1 − ξ)·Y + ξ·Q (:func:`distillation_targets`), since CE is linear in its targets;
* Hinton's mixture, one-hot at τ = 1 plus distillation at τ ≠ 1 (not one loss): ``targets`` = Q,
  ``onehot_targets`` = Y, ``onehot_weight`` = 1 − ξ, optionally with the τ² factor.

Temperature is a clock: with W = Z/τ the update reads W ← W − (η s/τ²) K (softmax(W) − Q), so a student at
temperature τ moves like a τ = 1 student with learning rate η s/τ², and its logits are τ W — read at τ = 1
it is *sharper* than its unit-temperature copy at the same W.

Minibatch SGD (``batch_size`` = b): step t draws B_t from ``fold_in(key(seed), t)`` (``theory.dynamics``'s
``_draw_batch``, so kernel and linear models, and the squared loss, draw the same batches for a seed) and
restricts the gradient to it, scaled by n/b: Z ← Z − η (n/b) K[:, B] ∂L/∂Z_B.

Sweeps: :func:`kernel_ce_gd_sweep` runs P independent runs (targets, initial logits, learning rates,
temperatures, weights and seeds may each differ per run) as one ``jax.vmap``-ed, jit-compiled simulation;
the shared kernel product becomes one (n × n)·(n × P·C) matrix product per step. Test logits are not
stepped: the kernel runs carry the dual coefficients A_t = Σ_{s<t} ∂L/∂Z_s (n, C) and the test logits are
Z_test,0 − η K_*ᵀ A_t at the recorded steps only.

Stability: each row's Hessian of CE(q, softmax(z/τ)) is (diag p − p pᵀ)/τ², whose eigenvalues lie in
[0, 1/2] (Gershgorin: row c sums to 2 p_c (1 − p_c) ≤ 1/2). The loss is therefore h-smooth in Z with
h = ½ ((1 − w) s/τ² + w) per unit of K, and GD decreases it whenever η λ_max(K) h < 2 (the descent lemma);
larger learning rates are refused with ``ValueError``. The bound is sufficient, not necessary: near
uniform outputs the curvature is 1/(C τ²), so larger steps may run, but nothing guarantees them.
"""
from __future__ import annotations

import functools
import numbers

import jax
import jax.numpy as jnp
import numpy as np

from .dynamics import Trajectory
from .dynamics import _as_cross_kernel
from .dynamics import _as_finite_array
from .dynamics import _as_kernel
from .dynamics import _check_integer
from .dynamics import _draw_batch
from .dynamics import _largest_eigenvalue
from .dynamics import _recorded_run
from .metrics import check_probabilities

__all__ = [
    "cross_entropy",
    "cross_entropy_gradient",
    "distillation_targets",
    "kernel_ce_gd",
    "kernel_ce_gd_sweep",
    "linear_ce_gd",
]


# --------------------------------------------------------------------------------------------------
# The loss and its gradient (jnp, float64 under x64; also used through the numpy wrappers below).


def _ce_residual(logits, targets, onehot_targets, temperature, onehot_weight, squared_scaling: bool):
    """∂L/∂Z: (1 − w)(s/τ)(softmax(Z/τ) − Q) + w (softmax(Z) − Y), with s/τ = τ (τ² scaling) or 1/τ."""
    soft_factor = temperature if squared_scaling else 1.0 / temperature
    soft = jax.nn.softmax(logits / temperature, axis=-1) - targets
    hard = jax.nn.softmax(logits, axis=-1) - onehot_targets
    return (1.0 - onehot_weight) * soft_factor * soft + onehot_weight * hard


def _ce_loss(logits, targets, onehot_targets, temperature, onehot_weight, squared_scaling: bool):
    """L(Z) of the module docstring, summed over points."""
    soft_factor = temperature**2 if squared_scaling else 1.0
    soft = -jnp.sum(targets * jax.nn.log_softmax(logits / temperature, axis=-1))
    hard = -jnp.sum(onehot_targets * jax.nn.log_softmax(logits, axis=-1))
    return (1.0 - onehot_weight) * soft_factor * soft + onehot_weight * hard


@functools.lru_cache(maxsize=None)
def _jitted(function):
    """``function`` compiled once per input shape (eager dispatch of each small op costs more than the op)."""
    return jax.jit(function, static_argnums=5)


# --------------------------------------------------------------------------------------------------
# Steppers: one run's step, vmapped over the P runs (the leading axis of state and per-run operands).


@functools.lru_cache(maxsize=None)
def _kernel_ce_step(batch_size: int | None, replace: bool, squared_scaling: bool):
    def one_run(state, step_index, kernel, per_run):
        logits, dual = state
        targets, onehot_targets, learning_rate, temperature, onehot_weight, key = per_run
        loss = (temperature, onehot_weight, squared_scaling)
        if batch_size is None:
            gradient = _ce_residual(logits, targets, onehot_targets, *loss)
            return logits - learning_rate * (kernel @ gradient), dual + gradient
        n = logits.shape[0]
        batch = _draw_batch(key, step_index, n, batch_size, replace)
        gradient = (n / batch_size) * _ce_residual(logits[batch], targets[batch], onehot_targets[batch], *loss)
        return logits - learning_rate * (kernel[:, batch] @ gradient), dual.at[batch].add(gradient)

    runs = jax.vmap(one_run, in_axes=(0, None, None, 0))
    return lambda state, step_index, operands: runs(state, step_index, *operands)


@functools.lru_cache(maxsize=None)
def _linear_ce_step(batch_size: int | None, replace: bool, squared_scaling: bool):
    def one_run(weights, step_index, features, per_run):
        targets, onehot_targets, learning_rate, temperature, onehot_weight, key = per_run
        loss = (temperature, onehot_weight, squared_scaling)
        if batch_size is not None:
            n = features.shape[0]
            batch = _draw_batch(key, step_index, n, batch_size, replace)
            features, targets, onehot_targets = features[batch], targets[batch], onehot_targets[batch]
            learning_rate = learning_rate * (n / batch_size)
        return weights - learning_rate * (features.T @ _ce_residual(features @ weights, targets, onehot_targets, *loss))

    runs = jax.vmap(one_run, in_axes=(0, None, None, 0))
    return lambda state, step_index, operands: runs(state, step_index, *operands)


# --------------------------------------------------------------------------------------------------
# Validation: per-run arguments share one leading run axis P (or are shared by every run).


def _run_count(named_counts) -> int:
    """The common number of runs P of the batched arguments; unbatched ones (None) broadcast."""
    counts = {name: count for name, count in named_counts if count is not None}
    distinct = set(counts.values())
    if len(distinct) > 1:
        listed = ", ".join(f"{name}: {count}" for name, count in counts.items())
        raise ValueError(f"per-run arguments disagree on the number of runs P ({listed}); give each either "
                         "unbatched or with the same leading length P")
    return distinct.pop() if distinct else 1


def _per_run_scalar(name: str, value, *, integer: bool = False) -> tuple[np.ndarray, int | None]:
    """A scalar or a 1-D (P,) array; returns (values, P or None for a scalar)."""
    array = np.asarray(value)
    if array.dtype == bool or not (np.issubdtype(array.dtype, np.integer)
                                   or (not integer and np.issubdtype(array.dtype, np.floating))):
        kind = "integers" if integer else "real numbers"
        raise ValueError(f"{name} must be {kind} (a scalar or a 1-D array, one per run), got {value!r}")
    if array.ndim > 1:
        raise ValueError(f"{name} must be a scalar or a 1-D array (one value per run), got shape {array.shape}")
    if not integer and not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return array, (None if array.ndim == 0 else array.shape[0])


def _per_run_rows(name: str, value, rows: int, columns: int | None, *, probabilities: bool):
    """(rows, C) or (P, rows, C), finite (probability rows when asked); returns (array, P or None)."""
    array = _as_finite_array(name, value, (2, 3))
    if array.shape[-2] != rows or (columns is not None and array.shape[-1] != columns):
        wanted = f"({rows}, {'C' if columns is None else columns})"
        raise ValueError(f"{name} has shape {array.shape}; it must be {wanted} or (P,) + {wanted}")
    if probabilities:
        check_probabilities(array.reshape(-1, array.shape[-1]), name)
    return array, (None if array.ndim == 2 else array.shape[0])


def _check_flag(name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _broadcast(array: np.ndarray, runs: int, trailing_ndim: int) -> np.ndarray:
    """Give ``array`` the leading run axis P (a copy-free view when it is shared)."""
    if array.ndim == trailing_ndim:
        array = array[None]
    return np.broadcast_to(array, (runs,) + array.shape[1:])


def _prepare(rows: int, targets, *, learning_rate, temperature, scale_by_temperature_squared, onehot_targets,
             onehot_weight, seed, batch_size, replace, steps, record_every, initials=()):
    """Validate everything the simulations share; broadcast per-run values to the P runs.

    ``initials`` lists ``(name, value, rows)`` of initial arrays ((rows, C) or (P, rows, C), or None).
    Returns ``(per_run, starts, runs, classes, batch_size, replace, squared_scaling, steps, record_every)``
    with ``starts`` the initial arrays broadcast to (P, rows, C) (None stays None).
    """
    targets, targets_runs = _per_run_rows("targets", targets, rows, None, probabilities=True)
    classes = targets.shape[-1]
    if classes < 2:
        raise ValueError(f"targets must have C >= 2 classes (columns) for a softmax, got C = {classes}")
    rates, rates_runs = _per_run_scalar("learning_rate", learning_rate)
    if np.any(rates <= 0):
        raise ValueError(f"learning_rate must be finite and > 0, got {learning_rate!r}")
    temperatures, temperatures_runs = _per_run_scalar("temperature", temperature)
    if np.any(temperatures <= 0):
        raise ValueError(f"temperature must be finite and > 0 (τ in softmax(z/τ)), got {temperature!r}")
    weights, weights_runs = _per_run_scalar("onehot_weight", onehot_weight)
    if np.any((weights < 0) | (weights > 1)):
        raise ValueError(f"onehot_weight must lie in [0, 1] (outside it the loss is unbounded below), "
                         f"got {onehot_weight!r}")
    if onehot_targets is None:
        if np.any(weights != 0):
            raise ValueError("onehot_weight > 0 needs onehot_targets (n, C): the labels of the τ = 1 term")
        hard, hard_runs = np.zeros(targets.shape[-2:]), None  # multiplied by w = 0: no contribution
    else:
        hard, hard_runs = _per_run_rows("onehot_targets", onehot_targets, rows, classes, probabilities=True)
    seeds, seeds_runs = _per_run_scalar("seed", seed, integer=True)
    counts = [("targets", targets_runs), ("onehot_targets", hard_runs), ("learning_rate", rates_runs),
              ("temperature", temperatures_runs), ("onehot_weight", weights_runs), ("seed", seeds_runs)]
    starts = []
    for name, value, initial_rows in initials:
        start, start_runs = (None, None) if value is None else _per_run_rows(
            name, value, initial_rows, classes, probabilities=False)
        starts.append(start)
        counts.append((name, start_runs))
    runs = _run_count(counts)
    if batch_size is not None:
        batch_size = _check_integer("batch_size", batch_size, 1, rows)
    squared_scaling = _check_flag("scale_by_temperature_squared", scale_by_temperature_squared)
    per_run = dict(
        targets=_broadcast(targets, runs, 2), onehot_targets=_broadcast(hard, runs, 2),
        learning_rate=np.broadcast_to(rates.astype(np.float64), (runs,)),
        temperature=np.broadcast_to(temperatures.astype(np.float64), (runs,)),
        onehot_weight=np.broadcast_to(weights.astype(np.float64), (runs,)),
        seed=np.broadcast_to(seeds.astype(np.int64), (runs,)),
    )
    # curvature bound h per unit of K (module docstring): η λ_max h < 2 guarantees descent
    soft_factor = 1.0 if squared_scaling else 1.0 / per_run["temperature"] ** 2
    per_run["curvature"] = 0.5 * ((1.0 - per_run["onehot_weight"]) * soft_factor + per_run["onehot_weight"])
    starts = [None if start is None else _broadcast(start, runs, 2) for start in starts]
    return (per_run, starts, runs, classes, batch_size, _check_flag("replace", replace), squared_scaling,
            _check_integer("steps", steps, 0), _check_integer("record_every", record_every, 1))


def _check_ce_stable(per_run: dict, largest_eigenvalue: float, matrix: str):
    products = per_run["learning_rate"] * largest_eigenvalue * per_run["curvature"]
    if np.any(products >= 2):
        run = int(np.argmax(products))
        limit = 2 / (largest_eigenvalue * per_run["curvature"][run])
        raise ValueError(
            f"learning_rate={per_run['learning_rate'][run]:g} (run {run}) is unsafe for cross-entropy: "
            f"η·λ_max·h = {products[run]:.4g} with λ_max ≈ {largest_eigenvalue:.6g} of {matrix} and curvature "
            f"bound h = {per_run['curvature'][run]:.4g} (temperature {per_run['temperature'][run]:g}, "
            f"onehot_weight {per_run['onehot_weight'][run]:g}); gradient descent is guaranteed to decrease the "
            f"loss only for η·λ_max·h < 2, so use learning_rate < {limit:.6g}"
        )


def _operands(per_run: dict):
    """The per-run operand tuple of the steppers (keys built under x64 by the caller)."""
    keys = jax.vmap(jax.random.key)(jnp.asarray(per_run["seed"]))
    return (per_run["targets"], per_run["onehot_targets"], per_run["learning_rate"], per_run["temperature"],
            per_run["onehot_weight"], keys)


def _check_finite(*arrays):
    if not all(np.all(np.isfinite(array)) for array in arrays if array is not None):
        raise FloatingPointError("the cross-entropy simulation produced non-finite logits; lower learning_rate")


# --------------------------------------------------------------------------------------------------
# Public API.


def cross_entropy(logits, targets, *, temperature: float = 1.0, scale_by_temperature_squared: bool = False,
                  onehot_targets=None, onehot_weight: float = 0.0) -> float:
    """The summed loss L(Z) that :func:`kernel_ce_gd` descends (see the module docstring).

        L(Z) = (1 − w) s Σ_i CE(q_i, softmax(z_i/τ)) + w Σ_i CE(y_i, softmax(z_i)),   s = τ² or 1.

    Example:
        >>> import numpy as np
        >>> round(cross_entropy(np.zeros((2, 2)), np.array([[1.0, 0.0], [0.5, 0.5]])), 6)  # 2 log 2
        1.386294

    Args:
        logits: (n, C) logits Z.
        targets: (n, C) probabilities Q, read at temperature τ.
        temperature: τ > 0.
        scale_by_temperature_squared: multiply the Q term by τ² (Hinton et al. 2015).
        onehot_targets: optional (n, C) probabilities Y of the τ = 1 term.
        onehot_weight: w ∈ [0, 1]; > 0 needs ``onehot_targets``.

    Returns:
        float, the summed loss in nats.

    Raises:
        ValueError: non-finite logits, targets that are not probabilities, shape mismatches, τ ≤ 0,
            w outside [0, 1].
    """
    arguments = _scalar_call_arguments(logits, targets, temperature, scale_by_temperature_squared,
                                       onehot_targets, onehot_weight)
    with jax.enable_x64(True):
        return float(_jitted(_ce_loss)(*arguments))


def cross_entropy_gradient(logits, targets, *, temperature: float = 1.0, scale_by_temperature_squared: bool = False,
                           onehot_targets=None, onehot_weight: float = 0.0) -> np.ndarray:
    """∂L/∂Z of :func:`cross_entropy`, in closed form (the residual the simulations apply).

        ∂L/∂z_i = (1 − w)(s/τ)(softmax(z_i/τ) − q_i) + w (softmax(z_i) − y_i).

    Example:
        >>> import numpy as np
        >>> cross_entropy_gradient(np.zeros((1, 2)), np.array([[1.0, 0.0]])).tolist()
        [[-0.5, 0.5]]

    Args:
        logits, targets, temperature, scale_by_temperature_squared, onehot_targets, onehot_weight: as
            :func:`cross_entropy`.

    Returns:
        (n, C) float64 gradient; each row sums to 0.

    Raises:
        ValueError: as :func:`cross_entropy`.
    """
    arguments = _scalar_call_arguments(logits, targets, temperature, scale_by_temperature_squared,
                                       onehot_targets, onehot_weight)
    with jax.enable_x64(True):
        return np.asarray(_jitted(_ce_residual)(*arguments), dtype=np.float64)


def _scalar_call_arguments(logits, targets, temperature, scale_by_temperature_squared, onehot_targets,
                           onehot_weight):
    """Validated ``_ce_loss`` / ``_ce_residual`` arguments of one set of (n, C) logits."""
    logits = _as_finite_array("logits", logits, (2,))
    per_run, _, runs, *_ = _prepare(
        logits.shape[0], targets, learning_rate=1.0, temperature=temperature,
        scale_by_temperature_squared=scale_by_temperature_squared, onehot_targets=onehot_targets,
        onehot_weight=onehot_weight, seed=0, batch_size=None, replace=False, steps=0, record_every=1,
        initials=[("logits", logits, logits.shape[0])])
    if runs != 1:
        raise ValueError("targets, onehot_targets, temperature and onehot_weight must not carry a run axis here "
                         "(one set of logits)")
    return (logits, per_run["targets"][0], per_run["onehot_targets"][0], per_run["temperature"][0],
            per_run["onehot_weight"][0], bool(scale_by_temperature_squared))


def distillation_targets(labels_one_hot, teacher_probs, teacher_weight: float) -> np.ndarray:
    """Mixed targets (1 − ξ)·Y + ξ·Q of a same-temperature mixture of one-hot and distillation losses.

    CE is linear in its targets, so (1 − ξ) CE(Y, p) + ξ CE(Q, p) = CE((1 − ξ)Y + ξQ, p): a mixture whose
    two terms use the same temperature is cross-entropy against these targets. (Hinton's mixture, with the
    one-hot term at τ = 1 and the teacher's at τ ≠ 1, is not one loss: use ``onehot_targets`` and
    ``onehot_weight = 1 − ξ`` of :func:`kernel_ce_gd` instead.)

    Example:
        >>> import numpy as np
        >>> distillation_targets(np.array([[1.0, 0.0]]), np.array([[0.6, 0.4]]), 0.5).tolist()
        [[0.8, 0.2]]

    Args:
        labels_one_hot: (n, C) one-hot labels Y (any probabilities are accepted, e.g. smoothed labels).
        teacher_probs: (n, C) teacher probabilities Q, e.g. softmax(Z_te / τ).
        teacher_weight: ξ ∈ [0, 1]; 0 = labels only, 1 = teacher only. Outside [0, 1] the targets have
            negative entries and cross-entropy is unbounded below, so it is refused.

    Returns:
        (n, C) float64 probabilities.

    Raises:
        ValueError: inputs that are not probabilities, different shapes, ξ outside [0, 1].
    """
    labels = check_probabilities(labels_one_hot, "labels_one_hot")
    teacher = check_probabilities(teacher_probs, "teacher_probs")
    if teacher.shape != labels.shape:
        raise ValueError(f"teacher_probs has shape {teacher.shape}; it must match labels_one_hot {labels.shape}")
    if isinstance(teacher_weight, bool) or not isinstance(teacher_weight, numbers.Real) \
            or not 0 <= teacher_weight <= 1:
        raise ValueError(f"teacher_weight must be a real number in [0, 1], got {teacher_weight!r}")
    return (1.0 - teacher_weight) * labels + teacher_weight * teacher


def kernel_ce_gd_sweep(
    k_train_train,
    targets,
    *,
    learning_rate,
    steps: int,
    record_every: int = 1,
    k_train_test=None,
    f_train_0=None,
    f_test_0=None,
    temperature=1.0,
    scale_by_temperature_squared: bool = False,
    onehot_targets=None,
    onehot_weight=0.0,
    batch_size: int | None = None,
    seed=0,
    replace: bool = False,
) -> Trajectory:
    """P kernel cross-entropy runs in one vmapped, jit-compiled simulation, recording logits.

    Each run p is :func:`kernel_ce_gd` with its own targets, initial logits, learning rate, temperature,
    one-hot weight and seed; an argument given without the run axis is shared by all runs. For a grid of
    hyper-parameters, flatten it: ``lr, tau = np.meshgrid(rates, temperatures); lr.ravel(), tau.ravel()``.
    All runs take the same number of ``steps`` and record at the same steps.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(6, 2))
        >>> labels = np.eye(3)[[0, 1, 2, 0, 1, 2]]
        >>> sweep = kernel_ce_gd_sweep(x @ x.T, labels, learning_rate=0.1, temperature=[1.0, 2.0, 4.0],
        ...                            steps=20, record_every=10)
        >>> sweep.train.shape  # (P runs, recorded steps, n, C)
        (3, 3, 6, 3)

    Args:
        k_train_train: (n, n) symmetric PSD kernel K.
        targets: (n, C) or (P, n, C) probabilities Q (one-hot labels, teacher probabilities, mixtures).
        learning_rate: η > 0, scalar or (P,), with η λ_max(K) h < 2 (module docstring).
        steps: number of steps t ≥ 0 (shared).
        record_every: record every k ≥ 1 steps (the final step is always recorded).
        k_train_test: optional (n, m) train–test kernel K_*.
        f_train_0: optional (n, C) or (P, n, C) initial logits (default zeros).
        f_test_0: optional (m, C) or (P, m, C) initial test logits (default zeros); needs ``k_train_test``.
        temperature: τ > 0, scalar or (P,).
        scale_by_temperature_squared: multiply the ``targets`` term by τ² (shared by all runs).
        onehot_targets: optional (n, C) or (P, n, C) probabilities of the τ = 1 term.
        onehot_weight: w ∈ [0, 1], scalar or (P,); > 0 needs ``onehot_targets``.
        batch_size: None for full batch, else b in [1, n] for minibatch SGD (shared).
        seed: integer seed of the batch draws (SGD only), scalar or (P,).
        replace: draw batches with replacement (SGD only).

    Returns:
        ``Trajectory`` with ``steps`` (R,), ``train`` (P, R, n, C), ``test`` (P, R, m, C) or None,
        ``weights`` None.

    Raises:
        ValueError: non-finite inputs, mismatched shapes or run counts, non-symmetric K, targets that are
            not probabilities, C < 2, learning_rate ≤ 0 or η λ_max h ≥ 2, temperature ≤ 0, onehot_weight
            outside [0, 1] or > 0 without onehot_targets, bad counts.
        FloatingPointError: non-finite recorded logits.
    """
    kernel = _as_kernel(k_train_train)
    n = kernel.shape[0]
    cross = _as_cross_kernel(k_train_test, n, f_test_0)
    m = 0 if cross is None else cross.shape[1]
    per_run, (start, test_start), runs, classes, batch_size, replace, squared, steps, record_every = _prepare(
        n, targets, learning_rate=learning_rate, temperature=temperature,
        scale_by_temperature_squared=scale_by_temperature_squared, onehot_targets=onehot_targets,
        onehot_weight=onehot_weight, seed=seed, batch_size=batch_size, replace=replace, steps=steps,
        record_every=record_every, initials=[("f_train_0", f_train_0, n), ("f_test_0", f_test_0, m)])
    _check_ce_stable(per_run, _largest_eigenvalue(lambda: kernel, lambda v: kernel @ v, n), "k_train_train")

    logits_0 = np.zeros((runs, n, classes)) if start is None else np.array(start)
    state = (logits_0, np.zeros((runs, n, classes)))
    with jax.enable_x64(True):
        recorded, (train, dual) = _recorded_run(
            _kernel_ce_step(batch_size, replace, squared), state, (kernel, _operands(per_run)),
            steps=steps, record_every=record_every)
    train, dual = np.moveaxis(train, 0, 1), np.moveaxis(dual, 0, 1)  # (P, R, n, C)
    test = None
    if cross is not None:
        # Z_test = Z_test,0 − η K_*ᵀ A: one (m, n) × (n, P·R·C) product for every run and recorded step
        moved = cross.T @ np.moveaxis(dual, 2, 0).reshape(n, -1)
        test = -per_run["learning_rate"][:, None, None, None] * np.moveaxis(
            moved.reshape((m,) + dual.shape[:2] + (classes,)), 0, 2)
        if test_start is not None:
            test = test + test_start[:, None]
    _check_finite(train, test)
    return Trajectory(recorded, train, test, None)


def kernel_ce_gd(k_train_train, targets, *, learning_rate: float, steps: int, record_every: int = 1,
                 k_train_test=None, f_train_0=None, f_test_0=None, temperature: float = 1.0,
                 scale_by_temperature_squared: bool = False, onehot_targets=None, onehot_weight: float = 0.0,
                 batch_size: int | None = None, seed: int = 0, replace: bool = False) -> Trajectory:
    """Function-space gradient descent of a kernel model's logits on softmax cross-entropy.

        Z ← Z − η K ∂L/∂Z,   ∂L/∂z_i = (1 − w)(s/τ)(softmax(z_i/τ) − q_i) + w (softmax(z_i) − y_i)

    (module docstring; SCIENCE.md §4). With one-hot ``targets`` and τ = 1 this is one-hot training; with
    ``targets`` = softmax(Z_te/τ) it is distillation at temperature τ.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(6, 2))
        >>> labels = np.eye(2)[[0, 1, 0, 1, 0, 1]]
        >>> run = kernel_ce_gd(x @ x.T, labels, learning_rate=0.1, steps=100, record_every=50)
        >>> run.steps.tolist(), run.train.shape
        ([0, 50, 100], (3, 6, 2))

    Args:
        k_train_train: (n, n) symmetric PSD kernel K.
        targets: (n, C) probabilities Q.
        learning_rate: η > 0 with η λ_max(K) h < 2 (h: the curvature bound of the module docstring).
        steps: number of steps t ≥ 0.
        record_every: record every k ≥ 1 steps (the final step is always recorded).
        k_train_test: optional (n, m) train–test kernel K_*.
        f_train_0: optional (n, C) initial logits (default zeros).
        f_test_0: optional (m, C) initial test logits (default zeros); needs ``k_train_test``.
        temperature: τ > 0 of the ``targets`` term.
        scale_by_temperature_squared: multiply the ``targets`` term by τ².
        onehot_targets: optional (n, C) probabilities Y of a τ = 1 term.
        onehot_weight: w ∈ [0, 1] of the τ = 1 term (> 0 needs ``onehot_targets``).
        batch_size: None for full batch, else b in [1, n]: gradient on b points, scaled by n/b.
        seed: integer seed of the batch draws (SGD only).
        replace: draw batches with replacement (SGD only).

    Returns:
        ``Trajectory`` with ``train`` (R, n, C) logits, ``test`` (R, m, C) or None, ``weights`` None.

    Raises:
        ValueError, FloatingPointError: as :func:`kernel_ce_gd_sweep`, and for any per-run axis.
    """
    for name, value, ndim in (("targets", targets, 2), ("f_train_0", f_train_0, 2), ("f_test_0", f_test_0, 2),
                              ("onehot_targets", onehot_targets, 2), ("learning_rate", learning_rate, 0),
                              ("temperature", temperature, 0), ("onehot_weight", onehot_weight, 0),
                              ("seed", seed, 0)):
        if value is not None and np.ndim(value) != ndim:
            raise ValueError(f"{name} must be {ndim}-D for a single run, got shape {np.shape(value)} "
                             "(use kernel_ce_gd_sweep for a run axis)")
    sweep = kernel_ce_gd_sweep(
        k_train_train, targets, learning_rate=learning_rate, steps=steps, record_every=record_every,
        k_train_test=k_train_test, f_train_0=f_train_0, f_test_0=f_test_0, temperature=temperature,
        scale_by_temperature_squared=scale_by_temperature_squared, onehot_targets=onehot_targets,
        onehot_weight=onehot_weight, batch_size=batch_size, seed=seed, replace=replace)
    return Trajectory(sweep.steps, sweep.train[0], None if sweep.test is None else sweep.test[0], None)


def linear_ce_gd(features_train, targets, *, learning_rate: float, steps: int, record_every: int = 1,
                 features_test=None, weights_0=None, temperature: float = 1.0,
                 scale_by_temperature_squared: bool = False, onehot_targets=None, onehot_weight: float = 0.0,
                 batch_size: int | None = None, seed: int = 0, replace: bool = False) -> Trajectory:
    """(Minibatch) gradient descent of a linear model's weights on softmax cross-entropy.

        β ← β − η Φᵀ ∂L/∂Z(Φβ)                    (full batch),
        β ← β − η (n/b) Φ_Bᵀ ∂L/∂Z_B(Φ_B β)       (a batch B of b points),

    which is :func:`kernel_ce_gd` with K = ΦΦᵀ and K_* = ΦΦ_testᵀ (the same batches for the same seed).

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(8, 3))
        >>> labels = np.eye(2)[(x[:, 0] > 0).astype(int)]
        >>> run = linear_ce_gd(x, labels, learning_rate=0.05, steps=200, record_every=100)
        >>> run.weights.shape, bool(run.weights[-1, 0, 1] > run.weights[-1, 0, 0])
        ((3, 3, 2), True)

    Args:
        features_train: (n, p) features Φ.
        targets: (n, C) probabilities Q.
        learning_rate: η > 0 with η λ_max(ΦΦᵀ) h < 2.
        steps, record_every: as :func:`kernel_ce_gd`.
        features_test: optional (m, p) test features.
        weights_0: optional (p, C) initial weights (default zeros).
        temperature, scale_by_temperature_squared, onehot_targets, onehot_weight, batch_size, seed, replace:
            as :func:`kernel_ce_gd`.

    Returns:
        ``Trajectory`` with ``weights`` (R, p, C), ``train`` = Φβ (R, n, C), ``test`` (R, m, C) or None.

    Raises:
        ValueError: as :func:`kernel_ce_gd`, and features_test with a different p.
        FloatingPointError: non-finite weights.
    """
    features = _as_finite_array("features_train", features_train, (2,))
    n, p = features.shape
    test_features = _as_finite_array("features_test", features_test, (2,))
    if test_features is not None and test_features.shape[1] != p:
        raise ValueError(f"features_test must be (m, p) with p = {p} columns like features_train, "
                         f"got shape {test_features.shape}")
    for name, value in (("targets", targets), ("weights_0", weights_0), ("onehot_targets", onehot_targets)):
        if value is not None and np.ndim(value) != 2:
            raise ValueError(f"{name} must be 2-D, got shape {np.shape(value)}")
    per_run, (start,), runs, classes, batch_size, replace, squared, steps, record_every = _prepare(
        n, targets, learning_rate=learning_rate, temperature=temperature,
        scale_by_temperature_squared=scale_by_temperature_squared, onehot_targets=onehot_targets,
        onehot_weight=onehot_weight, seed=seed, batch_size=batch_size, replace=replace, steps=steps,
        record_every=record_every, initials=[("weights_0", weights_0, p)])
    if runs != 1:
        raise ValueError("linear_ce_gd takes scalar learning_rate, temperature, onehot_weight and seed")
    if p <= n:  # λ_max(ΦΦᵀ) = λ_max(ΦᵀΦ): work on the smaller side
        top = _largest_eigenvalue(lambda: features.T @ features, lambda v: features.T @ (features @ v), p)
    else:
        top = _largest_eigenvalue(lambda: features @ features.T, lambda v: features @ (features.T @ v), n)
    _check_ce_stable(per_run, top, "the Gram matrix ΦΦᵀ of features_train")
    state = np.zeros((1, p, classes)) if start is None else np.array(start)
    with jax.enable_x64(True):
        recorded, weights = _recorded_run(_linear_ce_step(batch_size, replace, squared), state,
                                          (features, _operands(per_run)), steps=steps, record_every=record_every)
    weights = weights[:, 0]
    train = features @ weights
    test = None if test_features is None else test_features @ weights
    _check_finite(weights, train, test)
    return Trajectory(recorded, train, test, weights)
