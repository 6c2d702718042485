"""A bound on what a top-k spectrum leaves out: the factor a filter applies on eigenvalues in [0, λ_(k+1)]
(docs/maths.md §9)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import check_nonnegative
from ..filters import Filter, GradientDescent, GradientFlow, Interpolate, LateSwitch, Mix, Product, Ridge

__all__ = ["ComplementBound", "complement_bound"]


@dataclass(frozen=True)
class ComplementBound:
    """A bound on the factor a filter applies to the eigendirections a top-k spectrum leaves out.

    Attributes:
        value: ``S`` (the filter's batch shape): ``sup |g(λ)|`` over λ ∈ [0, λ_{k+1}] is at most ``value`` (or
            ``sup |g(λ)/λ|`` for test outputs); NaN where no bound is given.
        reason: what the bound rests on, or why there is none.
    """

    value: np.ndarray
    reason: str


def _times(first, second):
    """The interval product [a, b]·[c, d] (each bound an array)."""
    ends = [first[0] * second[0], first[0] * second[1], first[1] * second[0], first[1] * second[1]]
    return np.minimum.reduce(np.broadcast_arrays(*ends)), np.maximum.reduce(np.broadcast_arrays(*ends))


def _interval(filter: Filter, top: float, test: bool, notes: list):
    """(low, high) with low ≤ g ≤ high (g/λ when ``test``) on [0, top], arrays of the batch shape; NaN: none."""
    point, zero = np.array([top]), np.zeros(1)
    if isinstance(filter, (GradientFlow, Ridge)):
        if test:  # g concave with g(0) = 0, so g/λ is non-increasing: its sup is the limit at λ = 0
            notes.append(f"{filter!r}: g/λ is non-increasing, its sup is the λ → 0 limit (does not shrink with k)")
            return filter.over_eigenvalue(point)[..., 0], filter.over_eigenvalue(zero)[..., 0]
        notes.append(f"{filter!r}: g is non-negative and non-decreasing, the sup g(λ_(k+1)) is attained")
        return np.zeros(filter.batch_shape), filter(point)[..., 0]
    if isinstance(filter, GradientDescent):
        scaled, steps = filter.learning_rate * top, filter.steps
        if scaled >= 2.0:
            raise ValueError(f"learning_rate * lambda_next must be < 2 (stable gradient descent), got {scaled:.4g}.")
        if test:  # g/λ = η(1 + x + … + x^{t−1}) with x = 1 − ηλ ∈ (−1, 1]: in [0, ηt]
            notes.append(f"{filter!r}: 0 ≤ g/λ ≤ ηt, the λ → 0 limit (does not shrink with k)")
            return np.zeros(steps.shape), filter.learning_rate * steps
        if scaled <= 1.0:
            notes.append(f"{filter!r}: g is non-negative and non-decreasing, the sup g(λ_(k+1)) is attained")
            return np.zeros(steps.shape), filter(point)[..., 0]
        notes.append(f"{filter!r}: η·λ_(k+1) = {scaled:.4g} > 1, so (1 − ηλ)^t changes sign on the complement and g "
                     "is not monotone: its sup is 1 (even t) or 1 + (η·λ_(k+1) − 1)^t (odd t), not g(λ_(k+1))")
        odd = np.mod(steps, 2) == 1
        return np.zeros(steps.shape), np.where(steps == 0, 0.0, np.where(odd, 1.0 + (scaled - 1.0) ** steps, 1.0))
    if isinstance(filter, Interpolate):
        if test:
            notes.append("interpolate(): g/λ = 1/λ above the null threshold, unbounded as the threshold → 0")
            return np.array(np.nan), np.array(np.nan)
        notes.append("interpolate(): g is 0 or 1")
        return np.zeros(()), np.ones(())
    if isinstance(filter, Mix):
        if test:
            filter.over_eigenvalue(zero)  # a target transform has no test outputs: raises TypeError
        xi = filter.teacher_weight
        low, high = _interval(filter.teacher, top, False, notes)
        ends = (1.0 - xi + xi * low, 1.0 - xi + xi * high)  # affine in g_T: the ends are attained
        if not 0.0 <= xi <= 1.0:
            notes.append(f"mix with teacher_weight = {xi:g} outside [0, 1]: the factor at λ = 0 is 1 − ξ, so the "
                         f"bound never falls below |1 − ξ| = {abs(1.0 - xi):g} whatever k")
        return np.minimum(*ends), np.maximum(*ends)
    if isinstance(filter, Product):
        trained = next((i for i, f in enumerate(filter.filters) if f.trains), None) if test else None
        if test and trained is None:
            filter.over_eigenvalue(zero)  # raises TypeError
        low, high = np.ones(()), np.ones(())
        for index, factor in enumerate(filter.filters):
            low, high = _times((low, high), _interval(factor, top, test and index == trained, notes))
        if len(filter.filters) > 1:
            notes.append("a product: the product of its factors' intervals (not attained in general)")
        return low, high
    if isinstance(filter, LateSwitch):
        scaled = filter.learning_rate * top
        before = GradientDescent(filter.learning_rate, np.minimum(filter.steps, filter.switch_step))
        low_s, high_s = _interval(before, top, test, notes)
        if scaled > 1.0:
            notes.append(f"late_switch with η·λ_(k+1) = {scaled:.4g} > 1: its weight q = (1 − ηλ)^(t−s) changes sign, "
                         "no bound is given")
            return np.full(filter.batch_shape, np.nan), np.full(filter.batch_shape, np.nan)
        low_t, high_t = _interval(filter.teacher, top, test, notes)
        notes.append("late_switch: g = (1 − q)g_T + q g_s with q ∈ [0, 1], within the hull of the two intervals")
        early = filter.steps <= filter.switch_step
        return (np.where(early, low_s, np.minimum(low_s, low_t)), np.where(early, high_s, np.maximum(high_s, high_t)))
    raise ValueError(f"complement_bound has no rule for {filter!r}.")


def complement_bound(filter: Filter, lambda_next: float, *, test: bool = False) -> ComplementBound:
    """Bound the factor ``filter`` applies on the eigendirections a top-k spectrum leaves out (docs/maths.md §9).

    On the complement of the top-k eigenvectors every eigenvalue lies in [0, λ_(k+1)], so with exact pairs

        ‖P_c (F_train − F₀)‖ = ‖g(K) P_c (Y − F₀)‖ ≤ sup_{[0, λ_(k+1)]} |g| · ‖P_c (Y − F₀)‖,
        ‖K_*ᵀ P_c (g/λ)(K) (Y − F₀)‖ ≤ ‖P_c K_*‖ · sup_{[0, λ_(k+1)]} |g/λ| · ‖P_c (Y − F₀)‖

    (P_c the projector on the complement; with approximate pairs add their residual terms). This returns the
    sup: g(λ_(k+1)), attained, for filters non-negative and non-decreasing on [0, λ_(k+1)] (flow, ridge, GD with
    η·λ_(k+1) ≤ 1, their products, mixes with 0 ≤ ξ ≤ 1); for the others the exact sup or a stated bound: GD
    with 1 < η·λ_(k+1) < 2 (1 or 1 + (η·λ_(k+1) − 1)^t), mixes with ξ outside [0, 1] (never below |1 − ξ|), the
    late switch (the larger of its two parts; NaN with η·λ_(k+1) > 1). Test outputs (``test=True``) involve g/λ,
    whose sup is its limit at λ = 0 (ηt for GD, t for flow, 1/c for ridge): it does not shrink with k.

    Example:
        >>> import theory as th
        >>> round(float(th.krylov.complement_bound(th.flow(time=2.0), 0.01).value), 8)  # 1 − e^{−0.02}
        0.01980133
        >>> float(th.krylov.complement_bound(th.flow(time=2.0), 0.01, test=True).value)
        2.0

    Args:
        filter: any filter of theory.filters; its batch shape S is the value's shape.
        lambda_next: λ_(k+1) ≥ 0, the largest eigenvalue not in the top-k (or an upper bound on it).
        test: bound g/λ (test outputs) instead of g (training outputs).

    Returns:
        :class:`ComplementBound` (``value`` of shape S, NaN where none is given, and the ``reason``).

    Raises:
        TypeError: ``test=True`` for a target transform (mix alone), which has no test outputs.
        ValueError: GD with η·λ_(k+1) ≥ 2 (unstable), a negative ``lambda_next``.
    """
    if not isinstance(filter, Filter):
        raise TypeError(f"filter must be a theory filter (th.gd, th.flow, …), got {type(filter).__name__}.")
    top = check_nonnegative(lambda_next, "lambda_next")
    notes: list = []
    low, high = _interval(filter, top, bool(test), notes)
    value = np.broadcast_to(np.maximum(np.abs(low), np.abs(high)), filter.batch_shape).copy()
    return ComplementBound(value=value, reason="; ".join(dict.fromkeys(notes)))
