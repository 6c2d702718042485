"""Loaders of the datasets that need no files: scikit-learn's 8×8 digits and MNIST-1D generated offline.

Both return a :class:`~theory.data.Dataset` of float64 features (flat, with the natural ``input_shape``
recorded) and int64 labels, built without network access. Order of operations in both: split, keep a
stratified ``n_train`` subset, standardise (fit on the kept training points), add label noise.
"""
from __future__ import annotations

import functools
import random

import numpy as np

from .._checks import check_fraction
from .._checks import check_integer
from .._checks import check_nonnegative
from .._checks import check_seed
from ._common import stratified_rows
from .dataset import Dataset
from .features import standardize as standardize_features
from .labels import check_noise_rate

__all__ = ["DIGITS_INPUT_SHAPE", "MNIST1D_DEFAULT_SAMPLES", "MNIST1D_INPUT_SHAPE", "load_digits", "load_mnist1d",
           "mnist1d_samples_for"]

#: one digits image: 8 × 8 grey levels, one channel.
DIGITS_INPUT_SHAPE = (8, 8, 1)
#: one MNIST-1D signal: 40 samples, one channel.
MNIST1D_INPUT_SHAPE = (40, 1)


def _finish(name, x_train, y_train, x_test, y_test, *, num_classes, input_shape, standardize, n_train,
            subset_seed, label_noise, noise_seed) -> Dataset:
    """Shared tail of the loaders: subset the training set, standardise (fit on it), add label noise."""
    label_noise = check_noise_rate(label_noise, num_classes, "label_noise")
    noise_seed = check_seed(noise_seed, "noise_seed")
    keep = stratified_rows(y_train, n_train, subset_seed, "n_train")
    x_train, y_train = x_train[keep], y_train[keep]
    if standardize:
        x_train, x_test = standardize_features(x_train, x_test)
    data = Dataset(name, x_train, y_train, x_test, y_test, num_classes, input_shape=input_shape)
    return data.with_label_noise(label_noise, noise_seed) if label_noise > 0 else data


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

    Raw pixels are grey levels 0..16. ``standardize=True`` applies :func:`~theory.data.standardize`: centre
    each pixel by its training mean and divide all pixels by one scalar, the RMS of the centred training
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
      label_noise: symmetric label-noise rate in ``[0, 0.9)`` (below (C − 1)/C; see
        :func:`~theory.data.symmetric_label_noise`).
      noise_seed: non-negative integer seeding the label noise.

    Returns:
      A :class:`~theory.data.Dataset` named ``"digits"``: ``x_train (n, 64)``, ``x_test (m, 64)``, 10 classes,
      ``input_shape = (8, 8, 1)``.

    Raises:
      ValueError: for ``test_fraction`` outside ``(0, 1)`` or too small/large to hold every class,
        ``n_train`` larger than the training split, ``label_noise`` outside ``[0, 0.9)``, bad seeds.
    """
    from sklearn import datasets, model_selection

    test_fraction = check_fraction(test_fraction, "test_fraction", closed_low=False)
    seed = check_seed(seed)
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
        "digits", x_train, y_train, x_test, y_test, num_classes=num_classes, input_shape=DIGITS_INPUT_SHAPE,
        standardize=standardize, n_train=n_train, subset_seed=seed, label_noise=label_noise,
        noise_seed=noise_seed,
    )


@functools.lru_cache(maxsize=8)
def _generate_mnist1d(num_samples: int, train_split: float, seed: int, noise: tuple = ()):
    """Runs ``mnist1d.data.make_dataset`` with the global RNG states saved and restored.

    ``make_dataset`` calls ``mnist1d.utils.set_seed``, which seeds numpy's *global* RNG and Python's
    ``random``, and draws from the global RNG; restoring both afterwards makes loading side-effect free.
    The returned arrays are made read-only because they live in this cache; callers copy them.
    """
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples, args.train_split, args.seed = num_samples, train_split, seed
    for name, value in noise:  # generator noise scales other than the package's defaults
        setattr(args, name, value)
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


#: the number of MNIST-1D points generated when neither ``num_samples`` nor a larger ``n_train`` asks for more.
MNIST1D_DEFAULT_SAMPLES = 4000


def mnist1d_samples_for(n_train: int, train_split: float = 0.8) -> int:
    """The number of MNIST-1D points to generate so that the training part holds ``n_train`` points.

    The smallest multiple of 10 whose training part ``int(num_samples · train_split)`` is at least
    ``n_train``, and never fewer than :data:`MNIST1D_DEFAULT_SAMPLES` (4,000), so that the default dataset
    and its subsets are unchanged.

    Example:
      >>> mnist1d_samples_for(50_000), mnist1d_samples_for(100)
      (62500, 4000)
    """
    n_train = check_integer(n_train, "n_train", minimum=1)
    train_split = check_fraction(train_split, "train_split", closed_low=False)
    num_samples = max(MNIST1D_DEFAULT_SAMPLES, 10 * int(np.ceil(n_train / train_split / 10)))
    while int(num_samples * train_split) < n_train:  # float rounding of the product
        num_samples += 10
    return num_samples


def load_mnist1d(
    *,
    num_samples: int | None = None,
    train_split: float = 0.8,
    seed: int = 42,
    standardize: bool = True,
    n_train: int | None = None,
    label_noise: float = 0.0,
    noise_seed: int = 0,
    corr_noise_scale: float | None = None,
    iid_noise_scale: float | None = None,
) -> Dataset:
    """MNIST-1D (Greydanus, 2020), generated offline: 40 features, 10 classes.

    Generated by ``mnist1d.data.make_dataset`` with the package's default arguments
    (``get_dataset_args()``: templates padded, scaled, translated, sheared and noised to length 40)
    and ``num_samples``, ``train_split`` and ``seed`` overridden; ``get_dataset`` is never called (it
    downloads). Generation is deterministic in ``seed``, takes about 1 s for 4,000 samples on one CPU
    core (linear in ``num_samples``: 15-20 s for the 62,500 behind ``n_train=50_000``) and is cached in
    memory per ``(num_samples, train_split, seed)`` (up to 8 datasets); each call returns fresh copies.
    Numpy's global RNG and Python's ``random`` are left as they were.

    Size: by default 4,000 points are generated (3,200 for training). A larger ``n_train`` without
    ``num_samples`` generates just enough points (:func:`mnist1d_samples_for`: ``n_train=50_000`` → 62,500
    points, 50,000 training and 12,500 test), so ``load_mnist1d(n_train=50_000)`` is the CIFAR-sized
    training set; an explicit ``num_samples`` is always respected.

    ``make_dataset`` draws ``num_samples / 10`` points per class, shuffles them and puts the first
    ``int(train_split · num_samples)`` into the training set, so the split is random, not stratified.
    It also centres and scales the whole dataset (train and test together) by one scalar;
    ``standardize=True`` then re-applies :func:`~theory.data.standardize`, fit on the training points only.
    Order of operations: generate, keep a stratified ``n_train`` subset (seeded by ``seed``), standardise,
    add label noise.

    Example:
      >>> data = load_mnist1d(num_samples=1000)
      >>> data.x_train.shape, data.x_test.shape, data.num_classes, data.input_shape
      ((800, 40), (200, 40), 10, (40, 1))

    Args:
      num_samples: total number of points, a positive multiple of 10 (``num_samples / 10`` per class);
        None (default): 4,000, or :func:`mnist1d_samples_for` ``(n_train, train_split)`` when that is more.
      train_split: fraction of the points used for training, in ``(0, 1)``; both parts non-empty.
      seed: non-negative integer seeding generation (hence the data and the split) and the subset.
      standardize: whether to standardise the features (see above).
      n_train: if given, keep this many training points (stratified), ``1 <= n_train <= available`` (with
        ``num_samples=None`` every ``n_train`` is available, see above).
      label_noise: symmetric label-noise rate in ``[0, 0.9)`` (below (C − 1)/C; see
        :func:`~theory.data.symmetric_label_noise`).
      noise_seed: non-negative integer seeding the label noise.
      corr_noise_scale, iid_noise_scale: the generator's correlated (Gaussian-smoothed) and i.i.d. input noise
        scales, ≥ 0; None keeps the package's defaults (0.25 and 0.02). Larger values give a harder variant
        (e.g. ``corr_noise_scale=0.5, iid_noise_scale=0.1``; with ``num_samples=10000`` the "harder, larger"
        MNIST-1D of the ``regimes`` grid, docs/recipes.md).

    Returns:
      A :class:`~theory.data.Dataset` named ``"mnist1d"``: ``x_train (n, 40)``, ``x_test (m, 40)``, 10 classes,
      ``input_shape = (40, 1)``.

    Raises:
      ValueError: for ``num_samples`` not a positive multiple of 10, ``train_split`` outside ``(0, 1)``
        or leaving an empty part, ``n_train`` larger than the training split, ``label_noise`` outside
        ``[0, 0.9)``, bad seeds.
    """
    if num_samples is None:
        train_split = check_fraction(train_split, "train_split", closed_low=False)
        num_samples = MNIST1D_DEFAULT_SAMPLES if n_train is None else mnist1d_samples_for(
            check_integer(n_train, "n_train", minimum=1), train_split)
    num_samples = check_integer(num_samples, "num_samples", minimum=10)
    if num_samples % 10:
        raise ValueError(
            f"num_samples must be a multiple of 10 (MNIST-1D draws num_samples / 10 points per class), "
            f"got {num_samples}."
        )
    train_split = check_fraction(train_split, "train_split", closed_low=False)
    n_train_split = int(num_samples * train_split)
    if not 0 < n_train_split < num_samples:
        raise ValueError(
            f"train_split={train_split} with num_samples={num_samples} gives {n_train_split} training "
            f"and {num_samples - n_train_split} test points; both must be non-empty."
        )
    seed = check_seed(seed)
    noise = tuple((name, check_nonnegative(value, name)) for name, value in
                  (("corr_noise_scale", corr_noise_scale), ("iid_noise_scale", iid_noise_scale)) if value is not None)
    x_train, y_train, x_test, y_test = (
        array.copy() for array in _generate_mnist1d(num_samples, train_split, seed, noise)
    )
    return _finish(
        "mnist1d", x_train, y_train, x_test, y_test, num_classes=10, input_shape=MNIST1D_INPUT_SHAPE,
        standardize=standardize, n_train=n_train, subset_seed=seed, label_noise=label_noise,
        noise_seed=noise_seed,
    )
