"""Kernels: closed forms, random features, the empirical NTK of a network, and the default RBF lengthscale.

One module per idea (a new kernel goes beside its kind):

* :mod:`~theory.kernels.analytic` — closed-form Gram matrices: ``linear``, ``rbf``, and the infinite-width
  ReLU network kernels ``relu_nngp`` and ``relu_ntk``;
* :mod:`~theory.kernels.features` — random features whose ΦΦᵀ estimates a closed form
  (``relu_feature_map``, ``fourier_feature_map`` and their one-call forms);
* :mod:`~theory.kernels.empirical` — ``empirical_ntk``, the finite-width NTK of any JAX model (JAX only),
  and ``ntk_vector_product``, its matrix-free product v ↦ J Jᵀ v as a scipy ``LinearOperator``;
* :mod:`~theory.kernels.structured` — the per-layer (structured) empirical NTK of networks of dense layers,
  which ``empirical_ntk`` uses where it applies (flax is imported only inside its functions);
* :mod:`~theory.kernels.mlp` — ``ntk_mlp`` / ``NTKMLP`` / ``NTKDense``, the flax MLP in the NTK
  parameterisation whose empirical NTK tends to ``relu_ntk`` (flax is imported on first use of these names,
  so ``import theory`` does not load flax);
* :mod:`~theory.kernels.lengthscale` — ``median_lengthscale``, the median heuristic for ``rbf``.

Every kernel takes ``x1 (n1, d)`` and ``x2 (n2, d)`` (``x2=None`` means ``x1``) and returns the ``(n1, n2)``
Gram matrix as float64 numpy. Conventions (K = ΦΦᵀ) in docs/maths.md §2.
"""
from __future__ import annotations

import importlib

from .analytic import linear
from .analytic import rbf
from .analytic import relu_nngp
from .analytic import relu_ntk
from .features import fourier_feature_map
from .features import random_fourier_features
from .features import relu_feature_map
from .features import relu_random_features
from .empirical import empirical_ntk
from .empirical import ntk_vector_product
from .lengthscale import median_lengthscale
from .operator import operator

__all__ = [
    "linear",
    "rbf",
    "relu_nngp",
    "relu_ntk",
    "relu_feature_map",
    "relu_random_features",
    "fourier_feature_map",
    "random_fourier_features",
    "empirical_ntk",
    "ntk_vector_product",
    "operator",
    "median_lengthscale",
    "NTKDense",
    "NTKMLP",
    "ntk_mlp",
]

#: Names loaded on first use, with the module that defines them (it imports flax).
_LAZY = {"NTKDense": "mlp", "NTKMLP": "mlp", "ntk_mlp": "mlp"}


def __getattr__(name):
    """``NTKDense``, ``NTKMLP`` and ``ntk_mlp`` import :mod:`theory.kernels.mlp` (and flax) on first use."""
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
