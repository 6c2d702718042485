"""Datasets read from files the user provides (nothing is downloaded): CIFAR python pickles and ``.npz``.

:func:`read_cifar` and :func:`read_npz` return the raw arrays; :func:`load_cifar10`, :func:`load_cifar100`
and :func:`load_npz` turn them into a :class:`~theory.data.Dataset` with the conventions of the other
loaders. Order of operations: read, keep stratified ``n_train`` / ``n_test`` subsets (independent streams
spawned from ``seed``), standardise (CIFAR per channel, ``.npz`` with :func:`~theory.data.standardize` on the
flattened inputs), add label noise. Features are stored flat (float64, image rows in height-width-channel
order) with the natural ``input_shape`` recorded.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from .._checks import check_choice
from .._checks import check_fraction
from .._checks import check_seed
from ._common import split_seeds
from ._common import stratified_rows
from .dataset import Dataset
from .features import standardize as standardize_features
from .features import standardize_channels

__all__ = ["CIFAR_INPUT_SHAPE", "load_cifar10", "load_cifar100", "load_npz", "read_cifar", "read_npz"]

#: one CIFAR image: 32 × 32 pixels, red, green and blue channels last.
CIFAR_INPUT_SHAPE = (32, 32, 3)

_CIFAR_LAYOUTS = {
    "cifar10": (["data_batch_%d" % i for i in range(1, 6)], ["test_batch"], b"labels", 10, "cifar-10-batches-py"),
    "cifar100": (["train"], ["test"], b"fine_labels", 100, "cifar-100-python"),
}


def _check_directory(data_dir, name: str) -> Path:
    """The existing directory ``data_dir`` of dataset ``name`` (a domain check: files are never fetched)."""
    if data_dir is None:
        raise ValueError(f"dataset {name!r} is read from disk: pass data_dir (a directory holding the "
                         "files; nothing is downloaded).")
    path = Path(data_dir).expanduser()
    if not path.is_dir():
        raise ValueError(f"data_dir {str(data_dir)!r} for dataset {name!r} is not an existing directory.")
    return path


#: the only globals a CIFAR pickle may name: what numpy needs to rebuild an array (old and new module paths, every
#: pickle protocol). Anything else (a function that runs code on load) is refused.
_PICKLE_GLOBALS = frozenset({
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),
})


class _RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds dicts, lists, bytes and numpy arrays only (a data file must not run code)."""

    def find_class(self, module, name):
        if (module, name) not in _PICKLE_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load the global {module}.{name}")
        return super().find_class(module, name)


def _unpickle(path: Path) -> dict:
    with open(path, "rb") as handle:
        try:
            batch = _RestrictedUnpickler(handle, encoding="bytes").load()
        except pickle.UnpicklingError as error:
            raise ValueError(f"{path} is not a CIFAR python-pickle file: {error} (a CIFAR batch holds only a "
                             "dict of bytes, lists and numpy arrays).") from None
    if not isinstance(batch, dict):
        raise ValueError(f"{path} must hold a dict (a CIFAR batch), got {type(batch).__name__}.")
    return batch


def read_cifar(data_dir, which: str = "cifar10"):
    """Reads CIFAR-10 or CIFAR-100 from the standard python-pickle files (Krizhevsky 2009).

    CIFAR-10: ``data_batch_1`` … ``data_batch_5`` and ``test_batch``, each a pickled dict with ``b'data'``
    ``(N, 3072)`` uint8 (rows are the red, green and blue 32 × 32 planes one after the other) and ``b'labels'``.
    CIFAR-100: ``train`` and ``test`` with ``b'data'`` and ``b'fine_labels'``. The files may sit directly in
    ``data_dir`` or in its standard sub-directory (``cifar-10-batches-py`` / ``cifar-100-python``). They are
    read by a restricted unpickler that rebuilds only dicts, lists, bytes and numpy arrays: a file naming any
    other global (which could run code on load) is refused.

    Args:
      data_dir: the directory.
      which: ``"cifar10"`` or ``"cifar100"``.

    Returns:
      ``(x_train (n, 32, 32, 3) uint8, y_train (n,) int64, x_test (m, 32, 32, 3) uint8, y_test (m,) int64,
      num_classes)``.

    Raises:
      ValueError: unknown ``which``, missing directory or files, malformed contents, or a pickle that names a
        global other than numpy's array constructors.
    """
    check_choice(which, "which", _CIFAR_LAYOUTS)
    train_files, test_files, label_key, num_classes, subdir = _CIFAR_LAYOUTS[which]
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

    Returns:
      ``(x_train (n, ...), y_train (n,), x_test (m, ...), y_test (m,), num_classes)`` as stored.

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


def _from_arrays(name, arrays, *, seed, n_train, n_test, standardize, per_channel, label_noise,
                 noise_seed) -> Dataset:
    """Shared tail of the file loaders: subset, standardise, flatten, label noise."""
    x_train, y_train, x_test, y_test, num_classes = arrays
    label_noise = check_fraction(label_noise, "label_noise")
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
      label_noise: symmetric label-noise rate in ``[0, 1)``; noise_seed: its seed.

    Returns:
      A :class:`~theory.data.Dataset` named ``"cifar10"`` with ``input_shape = (32, 32, 3)`` (flat float64 features).

    Raises:
      ValueError: missing ``data_dir`` or files, bad sizes or seeds.
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

    Returns:
      A :class:`~theory.data.Dataset` named ``"npz"`` with ``C = max label + 1``.

    Raises:
      ValueError: missing file or arrays, non-integer labels, bad sizes or seeds.
    """
    return _from_arrays("npz", read_npz(data_dir), seed=seed, n_train=n_train, n_test=n_test,
                        standardize=standardize, per_channel=False, label_noise=label_noise, noise_seed=noise_seed)
