"""The :class:`Dataset` value: train/test features and labels, clean labels, and per-point fields.

Every loader of ``theory.data`` returns one. A dataset is frozen; subsetting and label noise return new
datasets, and carry every per-point field (such as the Bayes probabilities p* of synthetic data) with
their rows.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from .._checks import as_labels
from .._checks import as_matrix
from .._checks import check_integer
from .._checks import check_nonempty
from ._common import split_seeds
from ._common import stratified_rows
from .labels import check_noise_rate
from .labels import one_hot
from .labels import symmetric_label_noise

__all__ = ["Dataset"]


def _check_fields(fields, name: str, rows: int) -> dict:
    """Per-point fields: a mapping from str to arrays whose first axis has ``rows`` entries."""
    if not isinstance(fields, Mapping):
        raise ValueError(f"{name} must be a mapping from names to per-point arrays, got {type(fields).__name__}.")
    checked = {}
    for key, value in fields.items():
        if not isinstance(key, str):
            raise ValueError(f"{name} must have str keys, got {key!r}.")
        value = np.asarray(value)
        if value.ndim < 1 or value.shape[0] != rows:
            raise ValueError(f"{name}[{key!r}] must have {rows} rows (one per point), got shape {value.shape}.")
        checked[key] = value
    return checked


def _check_input_shape(shape, dim: int) -> tuple[int, ...]:
    """The natural shape of one input; its entries multiply to the number of features ``dim``."""
    if shape is None:
        return (dim,)
    try:
        shape = tuple(check_integer(s, "input_shape entries", minimum=1) for s in shape)
    except TypeError:
        raise ValueError(f"input_shape must be a tuple of positive integers, got {shape!r}.") from None
    if int(np.prod(shape)) != dim:
        raise ValueError(f"input_shape must have as many entries in all as there are features, {dim}, got "
                         f"{shape} (product {int(np.prod(shape))}).")
    return shape


def _check_two_classes(labels: np.ndarray, name: str) -> None:
    """The clean training labels must hold at least two classes: one class leaves nothing to classify."""
    present = np.unique(labels)
    if present.size < 2:
        raise ValueError(f"{name} must hold at least 2 classes, got only class {int(present[0])} in all "
                         f"{labels.shape[0]} points (a single-class training set has nothing to classify).")


@dataclass(frozen=True, eq=False)
class Dataset:
    """A classification dataset: features, training labels (possibly noisy), clean labels, per-point fields.

    Frozen: methods return new datasets. Arrays are float64 features and int64 labels; they are
    converted (not copied when already of the right dtype) and validated on construction: a dataset has at
    least one training and one test point, ``C >= 2`` classes, at least two classes among its clean training
    labels, and a noise rate below ``(C − 1)/C`` (see :func:`~theory.data.symmetric_label_noise`).

    Example:
      >>> from theory.data import load_digits
      >>> data = load_digits(n_train=200)
      >>> data.x_train.shape, data.one_hot_train().shape, data.input_shape
      ((200, 64), (200, 10), (8, 8, 1))
      >>> noisy = data.with_label_noise(0.2, seed=0)
      >>> bool(np.array_equal(noisy.y_train_clean, data.y_train))
      True
      >>> tagged = Dataset("toy", np.eye(4), [0, 1, 0, 1], np.eye(4)[:2], [0, 1], 2,
      ...                  train_fields={"weight": [1.0, 2.0, 3.0, 4.0]})
      >>> part = tagged.subset(n_train=2, seed=0)  # the weight of point i is i + 1: it stays with its row
      >>> bool(np.all(part.train_fields["weight"] == 1 + part.x_train.argmax(axis=1)))
      True

    Attributes:
      name: short name, e.g. ``"digits"``.
      x_train: ``(n, d)`` float64 training features.
      y_train: ``(n,)`` int64 labels used for training (noisy if label noise was applied).
      x_test: ``(m, d)`` float64 test features.
      y_test: ``(m,)`` int64 clean test labels.
      num_classes: ``C``.
      y_train_clean: ``(n,)`` int64 clean training labels; defaults to ``y_train`` (no noise).
      noise_rate: the requested symmetric label-noise rate that produced ``y_train`` (0 = clean), below
        ``(C − 1)/C``.
      input_shape: the natural shape of one input (``(8, 8, 1)`` for the digits images), whose entries
        multiply to ``d``; defaults to ``(d,)``. Networks see ``x`` reshaped to ``(n, *input_shape)``.
      train_fields: per-point values of the training points, ``name -> (n, ...)`` array (e.g. ``"p_star"``);
        :meth:`subset` and :meth:`select` keep their rows paired with the points.
      test_fields: the same for the test points, ``name -> (m, ...)``.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    y_train_clean: np.ndarray | None = None
    noise_rate: float = 0.0
    input_shape: tuple[int, ...] | None = None
    train_fields: Mapping[str, np.ndarray] = field(default_factory=dict)
    test_fields: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self):
        num_classes = check_integer(self.num_classes, "num_classes", minimum=2)
        x_train = check_nonempty(as_matrix(self.x_train, "x_train"), "x_train")
        x_test = as_matrix(self.x_test, "x_test", shape=(None, x_train.shape[1]),
                           what=f"as many features as x_train, {x_train.shape[1]}")
        x_test = check_nonempty(x_test, "x_test")
        n, m = x_train.shape[0], x_test.shape[0]
        y_train = as_labels(self.y_train, "y_train", num_classes=num_classes, n=n)
        y_test = as_labels(self.y_test, "y_test", num_classes=num_classes, n=m)
        y_clean = y_train.copy() if self.y_train_clean is None else self.y_train_clean
        y_clean = as_labels(y_clean, "y_train_clean", num_classes=num_classes, n=n)
        _check_two_classes(y_clean, "y_train" if self.y_train_clean is None else "y_train_clean")
        for name, value in (
            ("num_classes", num_classes),
            ("x_train", x_train),
            ("y_train", y_train),
            ("x_test", x_test),
            ("y_test", y_test),
            ("y_train_clean", y_clean),
            ("noise_rate", check_noise_rate(self.noise_rate, num_classes, "noise_rate")),
            ("input_shape", _check_input_shape(self.input_shape, x_train.shape[1])),
            ("train_fields", _check_fields(self.train_fields, "train_fields", n)),
            ("test_fields", _check_fields(self.test_fields, "test_fields", m)),
        ):
            object.__setattr__(self, name, value)

    @property
    def n_train(self) -> int:
        """Number of training points ``n``."""
        return self.x_train.shape[0]

    @property
    def n_test(self) -> int:
        """Number of test points ``m``."""
        return self.x_test.shape[0]

    @property
    def input_dim(self) -> int:
        """Number of features ``d``."""
        return self.x_train.shape[1]

    @property
    def noisy_mask(self) -> np.ndarray:
        """``(n,)`` bool: which training labels differ from the clean ones."""
        return self.y_train != self.y_train_clean

    @property
    def realised_noise_rate(self) -> float:
        """Fraction of training labels that differ from the clean ones (≈ ``noise_rate``)."""
        return float(self.noisy_mask.mean()) if self.n_train else 0.0

    def __repr__(self) -> str:
        noise = f"noise_rate={self.noise_rate:g}"
        if self.noise_rate > 0 or self.noisy_mask.any():
            noise += f" (realised {self.realised_noise_rate:.3f})"
        return (
            f"Dataset(name={self.name!r}, n_train={self.n_train}, n_test={self.n_test}, "
            f"input_dim={self.input_dim}, num_classes={self.num_classes}, {noise})"
        )

    def one_hot_train(self) -> np.ndarray:
        """``(n, C)`` float64 one-hot encoding of ``y_train`` (the possibly noisy training labels)."""
        return one_hot(self.y_train, self.num_classes)

    def one_hot_test(self) -> np.ndarray:
        """``(m, C)`` float64 one-hot encoding of ``y_test``."""
        return one_hot(self.y_test, self.num_classes)

    def with_label_noise(self, rate: float, seed: int = 0) -> Dataset:
        """Returns a copy whose ``y_train`` is :func:`~theory.data.symmetric_label_noise` of the clean labels.

        Noise is drawn from ``y_train_clean``, never from the current ``y_train``, so calls do not stack:
        ``d.with_label_noise(r, s).with_label_noise(r, s)`` equals ``d.with_label_noise(r, s)`` and
        ``with_label_noise(0.0)`` restores the clean labels. Features, test set and per-point fields are
        shared.

        Args:
          rate: flip probability in ``[0, (C − 1)/C)`` (at ``(C − 1)/C`` the labels carry no information).
          seed: non-negative integer seed.

        Returns:
          A new dataset of the same type with ``noise_rate = rate``.

        Raises:
          ValueError: if ``rate`` is outside ``[0, (C − 1)/C)`` or ``seed`` is not a non-negative integer.
        """
        noisy = symmetric_label_noise(self.y_train_clean, rate, self.num_classes, seed)
        return dataclasses.replace(self, y_train=noisy, noise_rate=rate)

    def select(self, train=None, test=None) -> Dataset:
        """The dataset restricted to the given rows, with every per-point field restricted alike.

        Args:
          train: training rows to keep (an integer index array or a boolean mask); None keeps all.
          test: test rows to keep; None keeps all.

        Returns:
          A new dataset of the same type, name, classes, noise rate and input shape.
        """
        train = slice(None) if train is None else np.asarray(train)
        test = slice(None) if test is None else np.asarray(test)
        return dataclasses.replace(
            self,
            x_train=self.x_train[train],
            y_train=self.y_train[train],
            y_train_clean=self.y_train_clean[train],
            x_test=self.x_test[test],
            y_test=self.y_test[test],
            train_fields={key: value[train] for key, value in self.train_fields.items()},
            test_fields={key: value[test] for key, value in self.test_fields.items()},
        )

    def subset(self, n_train: int | None = None, n_test: int | None = None, seed: int = 0) -> Dataset:
        """Returns a stratified, seeded subset of the training and/or test points.

        Uses :func:`~theory.data.stratified_indices` on the clean labels, so class proportions are kept to
        within one point per class; noisy and clean training labels and the per-point fields stay paired. The
        train and test draws use independent streams spawned from ``seed``, so the test subset does not depend
        on ``n_train``. The features are not re-standardised.

        Args:
          n_train: training points to keep, ``0 < n_train <= self.n_train``; None keeps all (in order).
          n_test: test points to keep, ``0 < n_test <= self.n_test``; None keeps all (in order).
          seed: non-negative integer seed.

        Returns:
          A new dataset of the same type with the same name, classes and ``noise_rate``.

        Raises:
          ValueError: if a requested size is not an integer in ``[1, available]``.
        """
        train_seed, test_seed = split_seeds(seed)
        return self.select(stratified_rows(self.y_train_clean, n_train, train_seed, "n_train"),
                           stratified_rows(self.y_test, n_test, test_seed, "n_test"))
