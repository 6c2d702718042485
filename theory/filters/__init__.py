"""Spectral filters: what a training procedure does to each eigendirection of the kernel.

A training procedure on a linear / kernel model with squared loss, started from outputs F₀, ends at
(docs/maths.md §3)

    F = F₀ + g(K) (Y − F₀),     g(K) = U diag(g(λ)) Uᵀ,

and distillation multiplies filters: a student trained by g_s on a teacher's training outputs g_T(K) Y has
outputs g_s(K) g_T(K) Y. Filters here are frozen dataclasses: values with equality, hashing and a repr that
evaluates back.

The filters of one trained model (``gd``, ``flow``, ``ridge``, ``interpolate``) are tabulated with their g(λ) and
g(λ)/λ in :mod:`theory.filters.training`; ``student * teacher`` is g_s(λ) g_T(λ), ``mix(ξ, teacher)`` is
1 − ξ + ξ g_T(λ) (a target transform, not a model), and ``late_switch`` is in :mod:`theory.filters.targets`.

Parameters (``steps``, ``time``, ``strength``) may be arrays of any shape S: calling the filter on
eigenvalues ``(n,)`` then returns factors of shape ``S + (n,)``, e.g. a whole trajectory ``(T, n)``.
Composed filters broadcast their parameter shapes with numpy's rules.

Example:
    >>> import numpy as np, theory as th
    >>> teacher = th.gd(learning_rate=0.1, steps=100)
    >>> student = th.gd(learning_rate=0.1, steps=100) * teacher
    >>> student
    gd(learning_rate=0.1, steps=100) * gd(learning_rate=0.1, steps=100)
    >>> bool(np.allclose(student(np.array([1.0, 0.01])), teacher(np.array([1.0, 0.01])) ** 2))
    True
"""
from .base import Filter
from .base import Product
from .base import compose
from .targets import LateSwitch
from .targets import Mix
from .targets import late_switch
from .targets import mix
from .training import GradientDescent
from .training import GradientFlow
from .training import Interpolate
from .training import Ridge
from .training import flow
from .training import gd
from .training import interpolate
from .training import ridge

__all__ = [
    "Filter",
    "gd",
    "flow",
    "ridge",
    "interpolate",
    "mix",
    "late_switch",
    "compose",
    "GradientDescent",
    "GradientFlow",
    "Ridge",
    "Interpolate",
    "Product",
    "Mix",
    "LateSwitch",
]
