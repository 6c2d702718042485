"""Filters of one trained model: gradient descent, gradient flow, ridge regression, interpolation.

============================  ==========================================  =============================
constructor                    g(λ)                                        g(λ)/λ as λ → 0
============================  ==========================================  =============================
``gd(learning_rate, steps)``   1 − (1 − ηλ)^t                               η t
``flow(time)``                 1 − e^{−λt}                                  t
``ridge(strength)``            λ / (λ + c)                                  1/c
``interpolate()``              1 on λ > 0, 0 on the null space              (1/λ on λ > 0, 0 on the null space)
============================  ==========================================  =============================

A new training procedure goes here: a frozen dataclass subclassing :class:`~theory.filters.base.Filter`
with ``_factors``, ``_complement`` and ``_over_eigenvalue`` (docs/maths.md §3), and a factory function.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import check_nonnegative, check_positive
from ._common import EPS, parameter, set_field
from .base import Filter

__all__ = ["GradientDescent", "GradientFlow", "Ridge", "Interpolate", "gd", "flow", "ridge", "interpolate"]


@dataclass(frozen=True, eq=False, repr=False)
class GradientDescent(Filter):
    _FACTORY = "gd"
    learning_rate: float
    steps: np.ndarray

    def __post_init__(self):
        set_field(self, "learning_rate", float(check_positive(self.learning_rate, "learning_rate")))
        set_field(self, "steps", parameter(self.steps, "steps", integer=True))

    @property
    def batch_shape(self):
        return self.steps.shape

    def _scaled(self, eigenvalues):
        scaled = self.learning_rate * eigenvalues
        if scaled.size and scaled.max() >= 2.0:
            raise ValueError(
                f"learning_rate must be < 2 / lambda_max = {2.0 / eigenvalues.max():.4g} (<= "
                f"{1.0 / eigenvalues.max():.4g} for monotone progress), got {self.learning_rate:g}: gradient "
                f"descent is unstable at learning_rate * lambda_max = {scaled.max():.4g} >= 2."
            )
        return scaled

    def _power(self, scaled, steps):
        """(1 − x)^t, via exp(t·log1p(−x)) where x < 1 (accurate for small x), directly otherwise."""
        below = scaled < 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            smooth = np.exp(steps * np.log1p(-np.where(below, scaled, 0.0)))
        return np.where(below, smooth, (1.0 - scaled) ** steps)

    def _complement(self, eigenvalues):
        return self._power(self._scaled(eigenvalues), self.steps[..., None])

    def _factors(self, eigenvalues):
        scaled = self._scaled(eigenvalues)
        steps = self.steps[..., None]
        below = scaled < 1.0
        smooth = -np.expm1(steps * np.log1p(-np.where(below, scaled, 0.0)))
        return np.where(below, smooth, 1.0 - self._power(scaled, steps))

    def _over_eigenvalue(self, eigenvalues):
        # g/λ = η (1 − (1 − x)^t)/x with x = ηλ, and its limit η t at x = 0.
        scaled = self._scaled(eigenvalues)
        factors = self._factors(eigenvalues)
        safe = np.where(scaled == 0.0, 1.0, scaled)
        steps = np.broadcast_to(self.steps[..., None], factors.shape)
        return self.learning_rate * np.where(scaled == 0.0, steps, factors / safe)


@dataclass(frozen=True, eq=False, repr=False)
class GradientFlow(Filter):
    _FACTORY = "flow"
    time: np.ndarray

    def __post_init__(self):
        set_field(self, "time", parameter(self.time, "time"))

    @property
    def batch_shape(self):
        return self.time.shape

    def _factors(self, eigenvalues):
        return -np.expm1(-eigenvalues * self.time[..., None])

    def _complement(self, eigenvalues):
        return np.exp(-eigenvalues * self.time[..., None])

    def _over_eigenvalue(self, eigenvalues):
        factors = self._factors(eigenvalues)
        safe = np.where(eigenvalues == 0.0, 1.0, eigenvalues)
        time = np.broadcast_to(self.time[..., None], factors.shape)
        return np.where(eigenvalues == 0.0, time, factors / safe)


@dataclass(frozen=True, eq=False, repr=False)
class Ridge(Filter):
    _FACTORY = "ridge"
    strength: np.ndarray

    def __post_init__(self):
        set_field(self, "strength", parameter(self.strength, "strength", positive=True))

    @property
    def batch_shape(self):
        return self.strength.shape

    def _factors(self, eigenvalues):
        return eigenvalues / (eigenvalues + self.strength[..., None])

    def _complement(self, eigenvalues):
        strength = self.strength[..., None]
        return strength / (eigenvalues + strength)

    def _over_eigenvalue(self, eigenvalues):
        return 1.0 / (eigenvalues + self.strength[..., None])


@dataclass(frozen=True, eq=False, repr=False)
class Interpolate(Filter):
    _FACTORY = "interpolate"
    rcond: float | None = None

    def __post_init__(self):
        if self.rcond is not None:
            set_field(self, "rcond", check_nonnegative(self.rcond, "rcond"))

    def _mask(self, eigenvalues):
        rcond = eigenvalues.size * EPS if self.rcond is None else self.rcond
        return eigenvalues > rcond * (eigenvalues.max() if eigenvalues.size else 0.0)

    def _factors(self, eigenvalues):
        return self._mask(eigenvalues).astype(np.float64)

    def _over_eigenvalue(self, eigenvalues):
        mask = self._mask(eigenvalues)
        return np.where(mask, 1.0 / np.where(mask, eigenvalues, 1.0), 0.0)


def gd(learning_rate: float, steps) -> Filter:
    """Full-batch gradient descent, step η, for t steps: ``g(λ) = 1 − (1 − ηλ)^t``.

    Summed squared loss (docs/maths.md §2): F_{t+1} = F_t − η K (F_t − Y). Stable iff ηλ_max < 2, monotone in t iff
    ηλ_max ≤ 1; an unstable step is refused when the filter meets eigenvalues.

    Args:
        learning_rate: η > 0.
        steps: t ≥ 0, an integer or an integer array of any shape S (a trajectory).
    """
    return GradientDescent(learning_rate, steps)


def flow(time) -> Filter:
    """Gradient flow for time t: ``g(λ) = 1 − e^{−λt}`` (the limit of ``gd(η, t/η)`` as η → 0).

    Args:
        time: t ≥ 0, a number or an array of any shape S.
    """
    return GradientFlow(time)


def ridge(strength) -> Filter:
    """Kernel ridge regression with strength c: ``g(λ) = λ/(λ + c)``.

    Minimises ½‖F − Y‖² + (c/2)‖β‖², i.e. F = K (K + c I)⁻¹ Y (scikit-learn's ``KernelRidge(alpha=c)``).

    Args:
        strength: c > 0, a number or an array (a path of strengths).
    """
    return Ridge(strength)


def interpolate(rcond: float | None = None) -> Filter:
    """Minimum-norm interpolation (t → ∞, c → 0): g = 1 on λ > rcond·λ_max, 0 on the null space.

    Args:
        rcond: relative threshold for the null space; default ``n·eps`` (numpy's ``matrix_rank``).
    """
    return Interpolate(rcond)
