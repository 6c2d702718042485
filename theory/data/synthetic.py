"""Synthetic classification data whose Bayes class probabilities p*(x) are known exactly.

The gradient-denoiser view of distillation (docs/maths.md §5, claim C4) is about the label noise e_y − p*(x);
measuring it needs p*. Two generative models give it in closed form:

* :class:`GaussianMixture`: y ~ Categorical(π), x | y ~ N(μ_y, σ² I_d). By Bayes' rule, with the shared
  isotropic covariance the normalising constants cancel and

      p*(c | x) = softmax_c( log π_c − ‖x − μ_c‖² / (2σ²) ).

* :class:`LogisticModel`: x ~ N(0, I_d), y | x ~ Categorical(softmax(W x + b)), so p*(c | x) = softmax(W x + b)_c.

The loaders :func:`load_gaussian_mixture` and :func:`load_logistic` take the keyword conventions of
:func:`~theory.data.load_digits` (``seed``, ``n_train``, ``label_noise``, ``noise_seed``) and return a
:class:`SyntheticDataset`: a :class:`~theory.data.Dataset` whose per-point fields hold ``"p_star"`` (read as
``p_star_train (n, C)`` and ``p_star_test (m, C)``) and which keeps the generating ``model`` (so p* of any new
input is ``model.probabilities(x)``). Both are registered in :data:`theory.data.REGISTRY` as
``"gaussian-mixture"`` and ``"logistic"``. Label draws y ~ p*(x) are :func:`~theory.data.resample_labels`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .._checks import as_array
from .._checks import as_probabilities
from .._checks import as_rng
from .._checks import check_fraction
from .._checks import check_integer
from .._checks import check_nonnegative
from .._checks import check_positive
from .._checks import check_seed
from ..metrics import softmax
from .dataset import Dataset
from .labels import flip_probabilities
from .labels import resample_labels

__all__ = [
    "GaussianMixture",
    "LogisticModel",
    "SyntheticDataset",
    "gaussian_mixture",
    "logistic_model",
    "load_gaussian_mixture",
    "load_logistic",
]

_DEFAULT_N_TRAIN = 1000


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


# --------------------------------------------------------------------------------------------------
# the dataset


@dataclass(frozen=True, eq=False, repr=False, init=False)
class SyntheticDataset(Dataset):
    """A :class:`~theory.data.Dataset` drawn from a known model, with the Bayes probabilities of every point.

    The probabilities are per-point fields (``train_fields["p_star"]``, ``test_fields["p_star"]``), so
    :meth:`subset`, :meth:`select` and :meth:`with_label_noise` carry them with their points like any other
    field. Training and test labels are draws y ~ p*(x) (``y_test`` are "clean" only in the sense of
    ``theory.data``: no symmetric flip noise; they are still random). With ``label_noise`` the training labels
    are then flipped by :func:`~theory.data.symmetric_label_noise`; ``p_star_train`` stays the distribution of
    the clean labels and :attr:`label_probabilities_train` is that of the flipped ones.

    Example:
      >>> data = load_gaussian_mixture(n_train=200, n_test=100, num_classes=2, dim=2)
      >>> data.p_star_train.shape, data.p_star_test.shape
      ((200, 2), (100, 2))
      >>> bool(np.allclose(data.model.probabilities(data.x_test), data.p_star_test))
      True

    Construct with the ``Dataset`` arguments plus ``p_star_train=``, ``p_star_test=`` (or the fields) and
    ``model=``.

    Attributes (besides those of ``Dataset``):
      p_star_train: ``(n, C)`` float64 Bayes probabilities p*(x_i) of the training inputs.
      p_star_test: ``(m, C)`` float64 Bayes probabilities of the test inputs.
      model: the generating :class:`GaussianMixture` or :class:`LogisticModel` (p* of new inputs, new samples).
    """

    model: GaussianMixture | LogisticModel | None = None

    def __init__(self, name, x_train, y_train, x_test, y_test, num_classes, y_train_clean=None,
                 noise_rate=0.0, input_shape=None, train_fields=None, test_fields=None, *,
                 p_star_train=None, p_star_test=None, model=None):
        train_fields, test_fields = dict(train_fields or {}), dict(test_fields or {})
        for fields, value in ((train_fields, p_star_train), (test_fields, p_star_test)):
            if value is not None:
                fields["p_star"] = value
        object.__setattr__(self, "model", model)
        super().__init__(name, x_train, y_train, x_test, y_test, num_classes, y_train_clean, noise_rate,
                         input_shape, train_fields, test_fields)

    def __post_init__(self):
        num_classes = check_integer(self.num_classes, "num_classes", minimum=1)
        for name, fields, rows in (("p_star_train", self.train_fields, np.shape(self.x_train)[0]),
                                   ("p_star_test", self.test_fields, np.shape(self.x_test)[0])):
            if "p_star" not in fields:
                raise ValueError(f"{name} is required: a SyntheticDataset carries the Bayes probabilities.")
            shape = (rows, num_classes)
            value = (as_probabilities(fields["p_star"], name, shape=shape) if rows
                     else as_array(fields["p_star"], name, shape=shape))
            fields = dict(fields, p_star=value)
            object.__setattr__(self, "train_fields" if name == "p_star_train" else "test_fields", fields)
        super().__post_init__()

    @property
    def p_star_train(self) -> np.ndarray:
        """``(n, C)`` Bayes probabilities p*(x_i) of the training inputs (the field ``"p_star"``)."""
        return self.train_fields["p_star"]

    @property
    def p_star_test(self) -> np.ndarray:
        """``(m, C)`` Bayes probabilities of the test inputs (the field ``"p_star"``)."""
        return self.test_fields["p_star"]

    def __repr__(self) -> str:
        base = super().__repr__()
        return f"Synthetic{base[:-1]}, bayes_accuracy={self.bayes_accuracy:.3f})"

    @property
    def bayes_accuracy(self) -> float:
        """Expected accuracy of the Bayes classifier argmax p*: the mean over test points of max_c p*_c(x).

        An unbiased estimate of the population Bayes accuracy E_x max_c p*(c | x) that does not depend on
        the particular test labels drawn.
        """
        return float(np.mean(np.max(self.p_star_test, axis=1))) if self.n_test else float("nan")

    @property
    def label_probabilities_train(self) -> np.ndarray:
        """``(n, C)`` distribution of ``y_train`` given the inputs: :func:`flip_probabilities` at ``noise_rate``."""
        return flip_probabilities(self.p_star_train, self.noise_rate)


def _draw(name, model, *, seed, n_train, n_test, label_noise, noise_seed) -> SyntheticDataset:
    """Shared tail of the loaders: independent train and test draws, then label noise."""
    n_train = _DEFAULT_N_TRAIN if n_train is None else check_integer(n_train, "n_train", minimum=1)
    n_test = check_integer(n_test, "n_test", minimum=1)
    label_noise = check_fraction(label_noise, "label_noise")
    noise_seed = check_seed(noise_seed, "noise_seed")
    train_stream, test_stream = np.random.SeedSequence([seed, 1]).spawn(2)
    x_train, y_train, p_train = model.sample(n_train, np.random.default_rng(train_stream))
    x_test, y_test, p_test = model.sample(n_test, np.random.default_rng(test_stream))
    data = SyntheticDataset(name, x_train, y_train, x_test, y_test, model.num_classes,
                            p_star_train=p_train, p_star_test=p_test, model=model)
    return data.with_label_noise(label_noise, noise_seed) if label_noise > 0 else data


def load_gaussian_mixture(
    *,
    seed: int = 0,
    n_train: int | None = None,
    n_test: int = 1000,
    num_classes: int = 3,
    dim: int = 10,
    separation: float = 3.0,
    sigma: float = 1.0,
    priors=None,
    label_noise: float = 0.0,
    noise_seed: int = 0,
) -> SyntheticDataset:
    """Gaussian-mixture data with known p* (registered as ``"gaussian-mixture"``).

    The model is :func:`gaussian_mixture` (means on a regular simplex, pairwise distance ``separation``·σ,
    orientation seeded by ``seed``); p*(c | x) = softmax_c(log π_c − ‖x − μ_c‖²/(2σ²)). Training and test
    points are independent draws from streams spawned from ``seed`` (the test set does not depend on
    ``n_train``). Features are not standardised: p* is a function of the raw inputs.

    Example:
      >>> data = load_gaussian_mixture(n_train=500, num_classes=2, separation=2.0)
      >>> data
      SyntheticDataset(name='gaussian-mixture', n_train=500, n_test=1000, input_dim=10, num_classes=2, noise_rate=0, bayes_accuracy=0.841)

    Args:
      seed: non-negative integer seeding the model and the draws.
      n_train: training points, >= 1; None means 1,000.
      n_test: test points, >= 1.
      num_classes: C >= 1.
      dim: input dimension d >= max(1, C − 1).
      separation: distance between class means in units of σ, >= 0.
      sigma: σ > 0.
      priors: ``(C,)`` class priors or None (uniform).
      label_noise: symmetric flip rate in [0, 1) applied to the sampled training labels.
      noise_seed: non-negative integer seeding the flips.

    Returns:
      a :class:`SyntheticDataset` named ``"gaussian-mixture"``.

    Raises:
      ValueError: for any argument outside its range.
    """
    seed = check_seed(seed)
    model = gaussian_mixture(num_classes=num_classes, dim=dim, separation=separation, sigma=sigma,
                             priors=priors, seed=seed)
    return _draw("gaussian-mixture", model, seed=seed, n_train=n_train, n_test=n_test,
                 label_noise=label_noise, noise_seed=noise_seed)


def load_logistic(
    *,
    seed: int = 0,
    n_train: int | None = None,
    n_test: int = 1000,
    num_classes: int = 3,
    dim: int = 10,
    separation: float = 3.0,
    priors=None,
    label_noise: float = 0.0,
    noise_seed: int = 0,
) -> SyntheticDataset:
    """Logistic-model data with known p* (registered as ``"logistic"``).

    The model is :func:`logistic_model`: x ~ N(0, I_d), p*(c | x) = softmax(W x + b)_c with rows ‖w_c‖ =
    ``separation`` and b = log π. Draws as in :func:`load_gaussian_mixture`.

    Example:
      >>> load_logistic(n_train=300, n_test=200).p_star_train.shape
      (300, 3)

    Args:
      seed: non-negative integer seeding the model and the draws.
      n_train: training points, >= 1; None means 1,000.
      n_test: test points, >= 1.
      num_classes: C >= 1.
      dim: d >= 1.
      separation: norm of each weight row (the standard deviation of each logit), >= 0.
      priors: ``(C,)`` or None (uniform); enters as the bias log π.
      label_noise: symmetric flip rate in [0, 1).
      noise_seed: non-negative integer seeding the flips.

    Returns:
      a :class:`SyntheticDataset` named ``"logistic"``.

    Raises:
      ValueError: for any argument outside its range.
    """
    seed = check_seed(seed)
    model = logistic_model(num_classes=num_classes, dim=dim, separation=separation, priors=priors, seed=seed)
    return _draw("logistic", model, seed=seed, n_train=n_train, n_test=n_test,
                 label_noise=label_noise, noise_seed=noise_seed)


