"""Repeated self-distillation: Borup & Andersen's weighted ridge rounds and their limit, and the optimal
r-round chain of Pareek, Du & Oh (docs/selfdistill.md §4–§5).

* Borup & Andersen (NeurIPS 2021): every round is ridge with strength c, h(λ) = λ/(λ + c), trained on
  (1 − ξ)Y + ξF_prev. The rounds G_j = h(1 − ξ + ξG_{j−1}) satisfy, with G_∞ = (1 − ξ)h/(1 − ξh),

      G_j − G_∞ = (ξh)^j (G_0 − G_∞)     (G_0 = h),

  so they converge iff |ξ|·max_λ h < 1, and for ξ < 1, G_∞ = λ/(λ + c/(1 − ξ)): ridge with the amplified
  strength c/(1 − ξ). Any strength c' > c/(1 + 1/max h) is reached by ξ = 1 − c/c', so the best infinite
  chain is optimal ridge.
* Pareek, Du & Oh (NeurIPS 2024): r rounds of one filter family with a shared parameter (ridge strength,
  flow time, GD steps) and a weight per round. :func:`optimal_rounds` minimises the exact risk over the
  weights in closed form (:func:`theory.selfdistill.optimal_weights`) and over the parameter numerically
  (a log grid, then bounded Brent between the grid neighbours of the best point).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.optimize

from .._checks import check_choice, check_integer, check_positive, check_real
from ..distill import chain_filters
from ..filters import Filter, flow, gd, ridge
from .optimal import OptimalWeights, optimal_weights
from .planted import PlantedModel

__all__ = ["borup_andersen_rounds", "borup_andersen_limit", "borup_andersen_rate", "RoundsOptimum",
           "optimal_rounds", "FAMILIES"]

#: the filter families whose shared parameter :func:`optimal_rounds` optimises.
FAMILIES = ("ridge", "flow", "gd")


def borup_andersen_rounds(strength, teacher_weight, rounds: int) -> tuple:
    """The filters G_0 … G_rounds of ridge rounds with strength c and weight ξ (``chain_filters``)."""
    rounds = check_integer(rounds, "rounds", minimum=0)
    return chain_filters([ridge(strength)] * (rounds + 1), teacher_weight)


def borup_andersen_rate(eigenvalues, strength, teacher_weight) -> float:
    """The contraction factor |ξ|·max_λ λ/(λ + c) of the rounds: they converge iff it is < 1."""
    eigenvalues = np.asarray(getattr(eigenvalues, "eigenvalues", eigenvalues), dtype=np.float64)
    return float(abs(check_real(teacher_weight, "teacher_weight")) * np.max(ridge(strength)(eigenvalues)))


def borup_andersen_limit(strength, teacher_weight, eigenvalues=None) -> Filter:
    """The limit of infinitely many weighted ridge rounds: ``ridge(c/(1 − ξ))`` (ξ < 1).

    Example:
        >>> import numpy as np, theory as th
        >>> limit = borup_andersen_limit(1.0, 0.75)
        >>> limit
        ridge(strength=4)
        >>> eigenvalues = np.array([5.0, 1.0, 0.1])
        >>> rounds = borup_andersen_rounds(1.0, 0.75, 200)[-1]
        >>> float(np.max(np.abs(rounds(eigenvalues) - limit(eigenvalues)))) < 1e-15
        True

    Args:
        strength: c > 0.
        teacher_weight: ξ < 1 (for ξ ≥ 1 the limit, when it exists, is no ridge filter).
        eigenvalues: optional; if given, the rounds must converge on them (:func:`borup_andersen_rate` < 1).
    """
    strength = check_positive(strength, "strength")
    xi = check_real(teacher_weight, "teacher_weight")
    if xi >= 1.0:
        raise ValueError(f"teacher_weight must be < 1 for the limit to be a ridge filter, got {xi:g}.")
    if eigenvalues is not None:
        rate = borup_andersen_rate(eigenvalues, strength, xi)
        if rate >= 1.0:
            raise ValueError(f"the rounds diverge on these eigenvalues: |ξ|·max λ/(λ + c) = {rate:.4g} >= 1; "
                             "take |teacher_weight| smaller.")
    return ridge(strength / (1.0 - xi))


@dataclass(frozen=True, repr=False)
class RoundsOptimum:
    """Result of :func:`optimal_rounds`: the best shared parameter and, at it, the best weights.

    Attributes:
        family: "ridge", "flow" or "gd".
        parameter: the optimal strength, time or number of steps.
        weights: the :class:`~theory.selfdistill.optimal.OptimalWeights` at that parameter.
        grid: ``(P,)`` the parameters searched first, and ``grid_risk`` ``(P,)`` the optimal risk at each.
    """

    family: str
    parameter: float
    weights: OptimalWeights
    grid: np.ndarray
    grid_risk: np.ndarray

    @property
    def risk(self) -> float:
        """The optimal excess risk."""
        return self.weights.risk.total

    def __repr__(self):
        return (f"RoundsOptimum(family={self.family!r}, rounds={len(self.weights.filters) - 1}, "
                f"parameter={self.parameter:.6g}, risk={self.risk:.6g})")


def _family(family: str, learning_rate: float | None):
    if family == "ridge":
        return lambda value: ridge(value)
    if family == "flow":
        return lambda value: flow(value)
    return lambda value: gd(learning_rate, int(round(value)))


def optimal_rounds(model: PlantedModel, family: str, rounds: int, *, learning_rate=None, grid: int = 60,
                   span: float = 1e4) -> RoundsOptimum:
    """The best chain of ``rounds`` students (rounds + 1 trainings) of one filter family with a shared parameter.

    The parameter is searched on a log grid of ``grid`` points covering the spectrum (ridge strengths and
    inverse times from λ_min⁺/``span`` to λ_max·``span``), then refined by bounded Brent on its logarithm
    between the grid neighbours of the best point (GD: the nearest whole numbers of steps). At every
    parameter the weights are the closed-form optimum.

    Example:
        >>> import theory as th
        >>> model = th.selfdistill.PlantedModel.from_spectrum([3.0, 1.0, 0.3], [1.0, 0.5, 0.2], 1.0)
        >>> one, three = (optimal_rounds(model, "ridge", r) for r in (1, 3))
        >>> bool(three.risk <= one.risk)
        True

    Args:
        model: a :class:`~theory.selfdistill.planted.PlantedModel`.
        family: "ridge", "flow" or "gd".
        rounds: r ≥ 0 (0: the teacher alone, i.e. optimal ridge / early stopping).
        learning_rate: η for "gd" (default 0.5/λ_max: at η = 1/λ_max one step completes the top direction,
          g(λ_max) = 1 for every t, and no weighting of rounds can shrink it).
        grid: number of grid points (≥ 3).
        span: the grid's reach beyond the spectrum, a factor > 1.

    Returns:
        :class:`RoundsOptimum`.
    """
    check_choice(family, "family", FAMILIES)
    rounds = check_integer(rounds, "rounds", minimum=0)
    grid = check_integer(grid, "grid", minimum=3)
    span = check_positive(span, "span")
    eigenvalues = model.spectrum.eigenvalues
    positive = eigenvalues[eigenvalues > model.spectrum.null_threshold]
    if positive.size == 0:
        raise ValueError("the training kernel is zero: no filter learns anything.")
    low, high = np.log(positive.min() / span), np.log(positive.max() * span)
    if family == "gd":
        learning_rate = 0.5 / positive.max() if learning_rate is None else check_positive(learning_rate, "learning_rate")
    make = _family(family, learning_rate)

    def value(log_rate):  # ridge: the strength; flow: the time 1/rate; gd: steps (1/rate)/η
        rate = np.exp(log_rate)
        if family == "ridge":
            return rate
        return 1.0 / rate if family == "flow" else max(1.0, round(1.0 / (rate * learning_rate)))

    def best(log_rate):
        return optimal_weights(model, [make(value(log_rate))] * (rounds + 1))

    points = np.linspace(low, high, grid)
    risks = np.array([best(p).risk.total for p in points])
    i = int(np.argmin(risks))
    left, right = points[max(i - 1, 0)], points[min(i + 1, grid - 1)]
    refined = scipy.optimize.minimize_scalar(lambda p: best(p).risk.total, bounds=(left, right), method="bounded",
                                             options=dict(xatol=1e-10))
    chosen = refined.x if refined.fun <= risks[i] else points[i]
    if family == "gd":  # the nearest whole numbers of steps around the continuous optimum
        steps = value(chosen)
        candidates = sorted({max(1.0, steps - 1.0), steps, steps + 1.0})
        results = [optimal_weights(model, [make(s)] * (rounds + 1)) for s in candidates]
        k = int(np.argmin([r.risk.total for r in results]))
        return RoundsOptimum(family, candidates[k], results[k], np.array([value(p) for p in points]), risks)
    return RoundsOptimum(family, float(value(chosen)), best(chosen), np.array([value(p) for p in points]), risks)
