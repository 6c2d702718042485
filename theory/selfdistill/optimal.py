"""Optimal teacher weights of a distillation chain, in closed form (docs/selfdistill.md §2–§3).

A chain with rounds g_0, …, g_r and weights ξ_1, …, ξ_r has (``theory.distill.chain_filters``)
G_r = g_r (1 − ξ_r + ξ_r G_{r−1}). Unrolled, it is a fixed combination of r + 1 *basis filters*

    G_r = Σ_{k=1}^{r+1} a_k B_k,    B_k = g_r g_{r−1} ⋯ g_{r−k+1},
    a_1 = 1 − ξ_r,   a_k = (ξ_r ⋯ ξ_{r−k+2})(1 − ξ_{r−k+1}) (2 ≤ k ≤ r),   a_{r+1} = ξ_r ⋯ ξ_1,

with Σ_k a_k = 1 (the sum telescopes). The tail sums are the products of weights, Σ_{k>m} a_k = ξ_r ⋯ ξ_{r−m+1},
so the map ξ ↦ a is invertible wherever they are non-zero: this is Pareek, Du & Oh's reparameterisation,
here for any filters (not only ridge). The excess risk of :mod:`theory.selfdistill.planted` is linear in G/λ,
hence a convex quadratic in a, and its minimum over {Σ a_k = 1} is an equality-constrained least-squares
problem — solved here by an orthonormal basis of the constraint's null space and an SVD least-squares solve
(never the normal equations, whose condition number is the square).

One round (Das & Sanghavi) is r = 1: G = g_s(1 − ξ + ξ g_T), and :class:`WeightQuadratic` gives the risk as
A ξ² − 2Bξ + C with A, B, C affine in the noise variance σ², so ξ*(σ²) = B/A and the noise level where ξ*
crosses 1 are closed forms.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.optimize

from .._checks import as_array, check_nonnegative
from ..distill import chain_filters
from ..filters import Filter, compose
from .planted import PlantedModel, Risk, chain_risk, risk_of_ratio

__all__ = ["chain_basis", "coefficients", "teacher_weights_from", "OptimalWeights", "optimal_weights",
           "WeightQuadratic", "teacher_weight_quadratic", "minimize_weights"]


def chain_basis(filters) -> tuple:
    """The basis filters ``(B_1, …, B_{r+1})`` of a chain: B_k = g_r * g_{r−1} * … * g_{r−k+1} (composed).

    Example:
        >>> import theory as th
        >>> chain_basis([th.ridge(1.0), th.flow(2.0)])
        (flow(time=2), flow(time=2) * ridge(strength=1))
    """
    filters, _ = _validated(filters)
    reverse = filters[::-1]
    return tuple(compose(*reverse[:k]) for k in range(1, len(filters) + 1))


def coefficients(teacher_weights) -> np.ndarray:
    """``(r + 1,)`` coefficients a of the basis expansion, from the weights ξ_1 … ξ_r (rounds 1 … r).

    Example:
        >>> coefficients([0.5, 2.0]).tolist()  # a_1 = 1 − ξ_2, a_2 = ξ_2(1 − ξ_1), a_3 = ξ_2 ξ_1
        [-1.0, 1.0, 1.0]
    """
    weights = as_array(teacher_weights, "teacher_weights", ndim=1)
    tails = np.cumprod(weights[::-1])  # ξ_r, ξ_r ξ_{r−1}, …
    upper = np.concatenate([[1.0], tails])
    return np.concatenate([upper[:-1] - upper[1:], upper[-1:]])


def teacher_weights_from(coefficients_, *, rtol: float = 1e-12) -> np.ndarray:
    """The weights ξ_1 … ξ_r whose chain has basis coefficients a (``(r + 1,)``, summing to 1).

    ξ_j is the ratio of consecutive tail sums of a. Raises ValueError when a tail sum vanishes (relative to
    max|a|) with a non-zero coefficient beyond it: such a combination is no chain of weighted rounds.
    """
    a = as_array(coefficients_, "coefficients", ndim=1)
    if a.size < 1 or abs(a.sum() - 1.0) > 1e-9 * max(1.0, np.abs(a).max()):
        raise ValueError(f"coefficients must be non-empty and sum to 1, got sum {a.sum():.12g}.")
    tails = np.cumsum(a[::-1])[::-1][1:]  # Σ_{k>m} a_k for m = 1 … r: ξ_r, ξ_r ξ_{r−1}, …
    upper = np.concatenate([[1.0], tails])
    scale = rtol * max(1.0, float(np.abs(a).max()))
    if np.any(np.abs(upper[:-1]) <= scale):
        raise ValueError("these coefficients are not a chain of weighted rounds: a product of weights "
                         "ξ_r ⋯ ξ_j vanishes while a later coefficient does not; use fewer rounds.")
    return (upper[1:] / upper[:-1])[::-1]


@dataclass(frozen=True, repr=False)
class OptimalWeights:
    """Result of :func:`optimal_weights`.

    Attributes:
        teacher_weights: ``(r,)`` ξ*_1 … ξ*_r (NaN where the optimum is no chain, see :func:`teacher_weights_from`).
        coefficients: ``(r + 1,)`` a* of the basis expansion.
        risk: the :class:`~theory.selfdistill.planted.Risk` at the optimum.
        filters: the chain's filters (round 0 first).
        rank: rank of the least-squares problem (< r: the optimum is not unique; the minimum-norm a* is given).
    """

    teacher_weights: np.ndarray
    coefficients: np.ndarray
    risk: Risk
    filters: tuple
    rank: int

    @property
    def filter(self) -> Filter:
        """The optimal chain's last-round filter G_r (``chain_filters(filters, teacher_weights)[-1]``)."""
        return chain_filters(self.filters, self.teacher_weights)[-1]

    def __repr__(self):
        return (f"OptimalWeights(teacher_weights={np.array2string(self.teacher_weights, precision=4)}, "
                f"risk={self.risk.total:.6g})")


def _validated(filters):
    filters = list(filters)
    chain_filters(filters)  # the one validation of a chain's filters
    return filters, len(filters) - 1


def _design(model: PlantedModel, basis) -> tuple:
    """Rows of the least-squares form of the risk: risk(a) = ‖D a − t‖² (bias rows, then variance rows)."""
    eigenvalues = model.spectrum.eigenvalues
    ratios = np.stack([b.over_eigenvalue(eigenvalues) for b in basis], axis=-1)  # (n, r + 1)
    root = np.sqrt(model.weight)
    bias_rows = root * (model.basis @ (model.signal[:, None] * ratios))  # (m, r + 1)
    variance_rows = root * np.sqrt(model.noise_variance * model.column_norms)[:, None] * ratios  # (n, r + 1)
    target = np.concatenate([root * model.f_test, np.zeros(eigenvalues.size)])
    return np.concatenate([bias_rows, variance_rows]), target, ratios


def optimal_weights(model: PlantedModel, filters) -> OptimalWeights:
    """The weights ξ*_1 … ξ*_r that minimise the exact excess risk of a chain with the given filters.

    Closed form (module docstring): min ‖D a − t‖² over Σ a = 1, with a = e_1 + N u (N: an orthonormal basis
    of {Σ a = 0}) and u from an SVD least-squares solve. For one round this is Das & Sanghavi's ξ*; for r
    rounds of one ridge filter it is Pareek, Du & Oh's optimum at that strength.

    Example:
        >>> import theory as th
        >>> model = th.selfdistill.PlantedModel.from_spectrum([3.0, 1.0, 0.3], [1.0, 0.5, 0.2], 1.0)
        >>> best = optimal_weights(model, [th.ridge(0.5)] * 2)
        >>> bool(best.risk.total <= th.selfdistill.chain_risk(model, [th.ridge(0.5)] * 2, 0.0).total)
        True

    Args:
        model: a :class:`~theory.selfdistill.planted.PlantedModel`.
        filters: the rounds' trained-model filters (round 0 is the teacher), all of scalar batch shape.

    Returns:
        :class:`OptimalWeights`.
    """
    filters, rounds = _validated(filters)
    if any(f.batch_shape != () for f in filters):
        raise ValueError("optimal_weights needs filters with scalar parameters (one chain); loop over a path.")
    if rounds == 0:
        return OptimalWeights(np.zeros(0), np.ones(1), chain_risk(model, filters), tuple(filters), 0)
    design, target, ratios = _design(model, chain_basis(filters))
    start = np.zeros(rounds + 1)
    start[0] = 1.0
    null = scipy.linalg.null_space(np.ones((1, rounds + 1)))  # (r + 1, r), orthonormal
    solution, _, rank, _ = scipy.linalg.lstsq(design @ null, target - design @ start)
    a = start + null @ solution
    try:
        weights = teacher_weights_from(a)
    except ValueError:
        weights = np.full(rounds, np.nan)
    return OptimalWeights(weights, a, risk_of_ratio(model, ratios @ a), tuple(filters), int(rank))


@dataclass(frozen=True)
class WeightQuadratic:
    """The risk of one round g_s(1 − ξ + ξ g_T) as a quadratic in ξ, each coefficient affine in σ²:

        R(ξ; σ²) = A ξ² − 2 B ξ + C,   A = A₀ + σ² A₁,  B = B₀ + σ² B₁,  C = C₀ + σ² C₁,

    (index 0: the bias, noise-free part; index 1: the variance per unit σ²). ``noise_variance`` is the model's σ².
    """

    curvature: tuple  # (A₀, A₁)
    slope: tuple  # (B₀, B₁)
    offset: tuple  # (C₀, C₁)
    noise_variance: float

    def _at(self, noise_variance):
        s = self.noise_variance if noise_variance is None else check_nonnegative(noise_variance, "noise_variance")
        return tuple(pair[0] + s * pair[1] for pair in (self.curvature, self.slope, self.offset))

    def risk(self, teacher_weight, noise_variance=None):
        """R(ξ) (ξ may be an array) at σ² (default the model's)."""
        a, b, c = self._at(noise_variance)
        xi = np.asarray(teacher_weight, dtype=np.float64)
        return a * xi**2 - 2.0 * b * xi + c

    def optimum(self, noise_variance=None) -> float:
        """ξ* = B/A at σ² (default the model's); the risk's curvature 2A is > 0 unless the teacher changes nothing."""
        a, b, _ = self._at(noise_variance)
        if a <= 0.0:
            raise ValueError("the risk does not depend on the teacher weight (A = 0): the teacher's filter "
                             "equals 1 on every direction the readout sees.")
        return float(b / a)

    @property
    def limit(self) -> float:
        """lim ξ*(σ²) as σ² → ∞: B₁/A₁ (> 1 when 0 < g_T < 1 and the student is the teacher's filter)."""
        return float(self.slope[1] / self.curvature[1]) if self.curvature[1] > 0 else np.nan

    def crossing(self) -> float | None:
        """The noise variance σ² at which ξ*(σ²) = 1 (ξ* is monotone in σ²: a Möbius function), or None if ξ*
        stays on one side of 1 for every σ² ≥ 0."""
        (a0, a1), (b0, b1) = self.curvature, self.slope
        if b1 == a1:
            return None
        value = (a0 - b0) / (b1 - a1)
        return float(value) if value >= 0.0 else None


def teacher_weight_quadratic(model: PlantedModel, student: Filter, teacher: Filter) -> WeightQuadratic:
    """Das & Sanghavi's one-round risk as an explicit quadratic in ξ (docs/selfdistill.md §2).

    With r₁ = g_s/λ and Δ = g_s(g_T − 1)/λ the prediction is affine in ξ: r(ξ) = r₁ + ξΔ, so with
    e₀ = w^{1/2}(T(r₁ ⊙ z) − f*_test), e₁ = w^{1/2} T(Δ ⊙ z) and n_k = w‖T e_k‖²,
    A = ‖e₁‖² + σ² Σ Δ² n,  B = −e₀·e₁ − σ² Σ r₁Δ n,  C = ‖e₀‖² + σ² Σ r₁² n.

    Example:
        >>> import theory as th
        >>> model = th.selfdistill.PlantedModel.from_spectrum([3.0, 1.0, 0.3], [1.0, 0.5, 0.2], 4.0)
        >>> q = teacher_weight_quadratic(model, th.ridge(0.5), th.ridge(0.5))
        >>> bool(q.optimum() > 1), bool(q.limit > 1), q.crossing() is not None
        (True, True, True)
    """
    design, target, _ = _design(model.with_noise(0.0), chain_basis([teacher, student]))
    m = model.f_test.size
    first, second = design[:m, 0] - target[:m], design[:m, 1] - design[:m, 0]
    eigenvalues = model.spectrum.eigenvalues
    r1 = student.over_eigenvalue(eigenvalues)
    delta = (student * teacher).over_eigenvalue(eigenvalues) - r1
    norms = model.weight * model.column_norms
    return WeightQuadratic(
        curvature=(float(second @ second), float(np.sum(delta**2 * norms))),
        slope=(float(-first @ second), float(-np.sum(r1 * delta * norms))),
        offset=(float(first @ first), float(np.sum(r1**2 * norms))),
        noise_variance=model.noise_variance,
    )


def minimize_weights(model: PlantedModel, filters, start=None) -> OptimalWeights:
    """The weights minimising the exact chain risk numerically (BFGS over ξ, scipy.optimize), from ``start``
    (default all 0.5). An independent route to :func:`optimal_weights`, and the one to extend when the
    filters' own parameters are optimised jointly with the weights.

    The risk is convex in the coefficients a but not in ξ (a product map) for r ≥ 2: BFGS can stop at another
    stationary point of higher risk (seen for r = 3), never below the closed-form optimum."""
    filters, rounds = _validated(filters)
    start = np.full(rounds, 0.5) if start is None else as_array(start, "start", shape=(rounds,))

    def objective(weights):
        return chain_risk(model, filters, weights).total

    result = scipy.optimize.minimize(objective, start, method="BFGS", options=dict(gtol=1e-12, maxiter=2000))
    weights = result.x
    return OptimalWeights(weights, coefficients(weights), chain_risk(model, filters, weights), tuple(filters),
                          rounds)
