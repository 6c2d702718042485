"""Datasets for the theory toolkit: the :class:`Dataset` value, labels, loaders, and the one registry.

Layout (one idea per module):

* ``dataset``: :class:`Dataset`, train/test arrays with clean labels and per-point fields;
* ``labels``: one-hot targets, symmetric label noise, stratified subsets, label draws from p*;
* ``features``: standardisation fit on the training set (flat, or per image channel);
* ``embedded``: digits and MNIST-1D, no files needed;
* ``generative``: models with exact Bayes probabilities p*; ``synthetic``: the datasets drawn from them;
* ``files``: CIFAR python pickles and ``.npz`` files the user provides;
* ``registry``: :data:`REGISTRY`, one :class:`DatasetSpec` per name, and :func:`load_dataset`.

Nothing is downloaded. Noise is always applied to the clean labels, which a dataset keeps in
``y_train_clean``.
"""
from .dataset import Dataset
from .embedded import DIGITS_INPUT_SHAPE
from .embedded import MNIST1D_INPUT_SHAPE
from .embedded import load_digits
from .embedded import load_mnist1d
from .features import standardize
from .features import standardize_channels
from .files import CIFAR_INPUT_SHAPE
from .files import load_cifar10
from .files import load_cifar100
from .files import load_npz
from .files import read_cifar
from .files import read_npz
from .labels import flip_probabilities
from .labels import one_hot
from .labels import resample_labels
from .labels import stratified_indices
from .labels import symmetric_label_noise
from .registry import DATASETS
from .registry import KINDS
from .registry import LOADERS
from .registry import REGISTRY
from .registry import DatasetSpec
from .registry import dataset_spec
from .registry import load_dataset
from .generative import GaussianMixture
from .generative import LogisticModel
from .generative import gaussian_mixture
from .generative import logistic_model
from .synthetic import SyntheticDataset
from .synthetic import load_gaussian_mixture
from .synthetic import load_logistic

__all__ = [
    "CIFAR_INPUT_SHAPE",
    "DATASETS",
    "DIGITS_INPUT_SHAPE",
    "KINDS",
    "LOADERS",
    "MNIST1D_INPUT_SHAPE",
    "REGISTRY",
    "Dataset",
    "DatasetSpec",
    "GaussianMixture",
    "LogisticModel",
    "SyntheticDataset",
    "dataset_spec",
    "flip_probabilities",
    "gaussian_mixture",
    "load_cifar10",
    "load_cifar100",
    "load_dataset",
    "load_digits",
    "load_gaussian_mixture",
    "load_logistic",
    "load_mnist1d",
    "load_npz",
    "logistic_model",
    "one_hot",
    "read_cifar",
    "read_npz",
    "resample_labels",
    "standardize",
    "standardize_channels",
    "stratified_indices",
    "symmetric_label_noise",
]
