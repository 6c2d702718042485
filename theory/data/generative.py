"""Generative models whose Bayes class probabilities p*(x) are known in closed form (docs/maths.md §5).

* :class:`GaussianMixture`: y ~ Categorical(π), x | y ~ N(μ_y, σ² I_d). By Bayes' rule, with the shared
  isotropic covariance the normalising constants cancel and

      p*(c | x) = softmax_c( log π_c − ‖x − μ_c‖² / (2σ²) ).

* :class:`LogisticModel`: x ~ N(0, I_d), y | x ~ Categorical(softmax(W x + b)), so p*(c | x) = softmax(W x + b)_c.

:func:`gaussian_mixture` and :func:`logistic_model` build them from a few parameters and a seed; the datasets
drawn from them are ``theory.data.synthetic``'s.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import as_array
from .._checks import as_rng
from .._checks import check_integer
from .._checks import check_nonnegative
from .._checks import check_positive
from .._checks import check_seed
from ..metrics import softmax
from .labels import resample_labels

__all__ = ["GaussianMixture", "LogisticModel", "gaussian_mixture", "logistic_model"]


def _check_priors(priors, num_classes: int) -> np.ndarray:
    """Class priors π (C,): positive, summing to 1 (within 1e-8); None means uniform."""
    if priors is None:
        return np.full(num_classes, 1.0 / num_classes)
    priors = as_array(priors, "priors", shape=(num_classes,), what="num_classes")
    if np.any(priors <= 0):
        raise ValueError(f"priors must be > 0 (log π enters p*), got {priors.tolist()}.")
    if abs(priors.sum() - 1.0) > 1e-8:
        raise ValueError(f"priors must sum to 1, got sum {priors.sum():.10g}.")
    return priors


# --------------------------------------------------------------------------------------------------
# generative models


@dataclass(frozen=True, eq=False, repr=False)
class GaussianMixture:
    """Gaussian class-conditionals with a shared isotropic covariance: y ~ π, x | y ~ N(μ_y, σ² I_d).

    Bayes class probabilities (Bayes' rule; the Gaussian normalisers and ‖x‖² cancel in the softmax):

        p*(c | x) = softmax_c( log π_c − ‖x − μ_c‖² / (2σ²) ).

    With two classes and equal priors the Bayes classifier is the perpendicular bisector of μ_0μ_1 and its
    accuracy is Φ(‖μ_0 − μ_1‖ / (2σ)) (Φ the standard normal CDF).

    Example:
      >>> model = gaussian_mixture(num_classes=2, dim=2, separation=2.0, seed=0)
      >>> model.probabilities(model.means).round(3)
      array([[0.881, 0.119],
             [0.119, 0.881]])

    Attributes:
      means: ``(C, d)`` class means μ_c.
      sigma: σ > 0, the per-coordinate standard deviation.
      priors: ``(C,)`` class priors π_c > 0, summing to 1.
    """

    means: np.ndarray
    sigma: float
    priors: np.ndarray

    def __post_init__(self):
        means = as_array(self.means, "means", ndim=2)
        if means.shape[0] < 1:
            raise ValueError(f"means must be a finite (C, d) array with C >= 1, got shape {means.shape}.")
        object.__setattr__(self, "means", means)
        object.__setattr__(self, "sigma", check_positive(self.sigma, "sigma"))
        object.__setattr__(self, "priors", _check_priors(self.priors, means.shape[0]))

    @property
    def num_classes(self) -> int:
        return self.means.shape[0]

    @property
    def input_dim(self) -> int:
        return self.means.shape[1]

    def __repr__(self) -> str:
        return (f"GaussianMixture(num_classes={self.num_classes}, input_dim={self.input_dim}, "
                f"sigma={self.sigma:g}, priors={np.round(self.priors, 4).tolist()})")

    def logits(self, x) -> np.ndarray:
        """``(m, C)`` Bayes log-odds log π_c − ‖x − μ_c‖²/(2σ²) of inputs ``x (m, d)``."""
        x = as_array(x, "x", shape=(None, self.input_dim), what="d from the model")
        squared = np.sum((x[:, None, :] - self.means[None, :, :]) ** 2, axis=-1)
        return np.log(self.priors)[None, :] - squared / (2.0 * self.sigma**2)

    def probabilities(self, x) -> np.ndarray:
        """``(m, C)`` Bayes class probabilities p*(c | x), the softmax of :meth:`logits`."""
        return softmax(self.logits(x))

    def sample(self, n: int, seed) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Draws ``n`` points: labels y ~ π, then x = μ_y + σ ε with ε ~ N(0, I_d).

        Args:
          n: number of points, >= 0.
          seed: non-negative integer seed or a ``np.random.Generator``.

        Returns:
          ``(x (n, d) float64, y (n,) int64, p_star (n, C) float64)``.
        """
        n = check_integer(n, "n", minimum=0)
        rng = as_rng(seed)
        labels = rng.choice(self.num_classes, size=n, p=self.priors).astype(np.int64)
        x = self.means[labels] + self.sigma * rng.standard_normal((n, self.input_dim))
        return x, labels, self.probabilities(x)


@dataclass(frozen=True, eq=False, repr=False)
class LogisticModel:
    """A multinomial-logistic label model on Gaussian inputs: x ~ N(0, I_d), y | x ~ Categorical(softmax(W x + b)).

        p*(c | x) = softmax(W x + b)_c.

    Example:
      >>> model = logistic_model(num_classes=3, dim=2, separation=1.0, seed=0)
      >>> model.probabilities(np.zeros((1, 2))).round(3).tolist()  # b = log π: p*(0) = π
      [[0.333, 0.333, 0.333]]

    Attributes:
      weights: ``(C, d)`` weights W.
      bias: ``(C,)`` biases b.
    """

    weights: np.ndarray
    bias: np.ndarray

    def __post_init__(self):
        weights = as_array(self.weights, "weights", ndim=2)
        if weights.shape[0] < 1:
            raise ValueError(f"weights must be a finite (C, d) array with C >= 1, got shape {weights.shape}.")
        bias = as_array(self.bias, "bias", shape=(weights.shape[0],), what="one per class of weights")
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "bias", bias)

    @property
    def num_classes(self) -> int:
        return self.weights.shape[0]

    @property
    def input_dim(self) -> int:
        return self.weights.shape[1]

    def __repr__(self) -> str:
        return f"LogisticModel(num_classes={self.num_classes}, input_dim={self.input_dim})"

    def logits(self, x) -> np.ndarray:
        """``(m, C)`` logits W x + b of inputs ``x (m, d)``."""
        return as_array(x, "x", shape=(None, self.input_dim), what="d from the model") @ self.weights.T + self.bias[None, :]

    def probabilities(self, x) -> np.ndarray:
        """``(m, C)`` Bayes class probabilities softmax(W x + b)."""
        return softmax(self.logits(x))

    def sample(self, n: int, seed) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Draws ``n`` points: x ~ N(0, I_d), then y ~ Categorical(p*(x)) by :func:`resample_labels`.

        Returns:
          ``(x (n, d) float64, y (n,) int64, p_star (n, C) float64)``.
        """
        n = check_integer(n, "n", minimum=0)
        rng = as_rng(seed)
        x = rng.standard_normal((n, self.input_dim))
        p_star = self.probabilities(x)
        labels = resample_labels(p_star, rng) if n else np.zeros(0, dtype=np.int64)
        return x, labels, p_star


def _simplex_directions(num_classes: int) -> np.ndarray:
    """``(C, C − 1)``: the vertices of a regular simplex centred at 0 with unit pairwise distance.

    The centred basis vectors e_c − 1/C (pairwise distance √2) written in an orthonormal basis of the
    sum-zero subspace (the last C − 1 left singular vectors of the centring matrix), divided by √2.
    """
    centred = np.eye(num_classes) - 1.0 / num_classes
    left, _, _ = np.linalg.svd(centred)
    basis = left[:, : num_classes - 1]  # spans the sum-zero subspace (singular value 1; the null one is last)
    return centred @ basis / np.sqrt(2.0)


def gaussian_mixture(*, num_classes: int = 3, dim: int = 10, separation: float = 3.0, sigma: float = 1.0,
                     priors=None, seed: int = 0) -> GaussianMixture:
    """A :class:`GaussianMixture` whose class means sit on a regular simplex, at a seeded random orientation.

    The C means are the vertices of a regular simplex centred at the origin with every pairwise distance
    ‖μ_a − μ_b‖ = ``separation`` · σ; the simplex spans C − 1 dimensions, embedded in R^d by a random
    orthonormal frame (QR of a Gaussian d × (C − 1) matrix from ``np.random.default_rng(seed)``). The other
    d − C + 1 directions carry no class information. With C = 2 and equal priors the Bayes accuracy is
    Φ(separation / 2).

    Args:
      num_classes: C >= 1.
      dim: d >= C − 1 (and >= 1).
      separation: distance between any two class means in units of σ, >= 0.
      sigma: σ > 0.
      priors: ``(C,)`` class priors, or None for uniform.
      seed: non-negative integer seed of the orientation.

    Returns:
      a :class:`GaussianMixture`.

    Raises:
      ValueError: for any argument outside the ranges above.
    """
    num_classes = check_integer(num_classes, "num_classes", minimum=1)
    dim = check_integer(dim, "dim", minimum=max(1, num_classes - 1))
    separation = check_nonnegative(separation, "separation")
    sigma = check_positive(sigma, "sigma")
    priors = _check_priors(priors, num_classes)
    rng = np.random.default_rng(check_seed(seed))
    frame, _ = np.linalg.qr(rng.standard_normal((dim, max(num_classes - 1, 1))))
    simplex = _simplex_directions(num_classes) if num_classes > 1 else np.zeros((1, 1))
    means = separation * sigma * simplex @ frame[:, : simplex.shape[1]].T
    return GaussianMixture(means=means, sigma=sigma, priors=priors)


def logistic_model(*, num_classes: int = 3, dim: int = 10, separation: float = 3.0, priors=None,
                   seed: int = 0) -> LogisticModel:
    """A :class:`LogisticModel` with random weight rows of norm ``separation`` and bias log π.

    Each row w_c of W is a Gaussian vector rescaled to ‖w_c‖ = ``separation``, so with x ~ N(0, I_d) every
    logit w_cᵀx is exactly N(0, separation²): ``separation`` sets how confident p* typically is. The bias is
    b = log π, so p*(· | 0) = π; the marginal class frequencies equal π only when ``separation`` = 0.

    Args:
      num_classes: C >= 1.
      dim: d >= 1.
      separation: norm of each weight row, >= 0.
      priors: ``(C,)`` positive, summing to 1, or None for uniform.
      seed: non-negative integer seed of the weights.

    Returns:
      a :class:`LogisticModel`.

    Raises:
      ValueError: for any argument outside the ranges above.
    """
    num_classes = check_integer(num_classes, "num_classes", minimum=1)
    dim = check_integer(dim, "dim", minimum=1)
    separation = check_nonnegative(separation, "separation")
    priors = _check_priors(priors, num_classes)
    rng = np.random.default_rng(check_seed(seed))
    weights = rng.standard_normal((num_classes, dim))
    weights *= separation / np.linalg.norm(weights, axis=1, keepdims=True)
    return LogisticModel(weights=weights, bias=np.log(priors))
