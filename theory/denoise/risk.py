"""Menon et al.'s risk variance: the Bayes-distilled risk estimate has lower variance (docs/maths.md §5).

For a fixed predictor f and a sample (x_i, y_i), i = 1..n, the one-hot and the Bayes-distilled empirical
risks R̂_onehot = (1/n) Σ_i ℓ(y_i, f(x_i)) and R̂_distilled = (1/n) Σ_i Σ_c p*_c(x_i) ℓ(c, f(x_i)) are both
unbiased, and by the law of total variance their variances differ by

    Var R̂_onehot − Var R̂_distilled = (1/n) E_x Var[ℓ_y(f(x)) | x]          (the variance gap).

:func:`per_class_losses` and :func:`conditional_loss_variance` give the ingredients,
:func:`monte_carlo_risk_variance` measures both variances over repeated samples beside the formulas and
returns :class:`RiskVariance`. Reference: Menon, Rawat, Reddi, Kim, Kumar (2021), "A statistical
perspective on distillation", ICML.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import as_matrix, as_probabilities, as_rng, check_integer
from ..metrics import log_softmax
from ._common import check_loss, resample_labels

__all__ = ["per_class_losses", "conditional_loss_variance", "RiskVariance", "monte_carlo_risk_variance"]



def per_class_losses(outputs, loss: str = "squared") -> np.ndarray:
    """``(m, C)`` losses ℓ(c, f(x)) of outputs f(x) for every class c.

    Squared: ½‖f − e_c‖² = ½(‖f‖² − 2 f_c + 1). Cross-entropy: −log softmax(f)_c.

    Args:
      outputs: ``(m, C)`` outputs (logits for cross-entropy).
      loss: ``"squared"`` or ``"cross_entropy"``.

    Returns:
      ``(m, C)`` float64.

    Raises:
      ValueError: non-finite outputs, unknown loss.
    """
    outputs = as_matrix(outputs, "outputs")
    if check_loss(loss) == "squared":
        return 0.5 * (np.sum(outputs**2, axis=1, keepdims=True) - 2.0 * outputs + 1.0)
    return -log_softmax(outputs)


def conditional_loss_variance(losses, p_star) -> np.ndarray:
    """Var[ℓ_y(f(x)) | x] = Σ_c p*_c ℓ_c² − (Σ_c p*_c ℓ_c)² per point, over y ~ p*(x).

    Example:
      >>> conditional_loss_variance(np.array([[0.0, 2.0]]), np.array([[0.5, 0.5]])).tolist()
      [1.0]

    Args:
      losses: ``(m, C)`` per-class losses (:func:`per_class_losses`).
      p_star: ``(m, C)`` Bayes probabilities.

    Returns:
      ``(m,)`` non-negative.

    Raises:
      ValueError: mismatched shapes, bad probabilities.
    """
    p_star = as_probabilities(p_star, "p_star")
    losses = as_matrix(losses, "losses", p_star.shape)
    mean = np.sum(p_star * losses, axis=1)
    centred = losses - mean[:, None]  # Σ p (ℓ − m)²: no cancellation
    return np.sum(p_star * centred**2, axis=1)


@dataclass(frozen=True, eq=False, repr=False)
class RiskVariance:
    """One-hot vs Bayes-distilled empirical risk of a fixed predictor over repeated samples of size n.

    Attributes:
      sample_size: n.
      repeats: number of samples drawn.
      onehot_variance, distilled_variance: measured Var R̂_onehot and Var R̂_distilled (ddof = 1).
      onehot_standard_error, distilled_standard_error: their standard errors (delta method).
      gap: measured E(R̂_onehot − R̂_distilled)², which equals the variance gap exactly (the difference has
        mean 0 given the inputs, so it is uncorrelated with R̂_distilled).
      gap_standard_error: its standard error.
      predicted_onehot, predicted_distilled, predicted_gap: the formulas of :func:`monte_carlo_risk_variance`.
    """

    sample_size: int
    repeats: int
    onehot_variance: float
    distilled_variance: float
    onehot_standard_error: float
    distilled_standard_error: float
    gap: float
    gap_standard_error: float
    predicted_onehot: float
    predicted_distilled: float
    predicted_gap: float

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    def __repr__(self) -> str:
        return (f"RiskVariance(n={self.sample_size}, onehot={self.onehot_variance:.4g} "
                f"(predicted {self.predicted_onehot:.4g}), distilled={self.distilled_variance:.4g} "
                f"(predicted {self.predicted_distilled:.4g}), gap={self.gap:.4g} ± "
                f"{self.gap_standard_error:.2g} (predicted {self.predicted_gap:.4g}))")


def _variance_with_error(values: np.ndarray) -> tuple[float, float]:
    squared = (values - values.mean()) ** 2
    return float(values.var(ddof=1)), float(squared.std(ddof=1) / np.sqrt(values.size))


def monte_carlo_risk_variance(losses, p_star, *, sample_size: int, repeats: int = 2000, seed=0) -> RiskVariance:
    """Variance of the one-hot vs the Bayes-distilled risk estimate of a fixed f (Menon et al., 2021).

    For a sample (x_i, y_i), i = 1..n, i.i.d. from the data distribution:

        R̂_onehot = (1/n) Σ_i ℓ(y_i, f(x_i)),    R̂_distilled = (1/n) Σ_i Σ_c p*_c(x_i) ℓ(c, f(x_i)).

    Both are unbiased for the risk; by the law of total variance

        Var R̂_onehot = (1/n) Var_{x,y} ℓ_y(x),   Var R̂_distilled = (1/n) Var_x E[ℓ_y(x) | x],
        Var R̂_onehot − Var R̂_distilled = (1/n) E_x Var[ℓ_y(f(x)) | x]          (the variance gap).

    The distribution of x is the uniform distribution on the given pool of points (draw the pool from the
    generating model; a large pool approximates the population): each repeat draws ``sample_size`` pool
    indices with replacement and fresh labels y_i ~ p*(x_i). For that distribution the three formulas are
    exact, with E_x and Var_x the pool mean and (ddof = 0) variance. Reference: Menon, Rawat, Reddi, Kim,
    Kumar (2021), "A statistical perspective on distillation", ICML.

    Example:
      >>> pool = np.array([[0.5, 0.5], [0.9, 0.1]])
      >>> out = monte_carlo_risk_variance(np.array([[0.0, 1.0], [0.0, 1.0]]), pool, sample_size=10)
      >>> round(out.predicted_gap, 6)
      0.017

    Args:
      losses: ``(N, C)`` per-class losses ℓ(c, f(x)) on the pool (:func:`per_class_losses`).
      p_star: ``(N, C)`` Bayes probabilities on the pool.
      sample_size: n >= 1.
      repeats: number of samples >= 2.
      seed: non-negative integer or ``np.random.Generator``.

    Returns:
      :class:`RiskVariance`.

    Raises:
      ValueError: mismatched shapes, bad probabilities, ``sample_size < 1``, ``repeats < 2``.
    """
    variance_given_x = conditional_loss_variance(losses, p_star)
    losses, p_star = np.asarray(losses, dtype=np.float64), np.asarray(p_star, dtype=np.float64)
    sample_size = check_integer(sample_size, "sample_size", minimum=1)
    repeats = check_integer(repeats, "repeats", minimum=2)
    rng = as_rng(seed)
    expected = np.sum(p_star * losses, axis=1)  # E[ℓ_y | x] per pool point
    index = rng.integers(0, losses.shape[0], size=(repeats, sample_size))
    labels = resample_labels(p_star[index.ravel()], rng).reshape(repeats, sample_size)
    onehot = losses[index, labels].mean(axis=1)
    distilled = expected[index].mean(axis=1)
    onehot_variance, onehot_error = _variance_with_error(onehot)
    distilled_variance, distilled_error = _variance_with_error(distilled)
    squared_gap = (onehot - distilled) ** 2
    predicted_distilled = float(expected.var() / sample_size)
    predicted_gap = float(variance_given_x.mean() / sample_size)
    return RiskVariance(
        sample_size, repeats, onehot_variance, distilled_variance, onehot_error, distilled_error,
        float(squared_gap.mean()), float(squared_gap.std(ddof=1) / np.sqrt(repeats)),
        predicted_distilled + predicted_gap, predicted_distilled, predicted_gap,
    )

