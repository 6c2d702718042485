"""Deprecated: ``theory.dynamics_ce`` moved into ``theory.dynamics`` (``theory/dynamics/cross_entropy.py`` and
``cross_entropy_gd.py``, on the one simulation driver).

Import the same names from :mod:`theory.dynamics`; this module re-exports them for one release and warns on
import.
"""
import warnings

from .dynamics import Trajectory
from .dynamics import cross_entropy
from .dynamics import cross_entropy_gradient
from .dynamics import distillation_targets
from .dynamics import kernel_ce_gd
from .dynamics import kernel_ce_gd_sweep
from .dynamics import linear_ce_gd

__all__ = [
    "Trajectory",
    "cross_entropy",
    "cross_entropy_gradient",
    "distillation_targets",
    "kernel_ce_gd",
    "kernel_ce_gd_sweep",
    "linear_ce_gd",
]

warnings.warn("theory.dynamics_ce is deprecated; import these names from theory.dynamics instead.",
              DeprecationWarning, stacklevel=2)
