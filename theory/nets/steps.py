"""The compiled training step of :mod:`theory.nets.training`: one optimiser step, one epoch, their cache.

A step takes minibatch ``order[i]`` of the epoch's order (drawn by :func:`epoch_order` from the run's keys), applies
the augmentation (keys ``fold_in(step_key, step)``), evaluates the teacher on the same views when it distils with
augmentation (else looks its stored logits up), and applies one optax update; :func:`epoch_function` runs a whole
epoch (one ``lax.scan`` for the models in :data:`SCANNED_MODELS`, a loop of jitted steps otherwise — convolutions
in a scan ran 15× slower on this CPU). Compiled functions are cached per :func:`step_structure`.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .augment import augment_batch
from .config import TrainConfig
from .losses import mixed_loss
from .optim import make_optimizer

__all__ = ["step_structure", "compiled_step", "epoch_order", "augmented_views", "epoch_function", "SCANNED_MODELS"]


def step_structure(config: TrainConfig, model, n: int, batch: int, steps: int, teacher_model) -> tuple:
    """What the compiled training step depends on. Seed, temperature and ξ are arguments, so runs that differ
    only in them (a teacher and its control, students at several τ, switched students) share one compilation."""
    return (model, config.optimizer, config.learning_rate, config.momentum, config.nesterov, config.weight_decay,
            config.schedule, config.warmup_epochs, config.step_epochs, config.step_factor, config.epochs,
            config.loss, config.temperature_squared, config.augmentation(), config.teacher is not None,
            teacher_model, n, batch, steps)


_COMPILED: dict = {}

#: models whose epoch runs as one compiled ``lax.scan`` over its minibatches (dense layers only: XLA's CPU
#: backend runs convolutions inside loops about 15× slower than outside them, see :func:`epoch_function`).
SCANNED_MODELS = ("mlp",)


def compiled_step(structure: tuple, config: TrainConfig):
    """``(order_fn, step_fn, scan_fn)`` jitted for a structure, cached on it (``config`` supplies the same fields)."""
    if structure not in _COMPILED:
        if len(_COMPILED) >= 16:
            _COMPILED.pop(next(iter(_COMPILED)))  # forget the oldest
        _COMPILED[structure] = _build_step(structure, config)
    return _COMPILED[structure]


@functools.partial(jax.jit, static_argnames=("n", "steps", "batch"))
def epoch_order(order_key, epoch, *, n: int, steps: int, batch: int):
    """``(steps, batch)`` training indices of epoch ``epoch``: the first steps · batch of a permutation of n."""
    return jax.random.permutation(jax.random.fold_in(order_key, epoch), n)[: steps * batch].reshape(steps, batch)


@functools.partial(jax.jit, static_argnums=5)
def augmented_views(x_all, order, i, step_key, first, augmentation):
    """The augmented minibatch ``order[i]`` of step ``first + i``, compiled as in the training step."""
    return augment_batch(jax.random.fold_in(step_key, first + i), x_all[order[i]], augmentation)


def _build_step(structure: tuple, config: TrainConfig):
    model, *_, augmentation, distils, teacher_model, n, batch, steps = structure
    optimizer, _ = make_optimizer(config, steps)

    def loss_fn(params, batch_stats, x, y, teacher_logits, weight, temperature):
        logits, updates = model.apply({"params": params, "batch_stats": batch_stats}, x, train=True,
                                      mutable=["batch_stats"])
        loss = mixed_loss(logits, y, teacher_logits, weight, loss=config.loss, temperature=temperature,
                          temperature_squared=config.temperature_squared)
        return loss, updates.get("batch_stats", {})

    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

    order_fn = functools.partial(epoch_order, n=n, steps=steps, batch=batch)

    def step(state, x_all, y_all, teacher_all, teacher_variables, order, i, step_key, first, weight, temperature):
        """Optimiser step ``first + i`` on minibatch ``order[i]`` (the index is taken inside the compiled step)."""
        index = order[i]
        x, y = x_all[index], y_all[index]
        if augmentation.active:
            x = augment_batch(jax.random.fold_in(step_key, first + i), x, augmentation)
        teacher_logits = None
        if distils:  # the teacher on the same (augmented) views the student sees
            teacher_logits = (teacher_model.apply(teacher_variables, x, train=False) if augmentation.active
                              else teacher_all[index])
        (loss, batch_stats), grads = grad_fn(state["params"], state["batch_stats"], x, y, teacher_logits, weight,
                                             temperature)
        updates, opt_state = optimizer.update(grads, state["opt_state"], state["params"])
        params = optax.apply_updates(state["params"], updates)
        return {"params": params, "batch_stats": batch_stats, "opt_state": opt_state}, loss

    step_fn = jax.jit(step, donate_argnums=0)

    @functools.partial(jax.jit, donate_argnums=0)
    def scan_fn(state, x_all, y_all, teacher_all, teacher_variables, order, step_key, first, weight, temperature):
        def body(state, i):
            return step(state, x_all, y_all, teacher_all, teacher_variables, order, i, step_key, first, weight,
                        temperature)
        state, losses = jax.lax.scan(body, state, jnp.arange(steps, dtype=jnp.int32))
        return state, jnp.mean(losses)

    return order_fn, step_fn, scan_fn


def epoch_function(config: TrainConfig, model, n: int, batch: int, steps: int, teacher_model):
    """``(state, x, y, teacher_logits, teacher_variables, epoch, ξ) -> (state, mean loss)`` for one epoch.

    For the MLP (:data:`SCANNED_MODELS`) the whole epoch is one compiled ``lax.scan`` over the minibatches: no
    per-step dispatch, ~15 % less CPU per example, the same operations in the same order (bit-identical weights;
    tests/test_augment.py). Other models: one jitted optimiser step per minibatch from a Python loop (a ``lax.scan``
    compiles to one program, but XLA's CPU backend runs convolutions inside loops about 15× slower than outside
    them; dispatching jitted steps costs ~0.1 ms each and runs asynchronously on a GPU). docs/recipes.md.
    """
    order_fn, step_fn, scan_fn = compiled_step(step_structure(config, model, n, batch, steps, teacher_model), config)
    root = jax.random.key(config.seed)
    order_key, step_key = jax.random.fold_in(root, 1), jax.random.fold_in(root, 2)
    temperature = jnp.asarray(config.temperature, jnp.float32)
    scanned = config.model in SCANNED_MODELS

    def epoch_fn(state, x_all, y_all, teacher_all, teacher_variables, epoch, weight):
        order = order_fn(order_key, jnp.asarray(epoch, jnp.int32))
        weight = jnp.asarray(weight, jnp.float32)
        first = jnp.asarray(epoch * steps, jnp.int32)
        if scanned:
            return scan_fn(state, x_all, y_all, teacher_all, teacher_variables, order, step_key, first, weight,
                           temperature)
        losses = []
        for i in range(steps):
            state, loss = step_fn(state, x_all, y_all, teacher_all, teacher_variables, order, np.int32(i),
                                  step_key, first, weight, temperature)
            losses.append(loss)
        return state, jnp.mean(jnp.stack(losses))

    return epoch_fn
