"""Softmax cross-entropy, the loss of ``theory.dynamics.cross_entropy_gd``: its value, gradient and arguments.

Logits Z (n, C) of the training points; the summed loss (docs/maths.md §4) is

    L(Z) = (1 − w) · s · Σ_i CE(q_i, softmax(z_i / τ)) + w · Σ_i CE(y_i, softmax(z_i)),
    CE(q, p) = −Σ_c q_c log p_c,

with ``targets`` Q (n, C) read at temperature τ, optional ``onehot_targets`` Y (n, C) read at τ = 1,
``onehot_weight`` w ∈ [0, 1] (default 0: the first term alone) and s = τ² when
``scale_by_temperature_squared`` (Hinton et al. 2015), else s = 1. Its gradient, row by row, is

    ∂L/∂z_i = (1 − w) · (s/τ) · (softmax(z_i/τ) − q_i) + w · (softmax(z_i) − y_i),

the driver's gradient function :func:`ce_gradient` with the per-point targets (Q, Y) and the per-run
parameters :class:`CrossEntropyParameters` (τ, w, s/τ, s). Every row sums to zero, so logits started at
zero stay centred over the classes.

Which losses this covers:

* one-hot training: ``targets`` = one-hot labels, τ = 1;
* distillation at temperature τ: ``targets`` = teacher probabilities softmax(Z_te / τ);
* a mixture with the *same* τ in both terms is one loss: CE against the mixed targets
  (1 − ξ)·Y + ξ·Q (:func:`distillation_targets`), since CE is linear in its targets;
* Hinton's mixture, one-hot at τ = 1 plus distillation at τ ≠ 1 (not one loss): ``targets`` = Q,
  ``onehot_targets`` = Y, ``onehot_weight`` = 1 − ξ, optionally with the τ² factor.

Stability: each row's Hessian of CE(q, softmax(z/τ)) is (diag p − p pᵀ)/τ², whose eigenvalues lie in
[0, 1/2] (Gershgorin: row c sums to 2 p_c (1 − p_c) ≤ 1/2). The loss is therefore h-smooth in Z with
h = ½ ((1 − w) s/τ² + w) per unit of K, and GD decreases it whenever η λ_max(K) h < 2 (the descent lemma);
the simulators refuse larger learning rates. The bound is sufficient, not necessary: near uniform outputs
the curvature is 1/(C τ²), so larger steps may run, but nothing guarantees them.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import as_array, as_probabilities, check_flag, check_positive, check_real, check_same_shape
from ._validate import Runs
from ._validate import per_run
from ._validate import per_run_rows
from ._validate import prepare_runs

__all__ = ["CrossEntropyParameters", "ce_gradient", "ce_loss", "cross_entropy", "cross_entropy_gradient",
           "distillation_targets"]


@functools.partial(jax.tree_util.register_dataclass,
                   data_fields=["temperature", "onehot_weight", "gradient_scale", "loss_scale"], meta_fields=[])
@dataclass(frozen=True)
class CrossEntropyParameters:
    """Per-run parameters of the loss (scalars, or (P,) arrays in a sweep).

    Attributes:
        temperature: τ > 0 of the ``targets`` term.
        onehot_weight: w ∈ [0, 1] of the τ = 1 term.
        gradient_scale: s/τ, i.e. τ with the τ² factor, else 1/τ.
        loss_scale: s, i.e. τ² with the τ² factor, else 1.
    """

    temperature: Any
    onehot_weight: Any
    gradient_scale: Any
    loss_scale: Any

    @classmethod
    def of(cls, temperature, onehot_weight, scaled: bool) -> "CrossEntropyParameters":
        """From numpy τ and w (the scales computed in float64 numpy, as the gradient needs them)."""
        temperature = np.asarray(temperature, dtype=np.float64)
        return cls(temperature, np.asarray(onehot_weight, dtype=np.float64),
                   temperature if scaled else 1.0 / temperature,
                   temperature**2 if scaled else np.ones_like(temperature))

    @property
    def curvature(self) -> np.ndarray:
        """h = ½ ((1 − w) s/τ² + w): the smoothness of L per unit of K (module docstring)."""
        soft = self.loss_scale / self.temperature**2
        return 0.5 * ((1.0 - self.onehot_weight) * soft + self.onehot_weight)


def ce_gradient(logits, targets, parameters: CrossEntropyParameters):
    """∂L/∂Z = (1 − w)(s/τ)(softmax(Z/τ) − Q) + w (softmax(Z) − Y), ``targets`` = (Q, Y)."""
    soft_targets, onehot_targets = targets
    soft = jax.nn.softmax(logits / parameters.temperature, axis=-1) - soft_targets
    hard = jax.nn.softmax(logits, axis=-1) - onehot_targets
    weight = parameters.onehot_weight
    return (1.0 - weight) * parameters.gradient_scale * soft + weight * hard


def ce_loss(logits, targets, parameters: CrossEntropyParameters):
    """L(Z) of the module docstring, summed over points, ``targets`` = (Q, Y)."""
    soft_targets, onehot_targets = targets
    soft = -jnp.sum(soft_targets * jax.nn.log_softmax(logits / parameters.temperature, axis=-1))
    hard = -jnp.sum(onehot_targets * jax.nn.log_softmax(logits, axis=-1))
    weight = parameters.onehot_weight
    return (1.0 - weight) * parameters.loss_scale * soft + weight * hard


_jitted_gradient = jax.jit(ce_gradient)
_jitted_loss = jax.jit(ce_loss)


@dataclass(frozen=True, eq=False)
class CrossEntropyRuns:
    """The validated arguments of P cross-entropy runs (what the simulators and the loss functions need).

    Attributes:
        runs: learning rates, seeds, batch options, and the initial arrays by name in ``runs.values``.
        targets: (Q, Y), each (P, n, C): the per-point targets of the two terms (Y zeros when w = 0).
        parameters: :class:`CrossEntropyParameters` of (P,) arrays.
        classes: the number of classes C ≥ 2.
    """

    runs: Runs
    targets: tuple
    parameters: CrossEntropyParameters
    classes: int

    def describe_run(self, run: int) -> str:
        """The loss parameters of run ``run``, for a message."""
        return (f" (temperature {self.parameters.temperature[run]:g}, "
                f"onehot_weight {self.parameters.onehot_weight[run]:g})")


def prepare(rows: int, targets, *, learning_rate, temperature, scale_by_temperature_squared, onehot_targets,
            onehot_weight, seed=0, batch_size=None, replace=False, initials=None) -> CrossEntropyRuns:
    """Validate the arguments of P runs on ``rows`` points; broadcast per-run values to the common P.

    ``initials`` maps the name of an initial array to ``(value, rows)`` ((rows, C) or (P, rows, C), or None).
    """
    soft = per_run_rows(targets, "targets", rows, probabilities=True)
    classes = soft[0].shape[-1]
    if classes < 2:
        raise ValueError(f"targets must have C >= 2 classes (columns) for a softmax, got C = {classes}")
    temperatures = per_run(temperature, "temperature", check_positive)
    weights = per_run(onehot_weight, "onehot_weight", lambda value, name: check_real(value, name, low=0, high=1))
    if onehot_targets is None:
        if np.any(weights[0] != 0):
            raise ValueError("onehot_weight > 0 needs onehot_targets (n, C): the labels of the τ = 1 term")
        hard = (np.zeros((rows, classes)), None)  # multiplied by w = 0: no contribution
    else:
        hard = per_run_rows(onehot_targets, "onehot_targets", rows, classes, probabilities=True)
    scaled = check_flag(scale_by_temperature_squared, "scale_by_temperature_squared")
    starts = {name: per_run_rows(value, name, initial_rows, classes)
              for name, (value, initial_rows) in (initials or {}).items()}
    runs = prepare_runs(rows, learning_rate=learning_rate, seed=seed, batch_size=batch_size, replace=replace,
                        targets=soft, onehot_targets=hard, temperature=temperatures, onehot_weight=weights,
                        **starts)
    values = runs.values
    parameters = CrossEntropyParameters.of(values["temperature"], values["onehot_weight"], scaled)
    return CrossEntropyRuns(runs, (values["targets"], values["onehot_targets"]), parameters, classes)


def _one_run(logits, targets, temperature, scale_by_temperature_squared, onehot_targets, onehot_weight):
    """Validated ``ce_loss`` / ``ce_gradient`` arguments of one set of (n, C) logits."""
    logits = as_array(logits, "logits", ndim=2)
    setup = prepare(logits.shape[0], targets, learning_rate=1.0, temperature=temperature,
                    scale_by_temperature_squared=scale_by_temperature_squared, onehot_targets=onehot_targets,
                    onehot_weight=onehot_weight, initials={"logits": (logits, logits.shape[0])})
    if setup.runs.count != 1:
        raise ValueError("targets, onehot_targets, temperature and onehot_weight must not carry a run axis here "
                         "(one set of logits)")
    first = functools.partial(jax.tree_util.tree_map, lambda leaf: leaf[0])
    return logits, first(setup.targets), first(setup.parameters)


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
    arguments = _one_run(logits, targets, temperature, scale_by_temperature_squared, onehot_targets,
                         onehot_weight)
    with jax.enable_x64(True):
        return float(_jitted_loss(*arguments))


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
    arguments = _one_run(logits, targets, temperature, scale_by_temperature_squared, onehot_targets,
                         onehot_weight)
    with jax.enable_x64(True):
        return np.asarray(_jitted_gradient(*arguments), dtype=np.float64)


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
    labels = as_probabilities(labels_one_hot, "labels_one_hot")
    teacher = as_probabilities(teacher_probs, "teacher_probs")
    check_same_shape(labels, "labels_one_hot", teacher, "teacher_probs")
    teacher_weight = check_real(teacher_weight, "teacher_weight", low=0, high=1)
    return (1.0 - teacher_weight) * labels + teacher_weight * teacher
