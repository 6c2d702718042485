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
* distillation at temperature τ: ``teacher_logits`` = Z_te (Q = softmax(Z_te / τ) is applied here), or
  ``targets`` = softmax(Z_te / τ) with ``targets_temperature`` = τ;
* a mixture with the *same* τ in both terms is one loss: CE against the mixed targets
  (1 − ξ)·Y + ξ·Q (:func:`distillation_targets`), since CE is linear in its targets;
* Hinton's mixture, one-hot at τ = 1 plus distillation at τ ≠ 1 (not one loss): ``targets`` = Q,
  ``onehot_targets`` = Y, ``onehot_weight`` = 1 − ξ, optionally with the τ² factor.

Teacher temperature (one place, :func:`tempered_targets`): probability targets are never re-tempered, and
nothing in Q says at which τ it was made, so at τ ≠ 1 soft targets must be declared with
``targets_temperature`` = τ (one-hot rows need no declaration), or the teacher given as ``teacher_logits``,
tempered here. τ = 1 teacher probabilities passed at τ = 4 are refused instead of silently used.

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
from ..metrics import softmax
from ._validate import Runs
from ._validate import per_run
from ._validate import per_run_rows
from ._validate import prepare_runs

__all__ = ["CrossEntropyParameters", "ce_gradient", "ce_loss", "cross_entropy", "cross_entropy_gradient",
           "distillation_targets", "tempered_targets"]


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


def tempered_targets(rows: int, targets, teacher_logits, targets_temperature, temperatures) -> tuple:
    """The targets Q of the τ term, (rows, C) or (P, rows, C), with the teacher's temperature made explicit.

    The one place where a teacher's temperature is decided (module docstring, "Teacher temperature"):

    * ``teacher_logits`` Z_te: Q = softmax(Z_te/τ) per run (``theory.metrics.softmax``);
    * ``targets`` Q (probabilities): used as they are. At τ ≠ 1 they must be declared to be at τ,
      ``targets_temperature`` = ``temperature`` (run by run): τ = 1 teacher probabilities at τ = 4 are the
      usual mistake, and nothing in Q tells the two apart. One-hot rows (every entry 0 or 1) are the same
      at every temperature and need no declaration.

    ``temperatures`` is ``(values, P or None)`` from ``per_run``; returns ``(Q, P or None)``.
    """
    values, runs = temperatures
    if teacher_logits is not None:
        if targets is not None:
            raise ValueError("targets and teacher_logits were both given; pass one: teacher_logits Z_te (softmax"
                             "(Z_te/τ) is applied here) or targets, probabilities already at the temperature τ")
        if targets_temperature is not None:
            raise ValueError("targets_temperature describes probability targets; with teacher_logits pass "
                             "temperature only (softmax(teacher_logits / temperature) is applied here)")
        logits, logit_runs = per_run_rows(teacher_logits, "teacher_logits", rows)
        if runs is None:
            return softmax(logits, float(values)), logit_runs
        if logit_runs is not None and logit_runs != runs:
            raise ValueError(f"per-run arguments disagree on the number of runs P (teacher_logits: {logit_runs}, "
                             f"temperature: {runs}); give each either unbatched or with the same leading length P")
        stacked = [softmax(logits if logit_runs is None else logits[p], float(values[p])) for p in range(runs)]
        return np.stack(stacked), runs
    if targets is None:
        raise ValueError("targets must be (n, C) probabilities, or pass teacher_logits (n, C) instead, got neither")
    soft = per_run_rows(targets, "targets", rows, probabilities=True)
    if targets_temperature is not None:
        declared, declared_runs = per_run(targets_temperature, "targets_temperature", check_positive)
        lengths_differ = declared_runs is not None and runs is not None and declared_runs != runs
        if lengths_differ or np.any(declared != values):
            raise ValueError(f"targets_temperature must equal temperature (the targets are read at τ), got "
                             f"targets_temperature={np.ravel(declared).tolist()} for temperature="
                             f"{np.ravel(values).tolist()}; to re-temper a teacher pass teacher_logits instead")
    elif np.any(values != 1.0) and not np.all((soft[0] == 0.0) | (soft[0] == 1.0)):
        hot = float(np.ravel(values)[np.argmax(np.ravel(values) != 1.0)])
        raise ValueError(f"targets must be declared at the temperature τ = {hot:g} they are read at: probability "
                         "targets are not re-tempered, so τ = 1 teacher probabilities would be used as if they "
                         "were softmax(Z_te/τ). Pass teacher_logits=Z_te (softmax(Z_te/τ) is applied here), or, "
                         "if targets already are softmax(Z_te/τ), targets_temperature=temperature.")
    return soft


def prepare(rows: int, targets, *, learning_rate, temperature, scale_by_temperature_squared, onehot_targets,
            onehot_weight, seed=0, batch_size=None, replace=False, initials=None, teacher_logits=None,
            targets_temperature=None) -> CrossEntropyRuns:
    """Validate the arguments of P runs on ``rows`` points; broadcast per-run values to the common P.

    ``initials`` maps the name of an initial array to ``(value, rows)`` ((rows, C) or (P, rows, C), or None);
    ``targets`` / ``teacher_logits`` / ``targets_temperature`` as :func:`tempered_targets`.
    """
    temperatures = per_run(temperature, "temperature", check_positive)
    soft = tempered_targets(rows, targets, teacher_logits, targets_temperature, temperatures)
    classes = soft[0].shape[-1]
    if classes < 2:
        name = "targets" if teacher_logits is None else "teacher_logits"
        raise ValueError(f"{name} must have C >= 2 classes (columns) for a softmax, got C = {classes}")
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


def _one_run(logits, targets, temperature, scale_by_temperature_squared, onehot_targets, onehot_weight,
             teacher_logits=None, targets_temperature=None):
    """Validated ``ce_loss`` / ``ce_gradient`` arguments of one set of (n, C) logits."""
    logits = as_array(logits, "logits", ndim=2)
    setup = prepare(logits.shape[0], targets, learning_rate=1.0, temperature=temperature,
                    scale_by_temperature_squared=scale_by_temperature_squared, onehot_targets=onehot_targets,
                    onehot_weight=onehot_weight, initials={"logits": (logits, logits.shape[0])},
                    teacher_logits=teacher_logits, targets_temperature=targets_temperature)
    if setup.runs.count != 1:
        raise ValueError("targets, onehot_targets, temperature and onehot_weight must not carry a run axis here "
                         "(one set of logits)")
    first = functools.partial(jax.tree_util.tree_map, lambda leaf: leaf[0])
    return logits, first(setup.targets), first(setup.parameters)


def cross_entropy(logits, targets=None, *, temperature: float = 1.0, scale_by_temperature_squared: bool = False,
                  onehot_targets=None, onehot_weight: float = 0.0, teacher_logits=None,
                  targets_temperature=None) -> float:
    """The summed loss L(Z) that :func:`kernel_ce_gd` descends (see the module docstring).

        L(Z) = (1 − w) s Σ_i CE(q_i, softmax(z_i/τ)) + w Σ_i CE(y_i, softmax(z_i)),   s = τ² or 1.

    Example:
        >>> import numpy as np
        >>> round(cross_entropy(np.zeros((2, 2)), np.array([[1.0, 0.0], [0.5, 0.5]])), 6)  # 2 log 2
        1.386294

    Args:
        logits: (n, C) logits Z.
        targets: (n, C) probabilities Q, read at temperature τ (at τ ≠ 1 declared with ``targets_temperature``).
        temperature: τ > 0.
        scale_by_temperature_squared: multiply the Q term by τ² (Hinton et al. 2015).
        onehot_targets: optional (n, C) probabilities Y of the τ = 1 term.
        onehot_weight: w ∈ [0, 1]; > 0 needs ``onehot_targets``.
        teacher_logits: (n, C) teacher logits Z_te instead of ``targets``: Q = softmax(Z_te/τ).
        targets_temperature: the temperature ``targets`` are at; must equal ``temperature`` (needed at τ ≠ 1
            unless every row is one-hot: see :func:`tempered_targets`).

    Returns:
        float, the summed loss in nats.

    Raises:
        ValueError: non-finite logits, targets that are not probabilities, shape mismatches, τ ≤ 0,
            w outside [0, 1], probability targets at τ ≠ 1 without ``targets_temperature`` = τ.
    """
    arguments = _one_run(logits, targets, temperature, scale_by_temperature_squared, onehot_targets,
                         onehot_weight, teacher_logits, targets_temperature)
    with jax.enable_x64(True):
        return float(_jitted_loss(*arguments))


def cross_entropy_gradient(logits, targets=None, *, temperature: float = 1.0, scale_by_temperature_squared: bool = False,
                           onehot_targets=None, onehot_weight: float = 0.0, teacher_logits=None,
                           targets_temperature=None) -> np.ndarray:
    """∂L/∂Z of :func:`cross_entropy`, in closed form (the residual the simulations apply).

        ∂L/∂z_i = (1 − w)(s/τ)(softmax(z_i/τ) − q_i) + w (softmax(z_i) − y_i).

    Example:
        >>> import numpy as np
        >>> cross_entropy_gradient(np.zeros((1, 2)), np.array([[1.0, 0.0]])).tolist()
        [[-0.5, 0.5]]

    Args:
        logits, targets, temperature, scale_by_temperature_squared, onehot_targets, onehot_weight,
            teacher_logits, targets_temperature: as :func:`cross_entropy`.

    Returns:
        (n, C) float64 gradient; each row sums to 0.

    Raises:
        ValueError: as :func:`cross_entropy`.
    """
    arguments = _one_run(logits, targets, temperature, scale_by_temperature_squared, onehot_targets,
                         onehot_weight, teacher_logits, targets_temperature)
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
