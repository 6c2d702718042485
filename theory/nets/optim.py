"""Optimisers and learning-rate schedules (optax), per step, from a :class:`~theory.nets.config.TrainConfig`.

Schedules, with S = epochs · steps_per_epoch steps, W = warmup_epochs · steps_per_epoch and peak rate η:

* warm-up: η · k / W for steps k < W (linear from 0), then
* ``"constant"``: η;  ``"cosine"``: η · ½ (1 + cos(π (k − W) / (S − W))), reaching 0 at the last step;
* ``"step"``: η · factor^(number of ``step_epochs`` already passed).

Optimisers: ``"sgd"``, heavy-ball momentum μ (PyTorch's convention v ← μ v + g, θ ← θ − η v; Nesterov optional),
with L2 weight decay λ added to the gradient (g ← g + λ θ, as PyTorch's ``weight_decay``); ``"adam"`` with
decoupled weight decay (AdamW, Loshchilov & Hutter 2019). Weight decay applies to kernels (parameters with ≥ 2
axes), not to biases and BatchNorm scales/offsets.
"""
from __future__ import annotations

import jax
import optax

__all__ = ["make_schedule", "make_optimizer"]


def make_schedule(config, steps_per_epoch: int) -> optax.Schedule:
    """The learning rate as a function of the optimiser step (see the module docstring)."""
    total = config.epochs * steps_per_epoch
    warmup = config.warmup_epochs * steps_per_epoch
    peak = config.learning_rate
    if config.schedule == "constant":
        main = optax.constant_schedule(peak)
    elif config.schedule == "cosine":
        main = optax.cosine_decay_schedule(peak, decay_steps=max(total - warmup, 1))
    elif config.schedule == "step":
        boundaries = {int((e - config.warmup_epochs) * steps_per_epoch): config.step_factor
                      for e in config.step_epochs if e > config.warmup_epochs}
        main = optax.piecewise_constant_schedule(peak, boundaries)
    else:
        raise ValueError(f"schedule must be 'constant', 'cosine' or 'step', got {config.schedule!r}.")
    if warmup == 0:
        return main
    return optax.join_schedules([optax.linear_schedule(0.0, peak, warmup), main], [warmup])


def _decay_mask(params):
    return jax.tree_util.tree_map(lambda p: p.ndim >= 2, params)


def make_optimizer(config, steps_per_epoch: int) -> tuple[optax.GradientTransformation, optax.Schedule]:
    """``(optimizer, schedule)`` for a config; see the module docstring for the conventions."""
    schedule = make_schedule(config, steps_per_epoch)
    if config.optimizer == "sgd":
        parts = []
        if config.weight_decay:
            parts.append(optax.add_decayed_weights(config.weight_decay, mask=_decay_mask))
        parts.append(optax.sgd(schedule, momentum=config.momentum or None, nesterov=config.nesterov))
        return optax.chain(*parts), schedule
    if config.optimizer == "adam":
        return optax.adamw(schedule, weight_decay=config.weight_decay, mask=_decay_mask), schedule
    raise ValueError(f"optimizer must be 'sgd' or 'adam', got {config.optimizer!r}.")
