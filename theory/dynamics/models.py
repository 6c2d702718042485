"""Kernel and linear models on the driver: their steps, built from a loss's gradient function, and runs.

Conventions of docs/maths.md §2: the summed loss L(F) = Σ_i ℓ(F_i, ·) of the training outputs F (n, C) has
gradient ∂L/∂F = ``gradient(F, targets, parameters)``, given by the loss module (``targets`` a pytree of
per-point arrays with leading axis n, ``parameters`` the loss's per-run scalars). Training is gradient
descent in function space,

    F ← F − η K ∂L/∂F(F),   A ← A + ∂L/∂F(F)            (kernel model, K (n, n)),
    β ← β − η Φᵀ ∂L/∂F(Φβ)                               (linear model f(x) = φ(x)ᵀβ, Φ (n, p)),

which coincide when K = ΦΦᵀ. The kernel model carries the dual coefficients A_t = Σ_{s<t} ∂L/∂F_s, so
test outputs are not stepped: F_test,t = F_test,0 − η K_*ᵀ A_t (K_* (n, m)) at the recorded steps only,
one (m × n)·(n × P·R·C) product for every run and record. Minibatch SGD (``batch_size`` = b) draws B_t
with ``draw_batch`` and uses the unbiased estimate (n/b) ∂L/∂F_B of the summed gradient on the batch:
F ← F − η K[:, B] (n/b) ∂L/∂F_B, β ← β − η Φ_Bᵀ (n/b) ∂L/∂F_B, so η means the same at every batch
size.

Every run goes through the one sweep path (``over_runs``): P runs, P = 1 for a single one.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import jax
import numpy as np

from ._validate import Runs
from .driver import Run, Schedule, descent, draw_batch, over_runs, simulate

__all__ = ["Trajectory", "kernel_step", "linear_step", "simulate_kernel", "simulate_linear"]


@dataclass(frozen=True, eq=False, repr=False)
class Trajectory:
    """Recorded states of a simulated training run.

    Attributes:
        steps: (T,) int64 recorded steps: ``0, k, 2k, …`` and the final step (``record_every`` = k), and
            any ``checkpoints``.
        train: (T, n) or (T, n, C) training outputs at those steps (trailing shape is ``y``'s); a sweep
            of P runs has a leading run axis, (P, T, n, C).
        test: (T, m) or (T, m, C) test outputs (a sweep: (P, T, m, C)), or ``None`` when no test points
            were given.
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


def _rows(tree, batch):
    """Rows ``batch`` of every per-point array of ``tree``."""
    return jax.tree_util.tree_map(lambda leaf: leaf[batch], tree)


@functools.lru_cache(maxsize=None)
def kernel_step(gradient: Callable, batch_size: int | None, replace: bool) -> Callable:
    """The kernel model's step on the state (F, A) of P runs (``shared`` is K); cached per arguments."""

    def step(state, step_index, kernel, run):
        outputs, dual = state
        if batch_size is None:
            change = gradient(outputs, run.targets, run.loss)
            return outputs - run.learning_rate * (kernel @ change), dual + change
        n = outputs.shape[0]
        batch = draw_batch(run.key, step_index, n, batch_size, replace)
        change = (n / batch_size) * gradient(outputs[batch], _rows(run.targets, batch), run.loss)
        return outputs - run.learning_rate * (kernel[:, batch] @ change), dual.at[batch].add(change)

    return over_runs(step)


@functools.lru_cache(maxsize=None)
def linear_step(gradient: Callable, batch_size: int | None, replace: bool) -> Callable:
    """The linear model's step on the weights β of P runs (``shared`` is Φ); cached per arguments."""

    def direction(weights, step_index, features, run):
        targets, scale = run.targets, 1.0
        if batch_size is not None:
            n = features.shape[0]
            batch = draw_batch(run.key, step_index, n, batch_size, replace)
            features, targets, scale = features[batch], _rows(targets, batch), n / batch_size
        return features.T @ (scale * gradient(features @ weights, targets, run.loss))

    return over_runs(descent(direction))


def _run(runs: Runs, targets, loss) -> Run:
    """The driver's per-run operands (keys only for minibatch runs; call under x64)."""
    key = None if runs.batch_size is None else jax.vmap(jax.random.key)(runs.seed)
    return Run(learning_rate=runs.learning_rate, targets=targets, loss=loss, key=key)


def simulate_kernel(gradient: Callable, kernel: np.ndarray, runs: Runs, targets, loss, schedule: Schedule, *,
                    cross: np.ndarray | None = None, start: np.ndarray | None = None,
                    test_start: np.ndarray | None = None):
    """P kernel runs; returns (steps (R,), train (P, R, n, C), test (P, R, m, C) or None).

    ``targets`` (pytree of (P, n, C) arrays) and ``loss`` (pytree of (P, ...) arrays) go to ``gradient``;
    ``start`` and ``test_start`` are (P, n, C) and (P, m, C) initial outputs (default zeros).
    """
    n, classes = kernel.shape[0], jax.tree_util.tree_leaves(targets)[0].shape[-1]
    outputs = np.zeros((runs.count, n, classes)) if start is None else np.array(start, dtype=np.float64)
    with jax.enable_x64(True):
        test_bytes = 0 if cross is None else 2 * 8 * runs.count * cross.shape[1] * classes  # test, and its product
        recording = simulate(kernel_step(gradient, runs.batch_size, runs.replace),
                             (outputs, np.zeros((runs.count, n, classes))), kernel, _run(runs, targets, loss),
                             schedule, extra_bytes_per_record=test_bytes)
    train, dual = (np.moveaxis(record, 0, 1) for record in recording.records)  # (P, R, n, C)
    test = None
    if cross is not None:
        # F_test = F_test,0 − η K_*ᵀ A: one (m, n) × (n, P·R·C) product for every run and recorded step
        m = cross.shape[1]
        moved = cross.T @ np.moveaxis(dual, 2, 0).reshape(n, -1)
        test = -runs.learning_rate[:, None, None, None] * np.moveaxis(
            moved.reshape((m,) + dual.shape[:2] + (classes,)), 0, 2)
        if test_start is not None:
            test = test + test_start[:, None]
    return recording.steps, train, test


def simulate_linear(gradient: Callable, features: np.ndarray, runs: Runs, targets, loss, schedule: Schedule, *,
                    start: np.ndarray | None = None):
    """P linear runs; returns (steps (R,), weights (P, R, p, C)); arguments as :func:`simulate_kernel`."""
    p, classes = features.shape[1], jax.tree_util.tree_leaves(targets)[0].shape[-1]
    weights = np.zeros((runs.count, p, classes)) if start is None else np.array(start, dtype=np.float64)
    with jax.enable_x64(True):
        recording = simulate(linear_step(gradient, runs.batch_size, runs.replace), weights, features,
                             _run(runs, targets, loss), schedule)
    return recording.steps, np.moveaxis(recording.records, 0, 1)
