"""Kernel cross-entropy dynamics on a *given* minibatch sequence, with a traced or a full C × C kernel.

The linearised network f_lin(x; θ) = f(x; θ₀) + J(x)(θ − θ₀) trained by SGD on the batch-mean loss with step
η_net moves its logits exactly by Z ← Z − (η_net/b) Θ[:, B] ∂L/∂Z_B, with Θ the empirical NTK at θ₀ with its
output blocks, Θ(x, x′) = J(x) J(x′)ᵀ ∈ R^{C × C} (docs/linearised.md). This module runs that recursion for a
batch sequence the caller gives (a network's own), in the convention of :mod:`theory.dynamics.cross_entropy_gd`
(the summed loss, the batch gradient scaled by n/b, so η = η_net / n):

    U ← (n/b) Θ[:, B_t] ∂L/∂Z_{B_t} + μ U,      Z ← Z − η_t U,

with heavy-ball momentum μ in optax's convention (v ← g + μ v, θ ← θ − η v; μ = 0 is plain SGD) and a
per-step learning rate η_t (a schedule), both exact for the linearised network. The kernel is either

* full, ``(n, n, C, C)``: Θ[i, j] = J(x_i) J(x_j)ᵀ (``empirical_ntk(..., trace_outputs=False)``): exact;
* traced, ``(n, n)``: (1/C) tr Θ, used as Θ ⊗ I_C (the infinite-width form; at finite width an approximation).

Test logits are not stepped: the dual coefficients A = Σ_t η_t (n/b) e_{B_t} ∂L/∂Z_{B_t} (with momentum, the
dual velocity) give Z_test = Z_test,0 − Σ_j Θ(x_j, x_test)ᵀ A_j at the recorded steps.

The loss is :mod:`theory.dynamics.cross_entropy`'s (τ, the τ² factor, a one-hot term at τ = 1 with weight w),
its targets and teacher temperature validated there (``prepare``).
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import as_array, check_integer, check_nonempty, check_nonnegative, check_real
from ._validate import check_finite
from .cross_entropy import ce_gradient, prepare
from .driver import Run, Schedule, simulate
from .models import Trajectory

__all__ = ["kernel_ce_replay"]


def _as_replay_kernel(kernel, name: str, rows: int | None = None) -> np.ndarray:
    """An (n, m) traced or (n, m, C, C) full kernel, finite float64, with ``rows`` rows when given."""
    kernel = as_array(kernel, name, ndim=(2, 4), what="(n, m) traced or (n, m, C, C) with output blocks")
    check_nonempty(kernel, name, what="training point")
    if rows is not None and kernel.shape[0] != rows:
        raise ValueError(f"{name} must have n = {rows} rows (the training points of k_train_train), "
                         f"got shape {kernel.shape}.")
    if kernel.ndim == 4 and kernel.shape[2] != kernel.shape[3]:
        raise ValueError(f"{name} must have square output blocks (n, m, C, C), got shape {kernel.shape}.")
    return kernel


@functools.lru_cache(maxsize=None)
def _replay_step(full: bool):
    """The step on (Z, U, A, V): outputs, their velocity, the dual coefficients and their velocity."""

    def step(state, step_index, shared, run):
        outputs, velocity, dual, dual_velocity = state
        kernel, batches, rates, momentum = shared
        batch = batches[step_index]
        n, size = outputs.shape[0], batch.shape[0]
        change = (n / size) * ce_gradient(outputs[batch], jax.tree_util.tree_map(lambda a: a[batch], run.targets),
                                          run.loss)
        columns = kernel[:, batch]
        moved = jnp.einsum("ibce,be->ic", columns, change) if full else columns @ change
        velocity = moved + momentum * velocity
        dual_velocity = (momentum * dual_velocity).at[batch].add(change)
        rate = rates[step_index]
        return outputs - rate * velocity, velocity, dual + rate * dual_velocity, dual_velocity

    return step


def _outputs_and_dual(state, shared, run):
    return state[0], state[2]


def kernel_ce_replay(k_train_train, batches, targets=None, *, learning_rate, momentum: float = 0.0,
                     checkpoints=None, k_train_test=None, f_train_0=None, f_test_0=None,
                     temperature: float = 1.0, scale_by_temperature_squared: bool = False, onehot_targets=None,
                     onehot_weight: float = 0.0, teacher_logits=None, targets_temperature=None) -> Trajectory:
    """Kernel cross-entropy SGD replaying the minibatches ``batches`` (module docstring).

        U ← (n/b) Θ[:, B_t] ∂L/∂Z_{B_t} + μ U,   Z ← Z − η_t U,
        ∂L/∂z_i = (1 − w)(s/τ)(softmax(z_i/τ) − q_i) + w (softmax(z_i) − y_i).

    To predict a network trained with step η_net on the batch *mean* loss, pass η = η_net / n.

    Example: on the full kernel of a linear model f(x) = x W (Θ(x, x′) = x·x′ I_C) the replay equals the
    traced one:

        >>> x = np.random.default_rng(0).normal(size=(6, 2)); labels = np.eye(3)[[0, 1, 2, 0, 1, 2]]
        >>> full = (x @ x.T)[:, :, None, None] * np.eye(3)
        >>> batches = np.array([[0, 1], [2, 3], [4, 5]] * 2)
        >>> a = kernel_ce_replay(full, batches, labels, learning_rate=0.1).train[-1]
        >>> b = kernel_ce_replay(x @ x.T, batches, labels, learning_rate=0.1).train[-1]
        >>> bool(np.allclose(a, b, rtol=1e-12, atol=1e-12)), a.shape
        (True, (6, 3))

    Args:
        k_train_train: (n, n) traced kernel, or (n, n, C, C) with output blocks Θ[i, j] = J(x_i) J(x_j)ᵀ.
        batches: (T, b) integer indices in [0, n): the batch of each of the T steps.
        targets: (n, C) probabilities Q (at τ ≠ 1 declared with ``targets_temperature``), or None with
            ``teacher_logits``.
        learning_rate: η ≥ 0, a scalar or (T,) one per step (a schedule; 0 at the start of a warm-up).
        momentum: μ in [0, 1) (heavy ball, optax/PyTorch convention).
        checkpoints: strictly increasing steps in [0, T] to record (default ``(0, T)``).
        k_train_test: optional (n, m) or (n, m, C, C) kernel between training and test points (the same kind
            as ``k_train_train``).
        f_train_0, f_test_0: initial logits (n, C) and (m, C) (default zeros; ``f_test_0`` needs
            ``k_train_test``).
        temperature, scale_by_temperature_squared, onehot_targets, onehot_weight, teacher_logits,
            targets_temperature: the loss, as :func:`theory.dynamics.kernel_ce_gd`.

    Returns:
        ``Trajectory`` with ``steps`` (R,), ``train`` (R, n, C), ``test`` (R, m, C) or None, ``weights`` None.

    Raises:
        ValueError: bad shapes, indices outside [0, n), ragged or empty batches, η < 0, μ outside [0, 1),
            and the loss's own checks (:func:`theory.dynamics.cross_entropy.prepare`).
        FloatingPointError: the replay diverged.
    """
    kernel = _as_replay_kernel(k_train_train, "k_train_train")
    n = kernel.shape[0]
    if kernel.shape[1] != n:
        raise ValueError(f"k_train_train must be (n, n) or (n, n, C, C), got shape {kernel.shape}.")
    full = kernel.ndim == 4
    order = as_array(batches, "batches", ndim=2, dtype=None, what="(T steps, b points per batch)")
    if not np.issubdtype(order.dtype, np.integer):
        raise ValueError(f"batches must be integer indices, got dtype {order.dtype}.")
    if order.shape[1] == 0 or (order.size and (order.min() < 0 or order.max() >= n)):
        raise ValueError(f"batches must hold b >= 1 indices per step in [0, n) = [0, {n}), got shape "
                         f"{order.shape} with values in [{order.min(initial=0)}, {order.max(initial=0)}].")
    steps = order.shape[0]
    rates = as_array(learning_rate, "learning_rate", ndim=(0, 1))
    rates = np.broadcast_to(rates, (steps,)) if rates.ndim == 0 else rates
    if rates.shape != (steps,):
        raise ValueError(f"learning_rate must be a scalar or one value per step ({steps},), got shape {rates.shape}.")
    for rate in np.unique(rates):
        check_nonnegative(float(rate), "learning_rate")  # a warm-up starts at 0: a step that does nothing
    momentum = check_real(momentum, "momentum", low=0.0, high=1.0, high_open=True)
    cross = None if k_train_test is None else _as_replay_kernel(k_train_test, "k_train_test", rows=n)
    if cross is not None and cross.ndim != kernel.ndim:
        raise ValueError(f"k_train_test must be of the kind of k_train_train ({'full' if full else 'traced'}), "
                         f"got shape {cross.shape}.")
    if f_test_0 is not None and cross is None:
        raise ValueError("f_test_0 was given without k_train_test; pass k_train_test as well")
    m = 0 if cross is None else cross.shape[1]
    setup = prepare(n, targets, learning_rate=1.0, temperature=temperature,
                    scale_by_temperature_squared=scale_by_temperature_squared, onehot_targets=onehot_targets,
                    onehot_weight=onehot_weight, initials={"f_train_0": (f_train_0, n), "f_test_0": (f_test_0, m)},
                    teacher_logits=teacher_logits, targets_temperature=targets_temperature)
    if setup.runs.count != 1:
        raise ValueError("kernel_ce_replay is one run: targets, temperature and onehot_weight take no run axis")
    classes = setup.classes
    if full and kernel.shape[2] != classes:
        raise ValueError(f"k_train_train has {kernel.shape[2]} × {kernel.shape[3]} output blocks but the targets "
                         f"have C = {classes} classes.")
    first = functools.partial(jax.tree_util.tree_map, lambda leaf: np.asarray(leaf[0]))
    start = setup.runs.values["f_train_0"]
    outputs = np.zeros((n, classes)) if start is None else np.array(start[0], dtype=np.float64)
    marks = (0, steps) if checkpoints is None else tuple(np.atleast_1d(checkpoints).tolist())
    for mark in marks:
        check_integer(mark, "checkpoints", minimum=0, maximum=steps)
    schedule = Schedule(steps, None, marks)
    zeros = np.zeros((n, classes))
    run = Run(learning_rate=1.0, targets=first(setup.targets), loss=first(setup.parameters))
    recording = simulate(_replay_step(full), (outputs, zeros, zeros, zeros),
                         (kernel, order.astype(np.int64), rates.astype(np.float64), np.float64(momentum)), run,
                         schedule, observe=_outputs_and_dual)
    train, dual = recording.records
    test = None
    if cross is not None:
        if full:  # Z_test[m, c] −= Σ_j Σ_e Θ(x_j, x_m)[e, c] A[j, e]
            test = -np.einsum("jmec,rje->rmc", cross, dual)
        else:
            test = -np.einsum("jm,rjc->rmc", cross, dual)
        start_test = setup.runs.values["f_test_0"]
        if start_test is not None:
            test = test + start_test[0][None]
    check_finite(rates, train, test)
    return Trajectory(recording.steps, train, test, None)
