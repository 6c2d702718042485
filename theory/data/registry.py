"""The one registry of datasets: a :class:`DatasetSpec` per name, filled here, explicitly, in one place.

A new dataset goes here: write its loader (a function returning a :class:`~theory.data.Dataset` that takes
at least ``seed``, ``n_train``, ``label_noise`` and ``noise_seed`` as keywords) in the module of its kind
and add one :class:`DatasetSpec` to :data:`REGISTRY`. :func:`load_dataset` and the network loader
``theory.nets.load_data`` both look names up here.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

from .._checks import check_choice
from .dataset import Dataset
from .embedded import DIGITS_INPUT_SHAPE
from .embedded import MNIST1D_INPUT_SHAPE
from .embedded import load_digits
from .embedded import load_mnist1d
from .files import CIFAR_INPUT_SHAPE
from .files import load_cifar10
from .files import load_cifar100
from .files import load_npz
from .synthetic import load_gaussian_mixture
from .synthetic import load_logistic

__all__ = ["DATASETS", "KINDS", "LOADERS", "REGISTRY", "DatasetSpec", "dataset_spec", "load_dataset"]

#: the kinds of data: shipped with a package or generated offline, drawn from a known model, read from files.
KINDS = ("embedded", "synthetic", "files")


@dataclass(frozen=True)
class DatasetSpec:
    """How to get one dataset.

    Attributes:
      name: the registry key, e.g. ``"digits"``.
      loader: ``loader(**options) -> Dataset``; takes ``seed``, ``n_train``, ``label_noise``, ``noise_seed``
        (and, for ``kind == "files"``, ``data_dir`` and ``n_test``).
      input_shape: the natural shape of one input that networks see (``(8, 8, 1)`` for the digits images,
        ``(40, 1)`` for MNIST-1D, ``(32, 32, 3)`` for CIFAR); None when it depends on the data (the flat
        ``(d,)`` of a synthetic set, the stored shape of a ``.npz`` file). The loader records the same shape
        in :attr:`Dataset.input_shape <theory.data.Dataset>`.
      kind: ``"embedded"`` (no files, nothing downloaded), ``"synthetic"`` (known Bayes probabilities p*)
        or ``"files"`` (read from ``data_dir``).
      description: one line for listings.
    """

    name: str
    loader: Callable[..., Dataset]
    input_shape: tuple[int, ...] | None
    kind: str
    description: str = ""

    def __post_init__(self):
        check_choice(self.kind, "kind", KINDS)


REGISTRY = MappingProxyType({spec.name: spec for spec in (
    DatasetSpec("digits", load_digits, DIGITS_INPUT_SHAPE, "embedded",
                "scikit-learn's 8×8 handwritten digits, 1,797 images, 10 classes"),
    DatasetSpec("mnist1d", load_mnist1d, MNIST1D_INPUT_SHAPE, "embedded",
                "MNIST-1D generated offline, 40 features, 10 classes"),
    DatasetSpec("gaussian-mixture", load_gaussian_mixture, None, "synthetic",
                "isotropic Gaussian classes on a regular simplex, exact p*"),
    DatasetSpec("logistic", load_logistic, None, "synthetic",
                "Gaussian inputs with multinomial-logistic labels, exact p*"),
    DatasetSpec("cifar10", load_cifar10, CIFAR_INPUT_SHAPE, "files",
                "CIFAR-10 python pickles from data_dir, 10 classes"),
    DatasetSpec("cifar100", load_cifar100, CIFAR_INPUT_SHAPE, "files",
                "CIFAR-100 python pickles from data_dir, 100 fine classes"),
    DatasetSpec("npz", load_npz, None, "files",
                "a .npz file (data_dir) with x_train, y_train, x_test, y_test"),
)})
"""Every dataset by name (read-only)."""

DATASETS = MappingProxyType({name: spec.loader for name, spec in REGISTRY.items()})
"""The loaders by name (read-only; derived from :data:`REGISTRY`)."""

LOADERS = MappingProxyType({name: spec.loader for name, spec in REGISTRY.items() if spec.kind == "synthetic"})
"""The loaders of the synthetic datasets (known p*) by name (read-only; derived from :data:`REGISTRY`)."""


def dataset_spec(name: str) -> DatasetSpec:
    """The :class:`DatasetSpec` registered as ``name``.

    Raises:
      ValueError: if ``name`` is not registered (the message lists the known names).
    """
    if not isinstance(name, str) or name not in REGISTRY:
        known = ", ".join(repr(key) for key in sorted(REGISTRY))
        raise ValueError(f"Unknown dataset {name!r}; known datasets: {known}.")
    return REGISTRY[name]


def load_dataset(name: str, **options) -> Dataset:
    """Loads a registered dataset by name.

    Example:
      >>> load_dataset("digits", n_train=100).n_train
      100

    Args:
      name: a key of :data:`REGISTRY` (``"digits"``, ``"mnist1d"``, ``"gaussian-mixture"``, ``"logistic"``,
        ``"cifar10"``, ``"cifar100"``, ``"npz"``).
      **options: passed to the loader.

    Returns:
      The loader's :class:`~theory.data.Dataset`.

    Raises:
      ValueError: if ``name`` is not registered (the message lists the known names), or whatever the
        loader raises for its arguments.
    """
    return dataset_spec(name).loader(**options)
