"""Teacher → student chains in closed form: self-distillation rounds, mixed targets, late switch, Mobahi rounds.

Every model here is trained from the same initial outputs F₀ (zero by default). Then a round trained by filter
g_j on targets (1 − ξ_j) Y + ξ_j F_{j−1} has (docs/maths.md §3)

    F_j = F₀ + G_j (Y − F₀),   G_0 = g_0,   G_j = g_j · (1 − ξ_j + ξ_j G_{j−1}),

so a chain is one composed filter: ``G_j = g_j * mix(ξ_j, G_{j−1})`` (``= g_j * G_{j−1}`` for ξ_j = 1). The
functions below compute the rounds *sequentially* (each student is literally trained on the previous model's
training outputs), which is what the tests check against the composed filter and against simulated GD.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import check_integer, check_positive
import scipy.optimize

from .filters import Filter, compose, mix, ridge
from .predict import Prediction, make_predictor
from .spectral import Spectrum

__all__ = ["Chain", "chain", "chain_filters", "MobahiRounds", "mobahi_rounds"]


@dataclass(frozen=True, repr=False)
class Chain:
    """Result of :func:chain.

    Attributes:
        predictions: one :class:`~theory.predict.Prediction` per round (round 0 is the teacher).
        filters: the effective filter G_j of each round with respect to the labels Y (so that
            ``th.predict(spectrum, y, chain.filters[j])`` reproduces round j in one step).
        teacher_weights: ξ_j per round (ξ_0 is unused and reported as 0).
    """

    predictions: tuple
    filters: tuple
    teacher_weights: tuple

    def __len__(self):
        return len(self.predictions)

    def __getitem__(self, index) -> Prediction:
        return self.predictions[index]

    def factors(self, eigenvalues) -> list:
        """Effective factors G_j(λ) of every round, a list of ``S_j + (n,)`` arrays."""
        return [f(eigenvalues) for f in self.filters]

    def __repr__(self):
        rounds = ", ".join(repr(f) for f in self.filters)
        return f"Chain(rounds={len(self)}: [{rounds}])"


def chain(
    spectrum: Spectrum,
    y,
    filters,
    *,
    teacher_weights=1.0,
    k_train_test=None,
    f_train_0=None,
    f_test_0=None,
) -> Chain:
    """Train a teacher and a chain of students, each on the previous model's training outputs.

    Round 0 trains ``filters[0]`` on Y. Round j ≥ 1 trains ``filters[j]`` on the targets
    ``(1 − ξ_j) Y + ξ_j F_{j−1}`` (ξ = ``teacher_weights``; 1 is pure distillation, 0 is one-hot). All rounds
    start from the same initial outputs ``f_train_0`` / ``f_test_0``. Trajectory filters broadcast: a
    teacher with ``steps`` of shape (T,) and a student with a scalar budget gives students of shape (T, n, C).

    Example:
        >>> import numpy as np, theory as th
        >>> x = np.random.default_rng(0).normal(size=(40, 5))
        >>> spectrum = th.Spectrum.from_features(x)
        >>> rounds = th.chain(spectrum, x[:, 0], [th.gd(0.01, 50)] * 3)
        >>> rounds.filters[2]
        gd(learning_rate=0.01, steps=50) * gd(learning_rate=0.01, steps=50) * gd(learning_rate=0.01, steps=50)

    Args:
        spectrum: :class:`~theory.spectral.Spectrum` of ``k_train_train (n, n)``.
        y: ``(n,)`` or ``(n, C)`` labels / targets.
        filters: a sequence of at least one trained-model filter (round 0 is the teacher).
        teacher_weights: ξ for rounds 1, 2, …: a number (all rounds) or a sequence of ``len(filters) − 1``.
        k_train_test: optional ``(n, m)`` train–test kernel for test predictions.
        f_train_0, f_test_0: optional common initial outputs.

    Returns:
        :class:Chain.
    """
    filters, weights = _chain_arguments(filters, teacher_weights)
    labels = np.asarray(y, dtype=np.float64)
    options = dict(k_train_test=k_train_test, f_train_0=f_train_0, f_test_0=f_test_0)
    predictions = [make_predictor(spectrum, labels, **options)(filters[0])]
    for j in range(1, len(filters)):
        xi = float(weights[j - 1])
        targets = (1.0 - xi) * labels + xi * predictions[-1].train
        predictions.append(make_predictor(spectrum, targets, **options)(filters[j]))
    return Chain(tuple(predictions), chain_filters(filters, weights), (0.0, *map(float, weights)))


def chain_filters(filters, teacher_weights=1.0) -> tuple:
    """The effective filter G_j of every round of a chain, with respect to the labels Y (no data needed).

        G_0 = g_0,    G_j = g_j * mix(ξ_j, G_{j−1})   (= g_j * G_{j−1} for ξ_j = 1)

    This is the one place chains are composed: :func:`chain` trains the same rounds on data, and
    :mod:`theory.selfdistill` evaluates their risk.

    Example:
        >>> import theory as th
        >>> chain_filters([th.ridge(1.0)] * 2, teacher_weights=0.5)[-1]
        ridge(strength=1) * mix(teacher_weight=0.5, teacher=ridge(strength=1))

    Args:
        filters: a sequence of at least one trained-model filter (round 0 is the teacher).
        teacher_weights: ξ for rounds 1, 2, …: a number (all rounds) or a sequence of ``len(filters) − 1``.

    Returns:
        ``(G_0, …, G_r)``, one filter per round.
    """
    filters, weights = _chain_arguments(filters, teacher_weights)
    effective = [filters[0]]
    for j in range(1, len(filters)):
        xi = float(weights[j - 1])
        effective.append(compose(filters[j], effective[-1] if xi == 1.0 else mix(xi, effective[-1])))
    return tuple(effective)


def _chain_arguments(filters, teacher_weights):
    """Validated ``(filters as a list, weights (len(filters) − 1,))`` of a chain."""
    filters = list(filters)
    if not filters:
        raise ValueError("filters must hold at least one filter (the teacher).")
    for j, f in enumerate(filters):
        if not isinstance(f, Filter) or not f.trains:
            raise TypeError(f"`filters[{j}]` must be a trained-model filter (th.gd, th.flow, th.ridge, …), got {f!r}.")
    weights = np.broadcast_to(np.asarray(teacher_weights, dtype=np.float64), (len(filters) - 1,)) if np.ndim(
        teacher_weights
    ) == 0 else np.asarray(teacher_weights, dtype=np.float64)
    if weights.shape != (len(filters) - 1,):
        raise ValueError(
            f"teacher_weights must be a number or a sequence of len(filters) - 1 = {len(filters) - 1} values, "
            f"got shape {weights.shape}."
        )
    if not np.all(np.isfinite(weights)):
        raise ValueError("teacher_weights must be finite.")
    return filters, weights


@dataclass(frozen=True, repr=False)
class MobahiRounds:
    """Result of :func:mobahi_rounds.

    Attributes:
        strengths: ``(r,)`` ridge strength c_j used in round j (``inf`` once the solution has collapsed).
        factors: ``(r, n)`` cumulative factors Π_{i≤j} λ/(λ + c_i) per eigendirection after round j.
        residuals: ``(r,)`` training residual ‖F_j − y_j‖² of round j against its own targets y_j.
        predictions: one :class:`~theory.predict.Prediction` per round.
        collapsed_at: index of the first round whose solution is identically 0 (None if none collapsed).
        epsilon: the residual budget ε of the constrained form (None for fixed strengths).
    """

    strengths: np.ndarray
    factors: np.ndarray
    residuals: np.ndarray
    predictions: tuple
    collapsed_at: int | None
    epsilon: float | None

    def effective_rank(self, threshold: float = 0.5) -> np.ndarray:
        """``(r,)`` number of eigendirections whose cumulative factor exceeds ``threshold`` after each round."""
        return np.sum(self.factors > threshold, axis=1)

    def __repr__(self):
        return (
            f"MobahiRounds(rounds={len(self.strengths)}, strengths={np.array2string(self.strengths, precision=3)}, "
            f"collapsed_at={self.collapsed_at})"
        )


def _solve_strength(eigenvalues, energy, epsilon) -> float:
    """Smallest-norm ridge strength c with Σ_k (c/(λ_k + c))² e_k = ε (e_k: target energy per direction).

    The residual r(c) increases monotonically from r(0⁺) = Σ_{λ_k=0} e_k to r(∞) = Σ e_k, so a unique root exists
    when r(0⁺) < ε < Σ e_k. It is bracketed in log c and solved with Brent's method to relative 1e-13.
    """

    def excess(log_strength):
        strength = np.exp(log_strength)
        return float(np.sum((strength / (eigenvalues + strength)) ** 2 * energy)) - epsilon

    positive = eigenvalues[eigenvalues > 0]
    low = np.log(positive.min()) - 10.0 if positive.size else -50.0
    high = np.log(max(eigenvalues.max(), 1e-300)) + 10.0
    while excess(low) > 0:
        low -= 10.0
    while excess(high) < 0:
        high += 10.0
    return float(np.exp(scipy.optimize.brentq(excess, low, high, xtol=1e-14, rtol=1e-13)))


def mobahi_rounds(spectrum: Spectrum, y, rounds: int, *, strength=None, epsilon=None, k_train_test=None) -> MobahiRounds:
    """Repeated kernel-ridge self-distillation (Mobahi, Farajtabar & Bartlett, NeurIPS 2020).

    Round j fits ridge regression to the previous round's training outputs: y_0 = Y, y_{j+1} = F_j with
    F_j = K (K + c_j I)⁻¹ y_j, so after round j the k-th label coordinate is multiplied by
    Π_{i≤j} λ_k/(λ_k + c_i): small-eigenvalue directions are suppressed faster and faster.

    Two forms:

    * fixed strengths: ``strength`` a number (every round) or a sequence of ``rounds`` values;
    * constrained (Mobahi et al.'s form): ``epsilon`` ε > 0. Each round solves min ‖f‖²_H subject to
      ‖f(X) − y_j‖² ≤ ε (summed squared error, this toolkit's convention; their (1/n)-mean form is ε·n here).
      If ‖y_j‖² ≤ ε the zero function is feasible and optimal: the solution **collapses** to 0 and stays there
      (strength = inf). Otherwise the constraint is active and c_j solves Σ_k (c/(λ_k + c))² ‖u_kᵀy_j‖² = ε,
      found by Brent's method on log c (the left side increases monotonically in c). As ‖y_j‖ shrinks each
      round while ε stays fixed, c_j grows and fewer directions survive, until the collapse.

    Args:
        spectrum: :class:`~theory.spectral.Spectrum` of ``k_train_train``.
        y: ``(n,)`` or ``(n, C)`` labels.
        rounds: number of ridge fits r ≥ 1 (round 0 fits the labels).
        strength: fixed strengths (exclusive with ``epsilon``).
        epsilon: residual budget ε (exclusive with ``strength``).
        k_train_test: optional ``(n, m)`` for test predictions.

    Returns:
        :class:MobahiRounds.

    Raises:
        ValueError: both or neither of ``strength``/``epsilon``; ε ≤ 0; ε not above the residual that the
            kernel's null space forces (no strength reaches it); rounds < 1.
    """
    rounds = check_integer(rounds, "rounds", minimum=1)
    if (strength is None) == (epsilon is None):
        raise ValueError("pass exactly one of strength (fixed ridge strengths) or epsilon (constrained form).")
    if strength is not None:
        strengths = np.broadcast_to(np.asarray(strength, dtype=np.float64), (rounds,)).copy() if np.ndim(
            strength
        ) == 0 else np.asarray(strength, dtype=np.float64)
        if strengths.shape != (rounds,):
            raise ValueError(f"strength must be a number or {rounds} values, got shape {strengths.shape}.")
        ridge(strengths)  # validates: finite and > 0
    else:
        epsilon = check_positive(epsilon, "epsilon")

    eigenvalues = spectrum.eigenvalues
    targets = np.asarray(y, dtype=np.float64)
    used, predictions, residuals, collapsed_at = [], [], [], None
    for j in range(rounds):
        predict_fn = make_predictor(spectrum, targets, k_train_test=k_train_test)
        coordinates = spectrum.coordinates(targets)
        energy = coordinates**2 if coordinates.ndim == 1 else np.sum(coordinates**2, axis=-1)
        if strength is not None:
            c = float(strengths[j])
        elif collapsed_at is not None or energy.sum() <= epsilon:
            collapsed_at = j if collapsed_at is None else collapsed_at
            c = np.inf
        else:
            forced = float(energy[eigenvalues <= 0].sum())
            if forced >= epsilon:
                raise ValueError(
                    f"epsilon = {epsilon:.4g} is not above the residual {forced:.4g} that the kernel's null space "
                    "forces on every ridge solution; choose a larger epsilon."
                )
            c = _solve_strength(eigenvalues, energy, float(epsilon))
        if np.isinf(c):
            zero = np.zeros_like(targets)
            test = None if k_train_test is None else np.zeros(np.shape(k_train_test)[1:] + targets.shape[1:])
            prediction = Prediction(train=zero, test=test, filter=ridge(np.finfo(np.float64).max))
        else:
            prediction = predict_fn(ridge(c))
        residuals.append(float(np.sum((prediction.train - targets) ** 2)))
        used.append(c)
        predictions.append(prediction)
        targets = prediction.train
    strengths_used = np.asarray(used)
    with np.errstate(invalid="ignore"):
        per_round = np.where(
            np.isinf(strengths_used)[:, None], 0.0, eigenvalues / (eigenvalues + np.where(np.isinf(strengths_used), 1.0, strengths_used)[:, None])
        )
    return MobahiRounds(
        strengths=strengths_used,
        factors=np.cumprod(per_round, axis=0),
        residuals=np.asarray(residuals),
        predictions=tuple(predictions),
        collapsed_at=collapsed_at,
        epsilon=None if epsilon is None else float(epsilon),
    )
