"""Deprecated: ``theory.synthetic`` moved into ``theory.data`` (``theory/data/synthetic.py``, ``labels.py``).

Import the same names from :mod:`theory.data`; this module re-exports them for one release and warns once,
on import.
"""
import warnings

from .data import LOADERS
from .data import GaussianMixture
from .data import LogisticModel
from .data import SyntheticDataset
from .data import flip_probabilities
from .data import gaussian_mixture
from .data import load_gaussian_mixture
from .data import load_logistic
from .data import logistic_model
from .data import resample_labels

__all__ = [
    "GaussianMixture",
    "LogisticModel",
    "SyntheticDataset",
    "LOADERS",
    "gaussian_mixture",
    "logistic_model",
    "load_gaussian_mixture",
    "load_logistic",
    "resample_labels",
    "flip_probabilities",
]

warnings.warn("theory.synthetic is deprecated; import these names from theory.data instead.",
              DeprecationWarning, stacklevel=2)
