"""Datasets for the theory toolkit: a small frozen container, label noise, and offline loaders.

Every loader returns a :class:`Dataset` of float64 features and int64 labels, built without network
access: scikit-learn's embedded 8×8 digits and MNIST-1D generated on the fly by the ``mnist1d`` package.
Label noise is *symmetric, flip to a different class*: each training label is, with probability
``rate``, replaced by one of the other ``C - 1`` classes drawn uniformly, so the realised fraction of
wrong labels is ≈ ``rate`` (not ``rate · (C - 1) / C`` as with "resample uniformly from all classes").
Noise is always applied to the clean labels, which the dataset keeps in ``y_train_clean``.

New loaders register themselves in :data:`DATASETS` (name -> loader); :func:`load_dataset` looks them up.
"""
from __future__ import annotations

import dataclasses
import functools
import numbers
import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "DATASETS",
    "Dataset",
    "load_dataset",
    "load_digits",
    "load_mnist1d",
    "one_hot",
    "standardize",
    "stratified_indices",
    "symmetric_label_noise",
]


# --------------------------------------------------------------------------------------------------
# validation helpers


def _check_int(value, name: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """Returns ``value`` as a Python int, or raises ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r} of type {type(value).__name__}.")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}.")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}.")
    return value


def _check_rate(rate, name: str = "rate") -> float:
    """A label-noise rate: a real number in [0, 1)."""
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not np.isfinite(rate):
        raise ValueError(f"{name} must be a real number in [0, 1), got {rate!r}.")
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"{name} must lie in [0, 1), got {rate}.")
    return float(rate)


def _check_open_fraction(value, name: str) -> float:
    """A fraction strictly between 0 and 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be a real number strictly between 0 and 1, got {value!r}.")
    return float(value)


def _check_seed(seed, name: str = "seed") -> int:
    """An explicit, non-negative integer seed (None is refused: every draw must be reproducible)."""
    return _check_int(seed, name, minimum=0)


def _as_labels(labels, num_classes: int, name: str = "labels") -> np.ndarray:
    """Validates integer class labels in ``[0, num_classes)`` and returns them as an int64 array."""
    labels = np.asarray(labels)
    if labels.dtype == bool or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"{name} must be an array of integer class indices, got dtype {labels.dtype}; "
            f"convert with labels.astype(np.int64) if the values are whole numbers."
        )
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"{name} must lie in [0, num_classes) = [0, {num_classes}), "
            f"got values in [{labels.min()}, {labels.max()}]."
        )
    return labels.astype(np.int64, copy=False)


def _as_features(x, name: str) -> np.ndarray:
    """Validates a finite 2-D feature matrix and returns it as float64."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{name} must be 2-D with shape (n, d), got shape {x.shape}.")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return x


# --------------------------------------------------------------------------------------------------
# labels


def one_hot(labels, num_classes: int) -> np.ndarray:
    """One-hot encodes integer class labels.

    Row ``i`` is the standard basis vector ``e_{labels[i]}`` of ``R^C``; this is the one-hot target
    ``e_y`` of SCIENCE.md §5.

    Example:
      >>> one_hot(np.array([2, 0]), num_classes=3)
      array([[0., 0., 1.],
             [1., 0., 0.]])

    Args:
      labels: integer array of shape ``(n,)`` (any shape works; a trailing class axis is added), values
        in ``[0, num_classes)``.
      num_classes: ``C >= 1``, the number of classes.

    Returns:
      float64 array of shape ``(n, C)``.

    Raises:
      ValueError: if ``num_classes`` is not a positive integer, or ``labels`` are not integers in
        ``[0, num_classes)``.
    """
    num_classes = _check_int(num_classes, "num_classes", minimum=1)
    labels = _as_labels(labels, num_classes)
    return np.eye(num_classes, dtype=np.float64)[labels]


def symmetric_label_noise(labels, rate: float, num_classes: int, seed: int) -> np.ndarray:
    """Symmetric label noise, flipping to a *different* class.

    Each label is flipped independently with probability ``rate``; a flipped label ``y`` becomes
    ``(y + k) mod C`` with ``k`` uniform on ``{1, ..., C - 1}``, i.e. uniform over the other ``C - 1``
    classes. So the number of wrong labels is exactly Binomial(n, rate) and the realised flip fraction is
    ≈ ``rate``. (The other common convention, "resample uniformly from all C classes with probability
    rate", gives a wrong-label fraction of ``rate · (C - 1) / C``.)

    Both the flip coins and the offsets are drawn for every point, so with the same ``seed`` the labels
    flipped at a smaller rate are a subset of those flipped at a larger rate, and land on the same class.

    Example:
      >>> clean = np.arange(10) % 3
      >>> noisy = symmetric_label_noise(clean, rate=0.5, num_classes=3, seed=0)
      >>> bool(np.all(noisy[noisy != clean] != clean[noisy != clean]))
      True

    Args:
      labels: integer array of shape ``(n,)`` with values in ``[0, num_classes)``.
      rate: flip probability in ``[0, 1)``.
      num_classes: ``C``; at least 2 when ``rate > 0``.
      seed: non-negative integer for ``np.random.default_rng``.

    Returns:
      int64 array of shape ``(n,)``, a new array (``labels`` is not modified).

    Raises:
      ValueError: if ``rate`` is outside ``[0, 1)``, labels are out of range or not integers,
        ``num_classes < 2`` with ``rate > 0``, or ``seed`` is not a non-negative integer.
    """
    rate = _check_rate(rate)
    num_classes = _check_int(num_classes, "num_classes", minimum=1)
    seed = _check_seed(seed)
    labels = _as_labels(labels, num_classes)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D with shape (n,), got shape {labels.shape}.")
    if rate > 0 and num_classes < 2:
        raise ValueError("num_classes must be >= 2 to flip labels to a different class (rate > 0).")
    rng = np.random.default_rng(seed)
    flip = rng.random(labels.shape[0]) < rate
    offset = rng.integers(1, max(num_classes, 2), size=labels.shape[0])  # uniform on {1, ..., C-1}
    return np.where(flip, (labels + offset) % num_classes, labels).astype(np.int64)


def stratified_indices(labels, size: int, seed: int) -> np.ndarray:
    """Seeded stratified sample of ``size`` indices without replacement.

    Class ``c`` with ``n_c`` of the ``n`` points receives ``floor(size · n_c / n)`` places; the places
    left over go to the classes with the largest remainders (ties broken at random), so every class gets
    its proportional share rounded up or down (largest-remainder apportionment, exact in integers).
    Works for any ``size`` in ``[0, n]``, including ``size < C`` where some classes get none.

    Example:
      >>> labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
      >>> np.bincount(labels[stratified_indices(labels, size=4, seed=0)]).tolist()
      [2, 2]

    Args:
      labels: integer array of shape ``(n,)``, values ``>= 0``.
      size: number of indices, ``0 <= size <= n``.
      seed: non-negative integer for ``np.random.default_rng``.

    Returns:
      int64 array of shape ``(size,)``: distinct indices into ``labels``, sorted ascending (so a subset
      keeps the original order of the points).

    Raises:
      ValueError: if ``size`` is outside ``[0, n]`` or the labels are not non-negative integers.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D with shape (n,), got shape {labels.shape}.")
    labels = _as_labels(labels, num_classes=int(labels.max(initial=0)) + 1)
    n = labels.shape[0]
    size = _check_int(size, "size", minimum=0, maximum=n)
    seed = _check_seed(seed)
    if size == 0:
        return np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng(seed)
    class_counts = np.bincount(labels)
    quota, remainder = np.divmod(size * class_counts, n)  # exact integer apportionment
    left_over = size - int(quota.sum())
    tie_break = rng.permutation(class_counts.shape[0])
    order = np.lexsort((tie_break, -remainder))  # largest remainder first, random among ties
    quota[order[:left_over]] += 1
    chosen = [
        rng.choice(np.flatnonzero(labels == c), size=int(k), replace=False)
        for c, k in enumerate(quota)
        if k > 0
    ]
    return np.sort(np.concatenate(chosen)).astype(np.int64)


# --------------------------------------------------------------------------------------------------
# features


def standardize(x_train, x_test) -> tuple[np.ndarray, np.ndarray]:
    """Centres features by the training mean and divides all of them by one training scale.

    With ``μ = mean_i x_train[i]`` (per feature) and ``s = sqrt(mean_{i,j} (x_train[i, j] - μ_j)²)`` (one
    scalar: the root-mean-square of the centred training matrix), returns ``(x_train - μ) / s`` and
    ``(x_test - μ) / s``. Fit on the training set only. Afterwards the training features have mean 0
    and mean square 1, i.e. ``trace(Cov) = d`` and a typical ``‖x‖² ≈ d``.

    A single scale, rather than a per-feature z-score, keeps the relative size of the features: a
    per-feature z-score blows near-constant pixels (the border of the digits, std ≈ 0.03 of 16 grey
    levels) up to values of 30-90 and lets them dominate a kernel. Constant features become exactly 0 on
    the training set; no division by a per-feature variance means no NaN. If every training feature is
    constant, ``s`` is taken as 1.

    Example:
      >>> x_train, x_test = standardize(np.array([[0., 1.], [2., 3.]]), np.array([[1., 5.]]))
      >>> x_train.tolist(), x_test.tolist()
      ([[-1.0, -1.0], [1.0, 1.0]], [[0.0, 3.0]])

    Args:
      x_train: ``(n, d)`` training features, finite.
      x_test: ``(m, d)`` test features, finite.

    Returns:
      ``(x_train_std (n, d), x_test_std (m, d))``, float64, new arrays.

    Raises:
      ValueError: if the arrays are not 2-D, contain NaN/inf, disagree in ``d``, or ``n == 0``.
    """
    x_train = _as_features(x_train, "x_train")
    x_test = _as_features(x_test, "x_test")
    if x_train.shape[0] == 0:
        raise ValueError("x_train must have at least one row to fit the standardisation.")
    if x_test.shape[1] != x_train.shape[1]:
        raise ValueError(
            f"x_test must have as many features as x_train ({x_train.shape[1]}), got {x_test.shape[1]}."
        )
    mean = x_train.mean(axis=0)
    centred = x_train - mean
    scale = float(np.sqrt(np.mean(centred**2)))
    if scale == 0.0:  # every feature is constant on the training set: centring already zeroes them
        scale = 1.0
    return centred / scale, (x_test - mean) / scale


# --------------------------------------------------------------------------------------------------
# the container


@dataclass(frozen=True, eq=False)
class Dataset:
    """A classification dataset: features, training labels (possibly noisy), clean labels.

    Frozen: methods return new datasets. Arrays are float64 features and int64 labels; they are
    converted (not copied when already of the right dtype) and validated on construction.

    Example:
      >>> data = load_digits(n_train=200)
      >>> data.x_train.shape, data.one_hot_train().shape
      ((200, 64), (200, 10))
      >>> noisy = data.with_label_noise(0.2, seed=0)
      >>> bool(np.array_equal(noisy.y_train_clean, data.y_train))
      True

    Attributes:
      name: short name, e.g. ``"digits"``.
      x_train: ``(n, d)`` float64 training features.
      y_train: ``(n,)`` int64 labels used for training (noisy if label noise was applied).
      x_test: ``(m, d)`` float64 test features.
      y_test: ``(m,)`` int64 clean test labels.
      num_classes: ``C``.
      y_train_clean: ``(n,)`` int64 clean training labels; defaults to ``y_train`` (no noise).
      noise_rate: the requested symmetric label-noise rate that produced ``y_train`` (0 = clean).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    y_train_clean: np.ndarray | None = None
    noise_rate: float = 0.0

    def __post_init__(self):
        num_classes = _check_int(self.num_classes, "num_classes", minimum=1)
        x_train = _as_features(self.x_train, "x_train")
        x_test = _as_features(self.x_test, "x_test")
        y_train = _as_labels(self.y_train, num_classes, "y_train")
        y_test = _as_labels(self.y_test, num_classes, "y_test")
        y_clean = y_train.copy() if self.y_train_clean is None else self.y_train_clean
        y_clean = _as_labels(y_clean, num_classes, "y_train_clean")
        if x_test.shape[1] != x_train.shape[1]:
            raise ValueError(
                f"x_test must have as many features as x_train ({x_train.shape[1]}), "
                f"got {x_test.shape[1]}."
            )
        for label_name, labels, x in (
            ("y_train", y_train, x_train),
            ("y_train_clean", y_clean, x_train),
            ("y_test", y_test, x_test),
        ):
            if labels.shape != (x.shape[0],):
                raise ValueError(
                    f"{label_name} must have shape ({x.shape[0]},) to match the features, "
                    f"got {labels.shape}."
                )
        for field, value in (
            ("num_classes", num_classes),
            ("x_train", x_train),
            ("y_train", y_train),
            ("x_test", x_test),
            ("y_test", y_test),
            ("y_train_clean", y_clean),
            ("noise_rate", _check_rate(self.noise_rate, "noise_rate")),
        ):
            object.__setattr__(self, field, value)

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
        """Returns a copy whose ``y_train`` is :func:`symmetric_label_noise` of the clean labels.

        Noise is drawn from ``y_train_clean``, never from the current ``y_train``, so calls do not stack:
        ``d.with_label_noise(r, s).with_label_noise(r, s)`` equals ``d.with_label_noise(r, s)`` and
        ``with_label_noise(0.0)`` restores the clean labels.

        Args:
          rate: flip probability in ``[0, 1)``.
          seed: non-negative integer seed.

        Returns:
          A new :class:`Dataset` with ``noise_rate = rate``; features and test set are shared.

        Raises:
          ValueError: if ``rate`` is outside ``[0, 1)`` or ``seed`` is not a non-negative integer.
        """
        noisy = symmetric_label_noise(self.y_train_clean, rate, self.num_classes, seed)
        return dataclasses.replace(self, y_train=noisy, noise_rate=rate)

    def subset(self, n_train: int | None = None, n_test: int | None = None, seed: int = 0) -> Dataset:
        """Returns a stratified, seeded subset of the training and/or test points.

        Uses :func:`stratified_indices` on the clean labels, so class proportions are kept to within one
        point per class; noisy and clean training labels stay paired. The train and test draws use
        independent streams spawned from ``seed``, so the test subset does not depend on ``n_train``.
        The features are not re-standardised.

        Args:
          n_train: training points to keep, ``0 < n_train <= self.n_train``; None keeps all (in order).
          n_test: test points to keep, ``0 < n_test <= self.n_test``; None keeps all (in order).
          seed: non-negative integer seed.

        Returns:
          A new :class:`Dataset` with the same name, classes and ``noise_rate``.

        Raises:
          ValueError: if a requested size is not an integer in ``[1, available]``.
        """
        seed = _check_seed(seed)
        train_seed, test_seed = (
            int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(2)
        )
        train_index = np.arange(self.n_train)
        test_index = np.arange(self.n_test)
        if n_train is not None:
            n_train = _check_int(n_train, "n_train", minimum=1, maximum=self.n_train)
            train_index = stratified_indices(self.y_train_clean, n_train, train_seed)
        if n_test is not None:
            n_test = _check_int(n_test, "n_test", minimum=1, maximum=self.n_test)
            test_index = stratified_indices(self.y_test, n_test, test_seed)
        return dataclasses.replace(
            self,
            x_train=self.x_train[train_index],
            y_train=self.y_train[train_index],
            y_train_clean=self.y_train_clean[train_index],
            x_test=self.x_test[test_index],
            y_test=self.y_test[test_index],
        )


def _finish(name, x_train, y_train, x_test, y_test, *, num_classes, standardize_features, n_train,
            subset_seed, label_noise, noise_seed) -> Dataset:
    """Shared tail of the loaders: subset the training set, standardise (fit on it), add label noise."""
    label_noise = _check_rate(label_noise, "label_noise")
    noise_seed = _check_seed(noise_seed, "noise_seed")
    if n_train is not None:
        n_train = _check_int(n_train, "n_train", minimum=1, maximum=x_train.shape[0])
        keep = stratified_indices(y_train, n_train, subset_seed)
        x_train, y_train = x_train[keep], y_train[keep]
    if standardize_features:
        x_train, x_test = standardize(x_train, x_test)
    data = Dataset(name, x_train, y_train, x_test, y_test, num_classes)
    return data.with_label_noise(label_noise, noise_seed) if label_noise > 0 else data


# --------------------------------------------------------------------------------------------------
# loaders


def load_digits(
    *,
    test_fraction: float = 0.25,
    seed: int = 0,
    standardize: bool = True,
    n_train: int | None = None,
    label_noise: float = 0.0,
    noise_seed: int = 0,
) -> Dataset:
    """scikit-learn's embedded 8×8 handwritten digits: 1,797 images, 64 features, 10 classes.

    The data ship with scikit-learn (no download). The train/test split is
    ``sklearn.model_selection.train_test_split(..., test_size=test_fraction, stratify=y,
    random_state=seed)``, deterministic in ``seed``. With the defaults: 1,347 training and 450 test
    points. Order of operations: split, then keep a stratified ``n_train`` subset of the training split
    (seeded by ``seed``), then standardise (fit on the kept training points), then add label noise.

    Raw pixels are grey levels 0..16. ``standardize=True`` applies :func:`standardize`: centre each
    pixel by its training mean and divide all pixels by one scalar, the RMS of the centred training
    pixels (≈ 6 grey levels), so constant border pixels become 0 and no pixel is inflated.

    Example:
      >>> data = load_digits()
      >>> data
      Dataset(name='digits', n_train=1347, n_test=450, input_dim=64, num_classes=10, noise_rate=0)

    Args:
      test_fraction: fraction of the 1,797 points held out for testing, in ``(0, 1)``; each split must
        keep at least one point per class.
      seed: non-negative integer seeding the split and the ``n_train`` subset.
      standardize: whether to standardise the features (see above); False leaves grey levels 0..16.
      n_train: if given, keep this many training points (stratified), ``1 <= n_train <= available``.
      label_noise: symmetric label-noise rate in ``[0, 1)`` (see :func:`symmetric_label_noise`).
      noise_seed: non-negative integer seeding the label noise.

    Returns:
      A :class:`Dataset` named ``"digits"``: ``x_train (n, 64)``, ``x_test (m, 64)``, 10 classes.

    Raises:
      ValueError: for ``test_fraction`` outside ``(0, 1)`` or too small/large to hold every class,
        ``n_train`` larger than the training split, ``label_noise`` outside ``[0, 1)``, bad seeds.
    """
    from sklearn import datasets, model_selection

    test_fraction = _check_open_fraction(test_fraction, "test_fraction")
    seed = _check_seed(seed)
    features, labels = datasets.load_digits(return_X_y=True)
    num_classes = 10
    n_test = int(np.ceil(test_fraction * labels.shape[0]))  # the rounding train_test_split uses
    if min(n_test, labels.shape[0] - n_test) < num_classes:
        raise ValueError(
            f"test_fraction={test_fraction} gives {n_test} test and {labels.shape[0] - n_test} training "
            f"points; a stratified split needs at least {num_classes} (one per class) in each."
        )
    x_train, x_test, y_train, y_test = model_selection.train_test_split(
        features, labels, test_size=test_fraction, stratify=labels, random_state=seed
    )
    return _finish(
        "digits", x_train, y_train, x_test, y_test, num_classes=num_classes,
        standardize_features=standardize, n_train=n_train, subset_seed=seed,
        label_noise=label_noise, noise_seed=noise_seed,
    )


@functools.lru_cache(maxsize=8)
def _generate_mnist1d(num_samples: int, train_split: float, seed: int):
    """Runs ``mnist1d.data.make_dataset`` with the global RNG states saved and restored.

    ``make_dataset`` calls ``mnist1d.utils.set_seed``, which seeds numpy's *global* RNG and Python's
    ``random``, and draws from the global RNG; restoring both afterwards makes loading side-effect free.
    The returned arrays are made read-only because they live in this cache; callers copy them.
    """
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples, args.train_split, args.seed = num_samples, train_split, seed
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        generated = make_dataset(args)
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
    arrays = (
        np.asarray(generated["x"], dtype=np.float64),
        np.asarray(generated["y"], dtype=np.int64),
        np.asarray(generated["x_test"], dtype=np.float64),
        np.asarray(generated["y_test"], dtype=np.int64),
    )
    for array in arrays:
        array.setflags(write=False)
    return arrays


def load_mnist1d(
    *,
    num_samples: int = 4000,
    train_split: float = 0.8,
    seed: int = 42,
    standardize: bool = True,
    n_train: int | None = None,
    label_noise: float = 0.0,
    noise_seed: int = 0,
) -> Dataset:
    """MNIST-1D (Greydanus, 2020), generated offline: 40 features, 10 classes.

    Generated by ``mnist1d.data.make_dataset`` with the package's default arguments
    (``get_dataset_args()``: templates padded, scaled, translated, sheared and noised to length 40)
    and ``num_samples``, ``train_split`` and ``seed`` overridden; ``get_dataset`` is never called (it
    downloads). Generation is deterministic in ``seed``, takes 1-2 s for 4,000 samples on one CPU
    core (≈ linear in ``num_samples``) and is cached in memory per ``(num_samples, train_split, seed)``;
    each call returns fresh copies. Numpy's global RNG and Python's ``random`` are left as they were.

    ``make_dataset`` draws ``num_samples / 10`` points per class, shuffles them and puts the first
    ``int(train_split · num_samples)`` into the training set, so the split is random, not stratified.
    It also centres and scales the whole dataset (train and test together) by one scalar;
    ``standardize=True`` then re-applies :func:`standardize`, fit on the training points only. Order of
    operations: generate, keep a stratified ``n_train`` subset (seeded by ``seed``), standardise, add
    label noise.

    Example:
      >>> data = load_mnist1d(num_samples=1000)
      >>> data.x_train.shape, data.x_test.shape, data.num_classes
      ((800, 40), (200, 40), 10)

    Args:
      num_samples: total number of points, a positive multiple of 10 (``num_samples / 10`` per class).
      train_split: fraction of the points used for training, in ``(0, 1)``; both parts non-empty.
      seed: non-negative integer seeding generation (hence the data and the split) and the subset.
      standardize: whether to standardise the features (see above).
      n_train: if given, keep this many training points (stratified), ``1 <= n_train <= available``.
      label_noise: symmetric label-noise rate in ``[0, 1)`` (see :func:`symmetric_label_noise`).
      noise_seed: non-negative integer seeding the label noise.

    Returns:
      A :class:`Dataset` named ``"mnist1d"``: ``x_train (n, 40)``, ``x_test (m, 40)``, 10 classes.

    Raises:
      ValueError: for ``num_samples`` not a positive multiple of 10, ``train_split`` outside ``(0, 1)``
        or leaving an empty part, ``n_train`` larger than the training split, ``label_noise`` outside
        ``[0, 1)``, bad seeds.
    """
    num_samples = _check_int(num_samples, "num_samples", minimum=10)
    if num_samples % 10:
        raise ValueError(
            f"num_samples must be a multiple of 10 (MNIST-1D draws num_samples / 10 points per class), "
            f"got {num_samples}."
        )
    train_split = _check_open_fraction(train_split, "train_split")
    n_train_split = int(num_samples * train_split)
    if not 0 < n_train_split < num_samples:
        raise ValueError(
            f"train_split={train_split} with num_samples={num_samples} gives {n_train_split} training "
            f"and {num_samples - n_train_split} test points; both must be non-empty."
        )
    seed = _check_seed(seed)
    x_train, y_train, x_test, y_test = (
        array.copy() for array in _generate_mnist1d(num_samples, train_split, seed)
    )
    return _finish(
        "mnist1d", x_train, y_train, x_test, y_test, num_classes=10,
        standardize_features=standardize, n_train=n_train, subset_seed=seed,
        label_noise=label_noise, noise_seed=noise_seed,
    )


DATASETS: dict[str, Callable[..., Dataset]] = {
    "digits": load_digits,
    "mnist1d": load_mnist1d,
}
"""Registry of loaders by name; later modules add theirs (``DATASETS["cifar10"] = load_cifar10``)."""


def load_dataset(name: str, **kwargs) -> Dataset:
    """Loads a registered dataset by name.

    Example:
      >>> load_dataset("digits", n_train=100).n_train
      100

    Args:
      name: a key of :data:`DATASETS` (currently ``"digits"``, ``"mnist1d"``).
      **kwargs: passed to the loader.

    Returns:
      The loader's :class:`Dataset`.

    Raises:
      ValueError: if ``name`` is not registered (the message lists the known names), or whatever the
        loader raises for its arguments.
    """
    if name not in DATASETS:
        known = ", ".join(repr(key) for key in sorted(DATASETS))
        raise ValueError(f"Unknown dataset name {name!r}; known datasets: {known}.")
    return DATASETS[name](**kwargs)
