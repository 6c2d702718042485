"""Synthetic classification data whose Bayes class probabilities p*(x) are known exactly.

The gradient-denoiser view of distillation (SCIENCE.md §5, claim C4) is about the label noise e_y − p*(x);
measuring it needs p*. Two generative models give it in closed form:

* :class:`GaussianMixture`: y ~ Categorical(π), x | y ~ N(μ_y, σ² I_d). By Bayes' rule, with the shared
  isotropic covariance the normalising constants cancel and

      p*(c | x) = softmax_c( log π_c − ‖x − μ_c‖² / (2σ²) ).

* :class:`LogisticModel`: x ~ N(0, I_d), y | x ~ Categorical(softmax(W x + b)), so p*(c | x) = softmax(W x + b)_c.

The loaders :func:`load_gaussian_mixture` and :func:`load_logistic` take the keyword conventions of
``theory.data.load_digits`` (``seed``, ``n_train``, ``label_noise``, ``noise_seed``) and return a
:class:`SyntheticDataset`: a ``theory.data.Dataset`` that also carries ``p_star_train (n, C)``,
``p_star_test (m, C)`` and the generating ``model`` (so p* of any new input is ``model.probabilities(x)``).
Importing this module registers both loaders in ``theory.data.DATASETS`` as ``"gaussian-mixture"`` and
``"logistic"``. :func:`resample_labels` draws fresh labels y ~ p*(x) for Monte Carlo over label noise.
"""
from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass

import numpy as np

from .data import DATASETS, Dataset, _check_int, _check_rate, _check_seed
from .metrics import check_probabilities, softmax

__all__ = [
    "GaussianMixture",
    "LogisticModel",
    "SyntheticDataset",
    "LOADERS",
    "gaussian_mixture",
    "logistic_model",
    "load_gaussian_mixture",
    "load_logistic",
    "resample_labels",
    "flip_probabilities",
]

_DEFAULT_N_TRAIN = 1000


# --------------------------------------------------------------------------------------------------
# validation


def _check_positive(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite real number > 0, got {value!r}.")
    return float(value)


def _check_nonnegative(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (np.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite real number >= 0, got {value!r}.")
    return float(value)


def _check_priors(priors, num_classes: int) -> np.ndarray:
    """Class priors π (C,): positive, summing to 1 (within 1e-8); None means uniform."""
    if priors is None:
        return np.full(num_classes, 1.0 / num_classes)
    priors = np.asarray(priors, dtype=np.float64)
    if priors.shape != (num_classes,):
        raise ValueError(f"priors must have shape (num_classes,) = ({num_classes},), got {priors.shape}.")
    if not np.all(np.isfinite(priors)) or np.any(priors <= 0):
        raise ValueError(f"priors must be finite and > 0 (log π enters p*), got {priors.tolist()}.")
    if abs(priors.sum() - 1.0) > 1e-8:
        raise ValueError(f"priors must sum to 1, got sum {priors.sum():.10g}.")
    return priors


def _as_rng(seed, name: str = "seed") -> np.random.Generator:
    """A numpy Generator from a non-negative integer seed, or the Generator itself."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(_check_seed(seed, name))


def _as_inputs(x, dim: int, name: str = "x") -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f"{name} must have shape (m, d) with d = {dim}, got {x.shape}.")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return x


# --------------------------------------------------------------------------------------------------
# label draws


def resample_labels(p_star, seed, *, draws: int | None = None) -> np.ndarray:
    """Draws labels y_i ~ Categorical(p*(x_i)) independently per point (and per draw).

    Inverse-CDF sampling: with u ~ U[0, 1), y = #{c : u ≥ cumsum(p)_c / cumsum(p)_{C−1}}; dividing by the last
    cumulative sum absorbs round-off in rows that sum to 1 only to ~1e-16, so y always lies in [0, C).

    Example:
      >>> p_star = np.array([[1.0, 0.0], [0.0, 1.0]])
      >>> resample_labels(p_star, 0, draws=3).tolist()
      [[0, 1], [0, 1], [0, 1]]

    Args:
      p_star: ``(n, C)`` class probabilities (rows sum to 1 within 1e-6).
      seed: non-negative integer seed, or a ``np.random.Generator`` (advanced in place).
      draws: None for one draw ``(n,)``; an integer >= 1 for ``draws`` independent draws ``(draws, n)``.

    Returns:
      int64 labels, ``(n,)`` or ``(draws, n)``.

    Raises:
      ValueError: if ``p_star`` are not probabilities, ``seed`` is neither a non-negative integer nor a
        Generator, or ``draws < 1``.
    """
    p_star = check_probabilities(p_star, "p_star")
    rng = _as_rng(seed)
    shape = (p_star.shape[0],) if draws is None else (_check_int(draws, "draws", minimum=1), p_star.shape[0])
    cumulative = np.cumsum(p_star, axis=1)
    cumulative = cumulative / cumulative[:, -1:]
    uniform = rng.random(shape)
    labels = np.sum(uniform[..., None] >= cumulative, axis=-1)
    return np.minimum(labels, p_star.shape[1] - 1).astype(np.int64)


def flip_probabilities(p_star, rate: float) -> np.ndarray:
    """Class probabilities of a label drawn from p* and then flipped by ``theory.data.symmetric_label_noise``.

    A label is kept with probability 1 − r and otherwise replaced by one of the other C − 1 classes uniformly:

        P(ỹ = c | x) = (1 − r) p*_c(x) + r (1 − p*_c(x)) / (C − 1).

    Example:
      >>> flip_probabilities(np.array([[1.0, 0.0, 0.0]]), 0.3).round(3).tolist()
      [[0.7, 0.15, 0.15]]

    Args:
      p_star: ``(n, C)`` class probabilities of the clean labels.
      rate: flip probability r in [0, 1); C >= 2 when r > 0.

    Returns:
      ``(n, C)`` float64 probabilities of the noisy labels.

    Raises:
      ValueError: bad probabilities, ``rate`` outside [0, 1), or C < 2 with r > 0.
    """
    p_star = check_probabilities(p_star, "p_star")
    rate = _check_rate(rate, "rate")
    if rate == 0.0:
        return p_star.copy()
    num_classes = p_star.shape[1]
    if num_classes < 2:
        raise ValueError("p_star must have C >= 2 classes to flip labels to a different class (rate > 0).")
    return (1.0 - rate) * p_star + rate * (1.0 - p_star) / (num_classes - 1)


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
        means = np.asarray(self.means, dtype=np.float64)
        if means.ndim != 2 or means.shape[0] < 1 or not np.all(np.isfinite(means)):
            raise ValueError(f"means must be a finite (C, d) array, got shape {means.shape}.")
        object.__setattr__(self, "means", means)
        object.__setattr__(self, "sigma", _check_positive(self.sigma, "sigma"))
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
        x = _as_inputs(x, self.input_dim)
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
        n = _check_int(n, "n", minimum=0)
        rng = _as_rng(seed)
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
        weights = np.asarray(self.weights, dtype=np.float64)
        bias = np.asarray(self.bias, dtype=np.float64)
        if weights.ndim != 2 or weights.shape[0] < 1 or not np.all(np.isfinite(weights)):
            raise ValueError(f"weights must be a finite (C, d) array, got shape {weights.shape}.")
        if bias.shape != (weights.shape[0],) or not np.all(np.isfinite(bias)):
            raise ValueError(f"bias must be a finite ({weights.shape[0]},) array, got shape {bias.shape}.")
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
        return _as_inputs(x, self.input_dim) @ self.weights.T + self.bias[None, :]

    def probabilities(self, x) -> np.ndarray:
        """``(m, C)`` Bayes class probabilities softmax(W x + b)."""
        return softmax(self.logits(x))

    def sample(self, n: int, seed) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Draws ``n`` points: x ~ N(0, I_d), then y ~ Categorical(p*(x)) by :func:`resample_labels`.

        Returns:
          ``(x (n, d) float64, y (n,) int64, p_star (n, C) float64)``.
        """
        n = _check_int(n, "n", minimum=0)
        rng = _as_rng(seed)
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
    num_classes = _check_int(num_classes, "num_classes", minimum=1)
    dim = _check_int(dim, "dim", minimum=max(1, num_classes - 1))
    separation = _check_nonnegative(separation, "separation")
    sigma = _check_positive(sigma, "sigma")
    priors = _check_priors(priors, num_classes)
    rng = np.random.default_rng(_check_seed(seed))
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
    num_classes = _check_int(num_classes, "num_classes", minimum=1)
    dim = _check_int(dim, "dim", minimum=1)
    separation = _check_nonnegative(separation, "separation")
    priors = _check_priors(priors, num_classes)
    rng = np.random.default_rng(_check_seed(seed))
    weights = rng.standard_normal((num_classes, dim))
    weights *= separation / np.linalg.norm(weights, axis=1, keepdims=True)
    return LogisticModel(weights=weights, bias=np.log(priors))


# --------------------------------------------------------------------------------------------------
# the dataset


@dataclass(frozen=True, eq=False, repr=False)
class SyntheticDataset(Dataset):
    """A :class:`theory.data.Dataset` drawn from a known model, with the Bayes probabilities of every point.

    Training and test labels are draws y ~ p*(x) (``y_test`` are "clean" only in the sense of
    ``theory.data``: no symmetric flip noise; they are still random). With ``label_noise`` the training labels
    are then flipped by ``theory.data.symmetric_label_noise``; ``p_star_train`` stays the distribution of the
    clean labels and :attr:`label_probabilities_train` is that of the flipped ones.

    Example:
      >>> data = load_gaussian_mixture(n_train=200, n_test=100, num_classes=2, dim=2)
      >>> data.p_star_train.shape, data.p_star_test.shape
      ((200, 2), (100, 2))
      >>> bool(np.allclose(data.model.probabilities(data.x_test), data.p_star_test))
      True

    Attributes (besides those of ``Dataset``):
      p_star_train: ``(n, C)`` float64 Bayes probabilities p*(x_i) of the training inputs.
      p_star_test: ``(m, C)`` float64 Bayes probabilities of the test inputs.
      model: the generating :class:`GaussianMixture` or :class:`LogisticModel` (p* of new inputs, new samples).
    """

    p_star_train: np.ndarray | None = None
    p_star_test: np.ndarray | None = None
    model: GaussianMixture | LogisticModel | None = None

    def __post_init__(self):
        super().__post_init__()
        for name, rows in (("p_star_train", self.n_train), ("p_star_test", self.n_test)):
            value = getattr(self, name)
            if value is None:
                raise ValueError(f"{name} is required: a SyntheticDataset carries the Bayes probabilities.")
            value = check_probabilities(value, name) if rows else np.asarray(value, dtype=np.float64)
            if value.shape != (rows, self.num_classes):
                raise ValueError(f"{name} must have shape ({rows}, {self.num_classes}), got {value.shape}.")
            object.__setattr__(self, name, value)

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

    def subset(self, n_train: int | None = None, n_test: int | None = None, seed: int = 0) -> "SyntheticDataset":
        """``Dataset.subset`` (same stratified, seeded draw), keeping ``p_star_*`` paired with their points.

        The parent's draw is reused exactly by running it on a copy whose last feature column holds the row
        index, then reading the kept indices back.
        """
        tagged = Dataset(
            self.name, np.c_[self.x_train, np.arange(self.n_train)], self.y_train,
            np.c_[self.x_test, np.arange(self.n_test)], self.y_test, self.num_classes,
            self.y_train_clean, self.noise_rate,
        ).subset(n_train, n_test, seed)
        train, test = (tagged.x_train[:, -1].astype(np.int64), tagged.x_test[:, -1].astype(np.int64))
        return dataclasses.replace(
            self, x_train=self.x_train[train], y_train=self.y_train[train],
            y_train_clean=self.y_train_clean[train], x_test=self.x_test[test], y_test=self.y_test[test],
            p_star_train=self.p_star_train[train], p_star_test=self.p_star_test[test],
        )


def _draw(name, model, *, seed, n_train, n_test, label_noise, noise_seed) -> SyntheticDataset:
    """Shared tail of the loaders: independent train and test draws, then label noise."""
    n_train = _DEFAULT_N_TRAIN if n_train is None else _check_int(n_train, "n_train", minimum=1)
    n_test = _check_int(n_test, "n_test", minimum=1)
    label_noise = _check_rate(label_noise, "label_noise")
    noise_seed = _check_seed(noise_seed, "noise_seed")
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
    seed = _check_seed(seed)
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
    seed = _check_seed(seed)
    model = logistic_model(num_classes=num_classes, dim=dim, separation=separation, priors=priors, seed=seed)
    return _draw("logistic", model, seed=seed, n_train=n_train, n_test=n_test,
                 label_noise=label_noise, noise_seed=noise_seed)


LOADERS = {"gaussian-mixture": load_gaussian_mixture, "logistic": load_logistic}
"""The synthetic loaders by name; registered in ``theory.data.DATASETS`` on import (the registry's convention)."""
DATASETS.update(LOADERS)
