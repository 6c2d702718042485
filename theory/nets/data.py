"""Data for networks: one float32 container, offline loaders, and readers for files the user provides.

Every loader returns a :class:`NetData`: inputs kept in their natural shape ``(n, *input_shape)`` (images
``(32, 32, 3)``, MNIST-1D ``(40, 1)``, digits ``(8, 8, 1)``) in float32, integer labels, and the clean training
labels beside the (possibly noisy) ones. Sources:

* ``"digits"``, ``"mnist1d"`` and any other name registered in :data:`theory.data.DATASETS` (the synthetic
  sets of ``theory.synthetic`` when that module exists) through :func:`theory.data.load_dataset`;
* ``"cifar10"`` / ``"cifar100"`` from a directory in the standard python-pickle format (:func:`read_cifar`);
* ``"npz"``: any ``.npz`` file with ``x_train, y_train, x_test, y_test`` (:func:`read_npz`).

Nothing is downloaded. Label noise is :func:`theory.data.symmetric_label_noise` applied to the clean labels
(flip to a *different* class with probability ``rate``).
"""
from __future__ import annotations

import dataclasses
import importlib
import inspect
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from theory import data as theory_data

__all__ = ["NetData", "load_data", "read_cifar", "read_npz", "dataset_names", "FILE_DATASETS"]

#: datasets read from files the user gives (``data_dir``), not from :data:`theory.data.DATASETS`.
FILE_DATASETS = ("cifar10", "cifar100", "npz")

#: natural input shapes of the embedded datasets (their theory loaders return flat features).
_INPUT_SHAPES = {"digits": (8, 8, 1), "mnist1d": (40, 1)}


def _register_optional_loaders():
    """Import ``theory.synthetic`` if it exists, so that its loaders register in ``theory.data.DATASETS``."""
    try:
        importlib.import_module("theory.synthetic")
    except ImportError:
        pass


def dataset_names() -> list[str]:
    """All dataset names :func:`load_data` accepts (registered theory loaders and the file datasets)."""
    _register_optional_loaders()
    return sorted(set(theory_data.DATASETS) | set(FILE_DATASETS))


@dataclass(frozen=True, eq=False)
class NetData:
    """A classification dataset ready for a network.

    Attributes:
      name: dataset name.
      x_train: ``(n, *input_shape)`` float32 training inputs.
      y_train: ``(n,)`` int64 labels used for training (noisy if ``noise_rate > 0``).
      x_test: ``(m, *input_shape)`` float32 test inputs.
      y_test: ``(m,)`` int64 clean test labels.
      num_classes: ``C``.
      y_train_clean: ``(n,)`` int64 clean training labels.
      noise_rate: requested symmetric label-noise rate (0 = clean).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    y_train_clean: np.ndarray
    noise_rate: float = 0.0

    def __post_init__(self):
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise ValueError(f"x_test must have the input shape of x_train {self.x_train.shape[1:]}, "
                             f"got {self.x_test.shape[1:]}.")
        for label_name, labels, x in (("y_train", self.y_train, self.x_train),
                                      ("y_train_clean", self.y_train_clean, self.x_train),
                                      ("y_test", self.y_test, self.x_test)):
            if labels.shape != (x.shape[0],):
                raise ValueError(f"{label_name} must have shape ({x.shape[0]},), got {labels.shape}.")
            if labels.size and (labels.min() < 0 or labels.max() >= self.num_classes):
                raise ValueError(f"{label_name} must lie in [0, {self.num_classes}), got values in "
                                 f"[{labels.min()}, {labels.max()}].")

    @property
    def n_train(self) -> int:
        return self.x_train.shape[0]

    @property
    def n_test(self) -> int:
        return self.x_test.shape[0]

    @property
    def input_shape(self) -> tuple:
        """Shape of one input, e.g. ``(40, 1)`` for MNIST-1D or ``(32, 32, 3)`` for CIFAR."""
        return tuple(self.x_train.shape[1:])

    @property
    def noisy_mask(self) -> np.ndarray:
        """``(n,)`` bool: training labels that differ from the clean ones."""
        return self.y_train != self.y_train_clean

    def flat_train(self) -> np.ndarray:
        """``(n, prod(input_shape))`` float64 training features (for input kernels)."""
        return self.x_train.reshape(self.n_train, -1).astype(np.float64)

    def flat_test(self) -> np.ndarray:
        """``(m, prod(input_shape))`` float64 test features."""
        return self.x_test.reshape(self.n_test, -1).astype(np.float64)

    def one_hot_train(self) -> np.ndarray:
        """``(n, C)`` float64 one-hot training labels (the possibly noisy ones)."""
        return theory_data.one_hot(self.y_train, self.num_classes)

    def with_label_noise(self, rate: float, seed: int = 0) -> NetData:
        """A copy whose ``y_train`` is :func:`theory.data.symmetric_label_noise` of the clean labels."""
        noisy = theory_data.symmetric_label_noise(self.y_train_clean, rate, self.num_classes, seed)
        return dataclasses.replace(self, y_train=noisy, noise_rate=float(rate))

    def __repr__(self) -> str:
        return (f"NetData(name={self.name!r}, n_train={self.n_train}, n_test={self.n_test}, "
                f"input_shape={self.input_shape}, num_classes={self.num_classes}, "
                f"noise_rate={self.noise_rate:g})")


# --------------------------------------------------------------------------------------------------
# readers


def _check_directory(data_dir, name: str) -> Path:
    if data_dir is None:
        raise ValueError(f"dataset {name!r} is read from disk: pass data_dir (a directory holding the "
                         "files; nothing is downloaded).")
    path = Path(data_dir).expanduser()
    if not path.is_dir():
        raise ValueError(f"data_dir {str(data_dir)!r} for dataset {name!r} is not an existing directory.")
    return path


def _unpickle(path: Path) -> dict:
    with open(path, "rb") as handle:
        return pickle.load(handle, encoding="bytes")


def read_cifar(data_dir, which: str = "cifar10"):
    """Reads CIFAR-10 or CIFAR-100 from the standard python-pickle files (Krizhevsky 2009).

    CIFAR-10: ``data_batch_1`` … ``data_batch_5`` and ``test_batch``, each a pickled dict with ``b'data'``
    ``(N, 3072)`` uint8 (rows are the red, green and blue 32 × 32 planes one after the other) and ``b'labels'``.
    CIFAR-100: ``train`` and ``test`` with ``b'data'`` and ``b'fine_labels'``. The files may sit directly in
    ``data_dir`` or in its standard sub-directory (``cifar-10-batches-py`` / ``cifar-100-python``).

    Args:
      data_dir: the directory.
      which: ``"cifar10"`` or ``"cifar100"``.

    Returns:
      ``(x_train (n, 32, 32, 3) uint8, y_train (n,) int64, x_test (m, 32, 32, 3) uint8, y_test (m,) int64,
      num_classes)``.

    Raises:
      ValueError: unknown ``which``, missing directory or files, or malformed contents.
    """
    layouts = {
        "cifar10": (["data_batch_%d" % i for i in range(1, 6)], ["test_batch"], b"labels", 10,
                    "cifar-10-batches-py"),
        "cifar100": (["train"], ["test"], b"fine_labels", 100, "cifar-100-python"),
    }
    if which not in layouts:
        raise ValueError(f"which must be 'cifar10' or 'cifar100', got {which!r}.")
    train_files, test_files, label_key, num_classes, subdir = layouts[which]
    root = _check_directory(data_dir, which)
    if not (root / train_files[0]).exists() and (root / subdir).is_dir():
        root = root / subdir
    missing = [f for f in train_files + test_files if not (root / f).is_file()]
    if missing:
        raise ValueError(f"data_dir {str(data_dir)!r} lacks the {which} files {missing} (expected the "
                         f"python-pickle version: {', '.join(train_files + test_files)}).")

    def read(files):
        images, labels = [], []
        for name in files:
            batch = _unpickle(root / name)
            if b"data" not in batch or label_key not in batch:
                raise ValueError(f"{root / name} has no {b'data'!r} / {label_key!r} entries.")
            data = np.asarray(batch[b"data"], dtype=np.uint8)
            if data.ndim != 2 or data.shape[1] != 3072:
                raise ValueError(f"{root / name}: b'data' must have shape (N, 3072), got {data.shape}.")
            images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
            labels.append(np.asarray(batch[label_key], dtype=np.int64))
        return np.concatenate(images), np.concatenate(labels)

    x_train, y_train = read(train_files)
    x_test, y_test = read(test_files)
    return x_train, y_train, x_test, y_test, num_classes


def read_npz(path):
    """Reads ``x_train, y_train, x_test, y_test`` from a ``.npz`` file; ``C = max label + 1``.

    Raises:
      ValueError: missing file or arrays, non-integer labels.
    """
    if path is None:
        raise ValueError("dataset 'npz' needs data_dir = the path of a .npz file with x_train, y_train, "
                         "x_test, y_test.")
    path = Path(path).expanduser()
    if not path.is_file():
        raise ValueError(f"data_dir {str(path)!r} for dataset 'npz' is not an existing .npz file.")
    with np.load(path) as archive:
        missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in archive.files]
        if missing:
            raise ValueError(f"{path} lacks the arrays {missing}; it has {archive.files}.")
        arrays = [archive[k] for k in ("x_train", "y_train", "x_test", "y_test")]
    for name, labels in (("y_train", arrays[1]), ("y_test", arrays[3])):
        if not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"{path}: {name} must hold integer class labels, got dtype {labels.dtype}.")
    num_classes = int(max(arrays[1].max(), arrays[3].max())) + 1
    return (*arrays[:2], *arrays[2:], num_classes)


# --------------------------------------------------------------------------------------------------
# the loader


def _subset(labels, size, seed, name):
    if size is None:
        return np.arange(labels.shape[0])
    if not 1 <= size <= labels.shape[0]:
        raise ValueError(f"{name} must lie in [1, {labels.shape[0]}], got {size}.")
    return theory_data.stratified_indices(labels, size, seed)


def _standardise_channels(x_train, x_test):
    """Per-channel (last axis) mean and standard deviation of the training images."""
    axes = tuple(range(x_train.ndim - 1))
    mean = x_train.mean(axis=axes, dtype=np.float64)
    std = x_train.std(axis=axes, dtype=np.float64)
    std = np.where(std > 0, std, 1.0)
    return (((x - mean) / std).astype(np.float32) for x in (x_train, x_test))


def _from_theory(name, seed, n_train, options):
    """A theory loader's flat float64 features, reshaped to the natural input shape, in float32."""
    parameters = inspect.signature(theory_data.DATASETS[name]).parameters
    unknown = sorted(set(options) - set(parameters) - {"seed", "n_train"})
    if unknown or {"seed", "n_train"} & set(options):
        raise ValueError(f"data_options {sorted(options)} must be arguments of the {name!r} loader other than "
                         f"seed and n_train (which come from the config); it takes {list(parameters)}.")
    kwargs = dict(options)
    if "seed" in parameters:
        kwargs["seed"] = seed
    own_subset = "n_train" in parameters
    if own_subset:
        kwargs["n_train"] = n_train
    dataset = theory_data.load_dataset(name, **kwargs)
    shape = _INPUT_SHAPES.get(name, (dataset.input_dim,))
    x_train = dataset.x_train.reshape(-1, *shape).astype(np.float32)
    x_test = dataset.x_test.reshape(-1, *shape).astype(np.float32)
    keep = np.arange(dataset.n_train) if own_subset else _subset(dataset.y_train_clean, n_train, seed, "n_train")
    return x_train[keep], dataset.y_train_clean[keep], x_test, dataset.y_test, dataset.num_classes


def load_data(name: str, *, data_dir=None, seed: int = 0, n_train: int | None = None,
              n_test: int | None = None, label_noise: float = 0.0, noise_seed: int = 0,
              options=()) -> NetData:
    """Loads a dataset for a network, offline.

    Order: load (the theory loaders split with ``seed`` and keep a stratified ``n_train`` subset before they
    standardise), subset (file datasets: stratified ``n_train`` / ``n_test`` from ``seed``), standardise
    (file datasets: CIFAR per channel, ``.npz`` with :func:`theory.data.standardize` on flattened inputs),
    then symmetric label noise on the clean training labels with ``noise_seed``.

    Example:
      >>> load_data("mnist1d", n_train=500)
      NetData(name='mnist1d', n_train=500, n_test=800, input_shape=(40, 1), num_classes=10, noise_rate=0)

    Args:
      name: one of :func:`dataset_names` (``"digits"``, ``"mnist1d"``, ``"cifar10"``, ``"cifar100"``,
        ``"npz"``, and the synthetic sets when ``theory.synthetic`` exists).
      data_dir: directory of the CIFAR pickles, or path of the ``.npz`` file; unused otherwise.
      seed: split / subset seed.
      n_train, n_test: optional stratified subset sizes (``n_test`` only for file datasets).
      label_noise: symmetric label-noise rate in ``[0, 1)``.
      noise_seed: seed of the label noise.
      options: extra loader keyword arguments as ``(name, value)`` pairs (e.g. ``(("num_samples", 8000),)``).

    Returns:
      :class:`NetData` with float32 inputs.

    Raises:
      ValueError: unknown ``name`` (the message lists the known ones), missing ``data_dir`` or files, bad sizes.
    """
    known = dataset_names()
    if name not in known:
        raise ValueError(f"Unknown dataset {name!r}; known datasets: {', '.join(known)}.")
    options = dict(options)
    if name in ("cifar10", "cifar100"):
        x_train, y_train, x_test, y_test, num_classes = read_cifar(data_dir, name)
    elif name == "npz":
        x_train, y_train, x_test, y_test, num_classes = read_npz(data_dir)
    else:
        if n_test is not None:
            raise ValueError(f"n_test is only supported for file datasets {FILE_DATASETS}, not {name!r}.")
        x_train, y_train, x_test, y_test, num_classes = _from_theory(name, seed, n_train, options)
    if name in FILE_DATASETS:
        if options:
            raise ValueError(f"data_options are not used by dataset {name!r}, got {sorted(options)}.")
        seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(2)]
        keep = _subset(y_train, n_train, seeds[0], "n_train")
        keep_test = _subset(y_test, n_test, seeds[1], "n_test")
        x_train, y_train, x_test, y_test = x_train[keep], y_train[keep], x_test[keep_test], y_test[keep_test]
        if name == "npz":
            shape = x_train.shape[1:]
            flat_train, flat_test = theory_data.standardize(x_train.reshape(len(x_train), -1),
                                                            x_test.reshape(len(x_test), -1))
            x_train = flat_train.reshape(-1, *shape).astype(np.float32)
            x_test = flat_test.reshape(-1, *shape).astype(np.float32)
        else:
            x_train, x_test = _standardise_channels(x_train.astype(np.float32), x_test.astype(np.float32))
    y_train = np.asarray(y_train, dtype=np.int64)
    data = NetData(name, np.ascontiguousarray(x_train, dtype=np.float32), y_train,
                   np.ascontiguousarray(x_test, dtype=np.float32), np.asarray(y_test, dtype=np.int64),
                   int(num_classes), y_train.copy())
    return data.with_label_noise(label_noise, noise_seed) if label_noise > 0 else data
