"""Distillation targets as filters: mixed targets (1 − ξ)Y + ξF_teacher, and the late switch from the labels
to the teacher (docs/maths.md §3). A student trained on a teacher is the product ``student * teacher``
(:mod:`theory.filters.base`)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import check_positive, check_real
from ._common import parameter, set_field
from .base import Filter
from .training import GradientDescent

__all__ = ["Mix", "LateSwitch", "mix", "late_switch"]


@dataclass(frozen=True, eq=False, repr=False)
class Mix(Filter):
    _FACTORY = "mix"
    teacher_weight: float
    teacher: Filter

    def __post_init__(self):
        set_field(self, "teacher_weight", check_real(self.teacher_weight, "teacher_weight"))
        if not isinstance(self.teacher, Filter):
            raise TypeError(f"teacher must be a theory filter, got {type(self.teacher).__name__}.")

    @property
    def trains(self) -> bool:
        return False

    @property
    def batch_shape(self):
        return self.teacher.batch_shape

    def _factors(self, eigenvalues):
        return (1.0 - self.teacher_weight) + self.teacher_weight * self.teacher._factors(eigenvalues)

    def _complement(self, eigenvalues):
        return self.teacher_weight * self.teacher._complement(eigenvalues)


@dataclass(frozen=True, eq=False, repr=False)
class LateSwitch(Filter):
    _FACTORY = "late_switch"
    learning_rate: float
    steps: np.ndarray
    switch_step: int
    teacher: Filter

    def __post_init__(self):
        if not isinstance(self.teacher, Filter) or not self.teacher.trains:
            raise TypeError(f"teacher must be a trained-model filter such as th.gd(...), got {self.teacher!r}.")
        set_field(self, "steps", parameter(self.steps, "steps", integer=True))
        switch = parameter(self.switch_step, "switch_step", integer=True)
        if switch.size != 1:
            raise ValueError(f"switch_step must be a single whole number of steps, got shape {switch.shape}.")
        set_field(self, "switch_step", int(switch.item()))
        last = int(self.steps.max(initial=0))
        if self.switch_step > last:
            raise ValueError(f"switch_step must be <= the last of steps = {last} (a switch after the last step never "
                             "takes effect: the filter would equal th.gd(learning_rate, steps)), got "
                             f"{self.switch_step}.")
        set_field(self, "learning_rate", float(check_positive(self.learning_rate, "learning_rate")))

    @property
    def batch_shape(self):
        return np.broadcast_shapes(self.steps.shape, self.teacher.batch_shape)

    def _parts(self, eigenvalues):
        onehot = GradientDescent(self.learning_rate, np.minimum(self.steps, self.switch_step))
        after = GradientDescent(self.learning_rate, np.maximum(self.steps - self.switch_step, 0.0))
        remaining = after._complement(eigenvalues)  # q = (1 − ηλ)^{t − s}
        return remaining, onehot, self.teacher

    def _factors(self, eigenvalues):
        # F_t = F_te + (I − ηK)^{t−s}(F_s − F_te)  ⇒  g = (1 − q) g_T + q g_s
        q, onehot, teacher = self._parts(eigenvalues)
        return (1.0 - q) * teacher._factors(eigenvalues) + q * onehot._factors(eigenvalues)

    def _complement(self, eigenvalues):
        q, onehot, teacher = self._parts(eigenvalues)
        return (1.0 - q) * teacher._complement(eigenvalues) + q * onehot._complement(eigenvalues)

    def _over_eigenvalue(self, eigenvalues):
        q, onehot, teacher = self._parts(eigenvalues)
        return (1.0 - q) * teacher._over_eigenvalue(eigenvalues) + q * onehot._over_eigenvalue(eigenvalues)


def mix(teacher_weight: float, teacher: Filter) -> Filter:
    """Targets ``(1 − ξ) Y + ξ F_teacher`` as a factor: ``1 − ξ + ξ g_T(λ)`` (Das & Sanghavi 2023).

    ξ = 0 is one-hot (plain labels), ξ = 1 the teacher only; any real ξ is allowed (ξ > 1 extrapolates
    away from the labels). This is a target transform: compose it with the student's own filter,
    ``th.gd(η, t) * th.mix(ξ, teacher)``.
    """
    return Mix(teacher_weight, teacher)


def late_switch(learning_rate: float, steps, switch_step: int, teacher: Filter) -> Filter:
    """Late distillation (our derivation, docs/maths.md §3): one-hot GD for s steps, then GD on the teacher's outputs.

    With the same step η throughout, for t > s

        F_t = F_te + (I − ηK)^{t−s} (F_s − F_te)   ⇒   g(λ) = (1 − q) g_T(λ) + q g_GD(λ; s),  q = (1 − ηλ)^{t−s},

    and g = g_GD(λ; t) for t ≤ s.

    Args:
        learning_rate: η > 0 (both phases).
        steps: total steps t, integer or array (a trajectory).
        switch_step: s, the step at which the targets switch from the labels to the teacher's outputs; a single
          whole number ``0 <= s <= max(steps)``. ``s = max(steps)`` (a trajectory that ends at the switch) equals
          ``th.gd(η, steps)``; a larger s is refused, since the switch would never take effect (as
          ``TrainConfig`` refuses a ``switch_epoch`` at or after the last epoch).
        teacher: the teacher's filter (e.g. ``th.gd(η, T)``).

    Raises:
        ValueError: for η <= 0, negative or fractional steps, or ``switch_step`` not a single whole number in
          ``[0, max(steps)]``.
    """
    return LateSwitch(learning_rate, steps, switch_step, teacher)
