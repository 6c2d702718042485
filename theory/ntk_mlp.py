"""Deprecated: use :mod:`theory.kernels` (``theory.kernels.empirical_ntk``, ``theory.kernels.ntk_mlp``, ...).

This module only re-exports those names for one release; importing it warns.
"""
from __future__ import annotations

import warnings

from theory.kernels import empirical_ntk
from theory.kernels.mlp import NTKDense
from theory.kernels.mlp import NTKMLP
from theory.kernels.mlp import ntk_mlp

__all__ = ["empirical_ntk", "ntk_mlp", "NTKDense", "NTKMLP"]

warnings.warn(
    "theory.ntk_mlp is deprecated; import empirical_ntk, ntk_mlp, NTKMLP and NTKDense from theory.kernels.",
    DeprecationWarning,
    stacklevel=2,
)
