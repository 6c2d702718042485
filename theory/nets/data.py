"""The network view of a dataset: float32 inputs in their natural shape, derived from a theory ``Dataset``.

Datasets are loaded by ``theory.data`` (one registry, :data:`theory.data.REGISTRY`, one set of loaders);
:class:`NetData` only reshapes a :class:`theory.data.Dataset`'s features to ``(n, *input_shape)`` (images
``(32, 32, 3)``, MNIST-1D ``(40, 1)``, digits ``(8, 8, 1)``) in float32 and reads everything else from it.
:func:`load_data` maps a training config's data settings to the registry's loader and wraps the result.

Nothing is downloaded. Label noise is :func:`theory.data.symmetric_label_noise` applied to the clean labels
(flip to a *different* class with probability ``rate``).
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import numpy as np

from theory.data import REGISTRY
from theory.data import Dataset
from theory.data import dataset_spec
from theory.data import read_cifar
from theory.data import read_npz

__all__ = ["NetData", "load_data", "read_cifar", "read_npz", "dataset_names", "FILE_DATASETS"]

#: datasets read from files the user gives (``data_dir``): the registry's datasets of kind ``"files"``.
FILE_DATASETS = tuple(name for name, spec in REGISTRY.items() if spec.kind == "files")

#: arguments of :func:`load_data` that a loader receives from the config, never from ``options``.
_FROM_CONFIG = ("seed", "n_train", "n_test", "label_noise", "noise_seed", "data_dir")


def dataset_names() -> list[str]:
    """All dataset names :func:`load_data` accepts: the keys of :data:`theory.data.REGISTRY`."""
    return sorted(REGISTRY)


@dataclass(frozen=True, eq=False)
class NetData:
    """A :class:`theory.data.Dataset` as a network sees it.

    ``x_train`` and ``x_test`` are the dataset's features reshaped to ``(n, *dataset.input_shape)`` in
    float32; labels, classes, noise and names are the dataset's own.

    Example:
      >>> from theory.data import load_digits
      >>> view = NetData.from_dataset(load_digits(n_train=100))
      >>> view.x_train.shape, view.x_train.dtype, view.num_classes
      ((100, 8, 8, 1), dtype('float32'), 10)

    Attributes:
      dataset: the underlying :class:`theory.data.Dataset` (float64, flat features).
      x_train: ``(n, *input_shape)`` float32 training inputs.
      x_test: ``(m, *input_shape)`` float32 test inputs.
    """

    dataset: Dataset
    x_train: np.ndarray = field(init=False, repr=False)
    x_test: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        if not isinstance(self.dataset, Dataset):
            raise ValueError(f"dataset must be a theory.data.Dataset, got {type(self.dataset).__name__}.")
        shape = self.dataset.input_shape
        for name in ("x_train", "x_test"):
            flat = getattr(self.dataset, name)
            object.__setattr__(self, name, np.ascontiguousarray(flat.reshape(-1, *shape), dtype=np.float32))

    @classmethod
    def from_dataset(cls, dataset: Dataset) -> NetData:
        """The network view of ``dataset`` (float32 inputs of shape ``(n, *dataset.input_shape)``)."""
        return cls(dataset)

    name = property(lambda self: self.dataset.name, doc="Dataset name.")
    y_train = property(lambda self: self.dataset.y_train, doc="``(n,)`` int64 training labels (noisy if noise).")
    y_test = property(lambda self: self.dataset.y_test, doc="``(m,)`` int64 clean test labels.")
    y_train_clean = property(lambda self: self.dataset.y_train_clean, doc="``(n,)`` int64 clean training labels.")
    num_classes = property(lambda self: self.dataset.num_classes, doc="Number of classes ``C``.")
    noise_rate = property(lambda self: self.dataset.noise_rate, doc="Requested symmetric label-noise rate.")
    n_train = property(lambda self: self.dataset.n_train, doc="Number of training points ``n``.")
    n_test = property(lambda self: self.dataset.n_test, doc="Number of test points ``m``.")
    noisy_mask = property(lambda self: self.dataset.noisy_mask, doc="``(n,)`` bool: noisy training labels.")

    @property
    def input_shape(self) -> tuple:
        """Shape of one input, e.g. ``(40, 1)`` for MNIST-1D or ``(32, 32, 3)`` for CIFAR."""
        return tuple(self.x_train.shape[1:])

    def flat_train(self) -> np.ndarray:
        """``(n, prod(input_shape))`` float64 training features as the network sees them (float32-rounded)."""
        return self.x_train.reshape(self.n_train, -1).astype(np.float64)

    def flat_test(self) -> np.ndarray:
        """``(m, prod(input_shape))`` float64 test features as the network sees them (float32-rounded)."""
        return self.x_test.reshape(self.n_test, -1).astype(np.float64)

    def one_hot_train(self) -> np.ndarray:
        """``(n, C)`` float64 one-hot training labels (the possibly noisy ones)."""
        return self.dataset.one_hot_train()

    def with_label_noise(self, rate: float, seed: int = 0) -> NetData:
        """A copy whose ``y_train`` is :func:`theory.data.symmetric_label_noise` of the clean labels."""
        return NetData(self.dataset.with_label_noise(rate, seed))

    def __repr__(self) -> str:
        return (f"NetData(name={self.name!r}, n_train={self.n_train}, n_test={self.n_test}, "
                f"input_shape={self.input_shape}, num_classes={self.num_classes}, "
                f"noise_rate={self.noise_rate:g})")


def load_data(name: str, *, data_dir=None, seed: int = 0, n_train: int | None = None,
              n_test: int | None = None, label_noise: float = 0.0, noise_seed: int = 0,
              options=()) -> NetData:
    """Loads a registered dataset (:func:`theory.data.load_dataset`) and returns its network view.

    The registry's loader does everything (split with ``seed``, stratified ``n_train`` subset, standardise,
    label noise with ``noise_seed``; file datasets also an ``n_test`` subset and read ``data_dir``); this
    function only routes the config's settings to it and wraps the result in :class:`NetData`.

    Example:
      >>> load_data("mnist1d", n_train=500)
      NetData(name='mnist1d', n_train=500, n_test=800, input_shape=(40, 1), num_classes=10, noise_rate=0)

    Args:
      name: one of :func:`dataset_names` (``"digits"``, ``"mnist1d"``, ``"gaussian-mixture"``, ``"logistic"``,
        ``"cifar10"``, ``"cifar100"``, ``"npz"``).
      data_dir: directory of the CIFAR pickles, or path of the ``.npz`` file; unused otherwise.
      seed: split / subset seed.
      n_train, n_test: optional stratified subset sizes (``n_test`` only for file datasets).
      label_noise: symmetric label-noise rate in ``[0, 1)``.
      noise_seed: seed of the label noise.
      options: extra loader keyword arguments as ``(name, value)`` pairs (e.g. ``(("num_samples", 8000),)``);
        not for file datasets.

    Returns:
      :class:`NetData` with float32 inputs.

    Raises:
      ValueError: unknown ``name`` (the message lists the known ones), missing ``data_dir`` or files, bad sizes,
        options the loader does not take.
    """
    spec = dataset_spec(name)
    options = dict(options)
    kwargs = dict(seed=seed, n_train=n_train, label_noise=label_noise, noise_seed=noise_seed)
    if spec.kind == "files":
        if options:
            raise ValueError(f"data_options are not used by dataset {name!r}, got {sorted(options)}.")
        kwargs.update(data_dir=data_dir, n_test=n_test)
    else:
        if n_test is not None:
            raise ValueError(f"n_test is only supported for file datasets {FILE_DATASETS}, not {name!r}.")
        parameters = inspect.signature(spec.loader).parameters
        if set(options) - set(parameters) or set(options) & set(_FROM_CONFIG):
            raise ValueError(f"data_options {sorted(options)} must be arguments of the {name!r} loader other than "
                             f"{', '.join(_FROM_CONFIG)} (which come from the config); it takes "
                             f"{list(parameters)}.")
        kwargs.update(options)
    return NetData.from_dataset(spec.loader(**kwargs))
