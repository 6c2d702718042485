"""Synthetic classification data whose Bayes class probabilities p*(x) are known exactly.

The gradient-denoiser view of distillation (docs/maths.md §5, claim C4) is about the label noise e_y − p*(x);
measuring it needs p*. The generative models of ``theory.data.generative`` (:class:`GaussianMixture`,
:class:`LogisticModel`) give it in closed form.

The loaders :func:`load_gaussian_mixture` and :func:`load_logistic` take the keyword conventions of
:func:`~theory.data.load_digits` (``seed``, ``n_train``, ``label_noise``, ``noise_seed``) and return a
:class:`SyntheticDataset`: a :class:`~theory.data.Dataset` whose per-point fields hold ``"p_star"`` (read as
``p_star_train (n, C)`` and ``p_star_test (m, C)``) and which keeps the generating ``model`` (so p* of any new
input is ``model.probabilities(x)``). Both are registered in :data:`theory.data.REGISTRY` as
``"gaussian-mixture"`` and ``"logistic"``. Label draws y ~ p*(x) are :func:`~theory.data.resample_labels`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import as_array
from .._checks import as_probabilities
from .._checks import check_integer
from .._checks import check_seed
from .dataset import Dataset
from .generative import GaussianMixture
from .generative import LogisticModel
from .generative import gaussian_mixture
from .generative import logistic_model
from .labels import check_noise_rate
from .labels import flip_probabilities

__all__ = ["SyntheticDataset", "load_gaussian_mixture", "load_logistic"]

_DEFAULT_N_TRAIN = 1000


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
    label_noise = check_noise_rate(label_noise, model.num_classes, "label_noise")
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
      label_noise: symmetric flip rate in [0, (C − 1)/C) applied to the sampled training labels.
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
      label_noise: symmetric flip rate in [0, (C − 1)/C).
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


