"""Datasets read from files the user provides (nothing is downloaded): CIFAR python pickles and ``.npz``.

:func:`read_cifar` and :func:`read_npz` return the raw arrays; :func:`load_cifar10`, :func:`load_cifar100`
and :func:`load_npz` turn them into a :class:`~theory.data.Dataset` with the conventions of the other
loaders. Order of operations: read, keep stratified ``n_train`` / ``n_test`` subsets (independent streams
spawned from ``seed``), standardise (CIFAR per channel, ``.npz`` with :func:`~theory.data.standardize` on the
flattened inputs), add label noise. Features are stored flat (float64, image rows in height-width-channel
order) with the natural ``input_shape`` recorded.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .._checks import check_choice
from .._checks import check_seed
from ._common import split_seeds
from ._common import stratified_rows
from ._safe_load import load_npz_arrays
from ._safe_load import unpickle
from .dataset import Dataset
from .features import standardize as standardize_features
from .features import standardize_channels
from .labels import check_noise_rate

__all__ = ["CIFAR_INPUT_SHAPE", "data_files", "load_cifar10", "load_cifar100", "load_npz", "read_cifar", "read_npz"]

#: one CIFAR image: 32 × 32 pixels, red, green and blue channels last.
CIFAR_INPUT_SHAPE = (32, 32, 3)

_CIFAR_LAYOUTS = {
    "cifar10": (["data_batch_%d" % i for i in range(1, 6)], ["test_batch"], b"labels", 10, "cifar-10-batches-py"),
    "cifar100": (["train"], ["test"], b"fine_labels", 100, "cifar-100-python"),
}


def _cifar_root(root: Path, which: str) -> Path:
    """``root``, or its standard sub-directory (``cifar-10-batches-py``) when the files sit there."""
    train_files, _, _, _, subdir = _CIFAR_LAYOUTS[which]
    if not (root / train_files[0]).exists() and (root / subdir).is_dir():
        return root / subdir
    return root


def data_files(name: str, data_dir) -> list[Path]:
    """The files the reader of file dataset ``name`` reads from ``data_dir``, in reading order.

    For ``"cifar10"``/``"cifar100"`` the python-pickle batches in ``data_dir`` or its standard sub-directory
    (the rule :func:`read_cifar` applies); for ``"npz"`` the file ``data_dir`` itself. Other files do not count.
    Used by :mod:`theory.data.fingerprint` so that a run's identity covers exactly the bytes that are read.

    Example:
      >>> import tempfile
      >>> data_files("npz", tempfile.gettempdir() + "/set.npz")[0].name
      'set.npz'

    Raises:
      ValueError: ``name`` is not a file dataset, or ``data_dir`` is None.
    """
    check_choice(name, "name", (*_CIFAR_LAYOUTS, "npz"))
    if data_dir is None:
        raise ValueError(f"data_dir must be given for dataset {name!r} (a file dataset), got None.")
    root = Path(data_dir).expanduser()
    if name == "npz":
        return [root]
    train_files, test_files, _, _, _ = _CIFAR_LAYOUTS[name]
    root = _cifar_root(root, name)
    return [root / file for file in train_files + test_files]


def _check_directory(data_dir, name: str) -> Path:
    """The existing directory ``data_dir`` of dataset ``name`` (a domain check: files are never fetched)."""
    if data_dir is None:
        raise ValueError(f"dataset {name!r} is read from disk: pass data_dir (a directory holding the "
                         "files; nothing is downloaded).")
    path = Path(data_dir).expanduser()
    if not path.is_dir():
        raise ValueError(f"data_dir {str(data_dir)!r} for dataset {name!r} is not an existing directory.")
    return path


def _integers(value, where: str) -> np.ndarray:
    """``value`` as a numpy array of integers, or a ValueError naming ``where`` (the file and the entry)."""
    try:
        array = np.asarray(value)
    except (ValueError, TypeError, OverflowError):
        raise ValueError(f"{where} must be an array of integers, got an irregular {type(value).__name__} "
                         "(rows of different lengths or mixed types).") from None
    if array.size == 0 and array.dtype == np.float64:  # an empty list
        return array.astype(np.int64)
    if array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{where} must hold integers, got dtype {array.dtype}.")
    return array


def _cifar_batch(path: Path, label_key: bytes, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """The images ``(N, 32, 32, 3)`` uint8 and labels ``(N,)`` int64 of one CIFAR batch file, checked."""
    batch = unpickle(path)
    if not isinstance(batch, dict):
        raise ValueError(f"{path} must hold a dict (a CIFAR batch), got {type(batch).__name__}.")
    if b"data" not in batch or label_key not in batch:
        raise ValueError(f"{path} has no {b'data'!r} / {label_key!r} entries.")
    data = _integers(batch[b"data"], f"{path}: b'data'")
    if data.ndim != 2 or data.shape[1] != 3072:
        raise ValueError(f"{path}: b'data' must have shape (N, 3072), got {data.shape}.")
    if data.dtype != np.uint8 and data.size and (data.min() < 0 or data.max() > 255):
        raise ValueError(f"{path}: b'data' must hold pixel values in [0, 255], got values in "
                         f"[{data.min()}, {data.max()}].")
    labels = _integers(batch[label_key], f"{path}: {label_key!r}")
    if labels.ndim != 1:
        raise ValueError(f"{path}: {label_key!r} must be a 1-D list of class labels, got shape {labels.shape}.")
    if labels.shape[0] != data.shape[0]:
        raise ValueError(f"{path} holds {data.shape[0]} images (rows of b'data') but {labels.shape[0]} labels "
                         f"({label_key!r}); every image needs exactly one label.")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"{path}: {label_key!r} must lie in [0, {num_classes}), got values in "
                         f"[{labels.min()}, {labels.max()}].")
    images = data.astype(np.uint8, copy=False).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return images, labels.astype(np.int64, copy=False)


def read_cifar(data_dir, which: str = "cifar10"):
    """Reads CIFAR-10 or CIFAR-100 from the standard python-pickle files (Krizhevsky 2009).

    CIFAR-10: ``data_batch_1`` … ``data_batch_5`` and ``test_batch``, each a pickled dict with ``b'data'``
    ``(N, 3072)`` uint8 (rows are the red, green and blue 32 × 32 planes one after the other) and ``b'labels'``.
    CIFAR-100: ``train`` and ``test`` with ``b'data'`` and ``b'fine_labels'``. The files may sit directly in
    ``data_dir`` or in its standard sub-directory (``cifar-10-batches-py`` / ``cifar-100-python``). They are
    read by a restricted unpickler that rebuilds only dicts, lists, tuples, bytes, str, numbers and numeric
    numpy arrays: a file naming any other global (which could run code on load), or holding anything else, is
    refused; so are truncated or corrupt files. Every image needs exactly one label in ``[0, C)``.

    Args:
      data_dir: the directory.
      which: ``"cifar10"`` or ``"cifar100"``.

    Returns:
      ``(x_train (n, 32, 32, 3) uint8, y_train (n,) int64, x_test (m, 32, 32, 3) uint8, y_test (m,) int64,
      num_classes)``.

    Raises:
      ValueError: unknown ``which``, missing directory or files; and, naming the file: a file that is not a
        pickle (random bytes, truncated), a pickle that names a global other than numpy's array constructors or
        holds other objects, ``b'data'`` that is not ``(N, 3072)`` integers in [0, 255], labels that are not 1-D
        integers in ``[0, C)``, a different number of labels than images, or no images at all.
    """
    check_choice(which, "which", _CIFAR_LAYOUTS)
    train_files, test_files, label_key, num_classes, _ = _CIFAR_LAYOUTS[which]
    root = _cifar_root(_check_directory(data_dir, which), which)
    missing = [f for f in train_files + test_files if not (root / f).is_file()]
    if missing:
        raise ValueError(f"data_dir {str(data_dir)!r} lacks the {which} files {missing} (expected the "
                         f"python-pickle version: {', '.join(train_files + test_files)}).")

    def read(files, part):
        images, labels = zip(*(_cifar_batch(root / name, label_key, num_classes) for name in files))
        if sum(len(y) for y in labels) == 0:
            raise ValueError(f"{root}: the {which} {part} files {files} hold no images.")
        return np.concatenate(images), np.concatenate(labels)

    x_train, y_train = read(train_files, "training")
    x_test, y_test = read(test_files, "test")
    return x_train, y_train, x_test, y_test, num_classes


_NPZ_ARRAYS = ("x_train", "y_train", "x_test", "y_test")


def read_npz(path):
    """Reads ``x_train, y_train, x_test, y_test`` from a ``.npz`` file; ``C = max label + 1``.

    The archive is read with ``allow_pickle=False``: an array of Python objects (which would need unpickling,
    and so could run code) is refused. Every point needs exactly one label.

    Returns:
      ``(x_train (n, ...), y_train (n,), x_test (m, ...), y_test (m,), num_classes)`` as stored.

    Raises:
      ValueError: naming the file, for a missing or unreadable file (not a ``.npz`` archive, truncated),
        missing arrays, object arrays, non-numeric or non-finite inputs, no training or no test points, test
        points of another shape than the training points, labels that are not 1-D non-negative integers or
        not one per point, a single class (C = 1), or a single class among the training labels.
    """
    if path is None:
        raise ValueError("dataset 'npz' needs data_dir = the path of a .npz file with x_train, y_train, "
                         "x_test, y_test.")
    path = Path(path).expanduser()
    if not path.is_file():
        raise ValueError(f"data_dir {str(path)!r} for dataset 'npz' is not an existing .npz file.")
    x_train, y_train, x_test, y_test = load_npz_arrays(path, _NPZ_ARRAYS)
    for name, x in (("x_train", x_train), ("x_test", x_test)):
        if x.ndim < 1:
            raise ValueError(f"{path}: {name} must have a first axis of points, got a 0-D array.")
        if (x.dtype == bool or not np.issubdtype(x.dtype, np.number)) or np.issubdtype(x.dtype, np.complexfloating):
            raise ValueError(f"{path}: {name} must be a real numeric array, got dtype {x.dtype}.")
        if x.shape[0] == 0:
            raise ValueError(f"{path}: {name} holds no points (shape {x.shape}); a dataset needs at least one "
                             "training and one test point.")
        if np.issubdtype(x.dtype, np.floating) and not np.all(np.isfinite(x)):
            raise ValueError(f"{path}: {name} must be finite, got {int(x.size - np.count_nonzero(np.isfinite(x)))} "
                             "NaN or infinite entries.")
    if x_test.shape[1:] != x_train.shape[1:]:
        raise ValueError(f"{path}: x_test must have the point shape of x_train, {x_train.shape[1:]}, got "
                         f"{x_test.shape[1:]}.")
    for name, labels, x_name, x in (("y_train", y_train, "x_train", x_train), ("y_test", y_test, "x_test", x_test)):
        if not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"{path}: {name} must hold integer class labels, got dtype {labels.dtype}.")
        if labels.ndim != 1:
            raise ValueError(f"{path}: {name} must be 1-D (one class label per point), got shape {labels.shape}.")
        if labels.shape[0] != x.shape[0]:
            raise ValueError(f"{path}: {name} has {labels.shape[0]} labels but {x_name} has {x.shape[0]} points; "
                             "every point needs exactly one label.")
        if labels.min() < 0:
            raise ValueError(f"{path}: {name} must hold non-negative class labels, got minimum {labels.min()}.")
    num_classes = int(max(y_train.max(), y_test.max())) + 1
    if num_classes < 2:
        raise ValueError(f"{path}: the labels hold a single class (every label is 0, so C = 1); a classification "
                         "dataset needs at least 2 classes.")
    present = np.unique(y_train)
    if present.size < 2:
        raise ValueError(f"{path}: y_train holds only class {int(present[0])} (C = {num_classes}); a classifier "
                         "needs at least 2 classes among its training labels.")
    return x_train, y_train, x_test, y_test, num_classes


def _from_arrays(name, arrays, *, seed, n_train, n_test, standardize, per_channel, label_noise,
                 noise_seed) -> Dataset:
    """Shared tail of the file loaders: subset, standardise, flatten, label noise."""
    x_train, y_train, x_test, y_test, num_classes = arrays
    label_noise = check_noise_rate(label_noise, num_classes, "label_noise")
    noise_seed = check_seed(noise_seed, "noise_seed")
    train_seed, test_seed = split_seeds(seed)
    keep = stratified_rows(y_train, n_train, train_seed, "n_train")
    keep_test = stratified_rows(y_test, n_test, test_seed, "n_test")
    x_train, y_train, x_test, y_test = x_train[keep], y_train[keep], x_test[keep_test], y_test[keep_test]
    shape = tuple(x_train.shape[1:])
    x_train, x_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
    if standardize and per_channel:  # in float32 as the network sees them, statistics in float64
        x_train, x_test = (x.reshape(-1, *shape) for x in
                           standardize_channels(x_train.reshape(-1, *shape).astype(np.float32),
                                                x_test.reshape(-1, *shape).astype(np.float32)))
        x_train, x_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
    elif standardize:
        x_train, x_test = standardize_features(x_train, x_test)
    data = Dataset(name, x_train, np.asarray(y_train, dtype=np.int64), x_test, np.asarray(y_test, dtype=np.int64),
                   int(num_classes), input_shape=shape)
    return data.with_label_noise(label_noise, noise_seed) if label_noise > 0 else data


def _load_cifar(which, data_dir, seed, n_train, n_test, standardize, label_noise, noise_seed) -> Dataset:
    return _from_arrays(which, read_cifar(data_dir, which), seed=seed, n_train=n_train, n_test=n_test,
                        standardize=standardize, per_channel=True, label_noise=label_noise, noise_seed=noise_seed)


def load_cifar10(data_dir=None, *, seed: int = 0, n_train: int | None = None, n_test: int | None = None,
                 standardize: bool = True, label_noise: float = 0.0, noise_seed: int = 0) -> Dataset:
    """CIFAR-10 from the python-pickle files in ``data_dir`` (see :func:`read_cifar`): 10 classes, 32×32×3.

    ``standardize=True`` standardises each colour channel by its training mean and standard deviation
    (:func:`~theory.data.standardize_channels`, computed on float32 pixels 0..255); False keeps the grey levels.

    Args:
      data_dir: the directory of the files.
      seed: non-negative integer seeding the ``n_train`` / ``n_test`` subsets (independent streams).
      n_train, n_test: stratified subset sizes, or None for all points.
      standardize: per-channel standardisation (see above).
      label_noise: symmetric label-noise rate in ``[0, (C − 1)/C)`` (at ``(C − 1)/C`` the labels carry no
        information; see :func:`~theory.data.symmetric_label_noise`); noise_seed: its seed.

    Returns:
      A :class:`~theory.data.Dataset` named ``"cifar10"`` with ``input_shape = (32, 32, 3)`` (flat float64 features).

    Raises:
      ValueError: missing ``data_dir`` or files, malformed or hostile files (see :func:`read_cifar`), bad sizes,
        seeds or ``label_noise``.
    """
    return _load_cifar("cifar10", data_dir, seed, n_train, n_test, standardize, label_noise, noise_seed)


def load_cifar100(data_dir=None, *, seed: int = 0, n_train: int | None = None, n_test: int | None = None,
                  standardize: bool = True, label_noise: float = 0.0, noise_seed: int = 0) -> Dataset:
    """CIFAR-100 (fine labels, 100 classes) from the python-pickle files in ``data_dir``; as :func:`load_cifar10`."""
    return _load_cifar("cifar100", data_dir, seed, n_train, n_test, standardize, label_noise, noise_seed)


def load_npz(data_dir=None, *, seed: int = 0, n_train: int | None = None, n_test: int | None = None,
             standardize: bool = True, label_noise: float = 0.0, noise_seed: int = 0) -> Dataset:
    """A dataset from a ``.npz`` file (``data_dir`` is its path) with ``x_train, y_train, x_test, y_test``.

    The inputs keep their stored shape as ``input_shape``; ``standardize=True`` applies
    :func:`~theory.data.standardize` to the flattened inputs. Other arguments as in :func:`load_cifar10`.

    This is also the route for a stored network's features, e.g. the penultimate-layer features of a ResNet on
    CIFAR-10: save ``np.savez(path, x_train=features_train (n, d), y_train=labels_train, x_test=features_test
    (m, d), y_test=labels_test)`` and load it with ``load_npz(path)`` (``standardize=False`` keeps the features
    as the network produced them); kernels and spectra then see the features as inputs.

    Returns:
      A :class:`~theory.data.Dataset` named ``"npz"`` with ``C = max label + 1``.

    Raises:
      ValueError: naming the file, as :func:`read_npz`; bad sizes, seeds or ``label_noise``.
    """
    return _from_arrays("npz", read_npz(data_dir), seed=seed, n_train=n_train, n_test=n_test,
                        standardize=standardize, per_channel=False, label_noise=label_noise, noise_seed=noise_seed)
