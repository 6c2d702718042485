"""Simulated training: one driver, the squared and cross-entropy losses, kernel and linear models.

Layout (docs/maths.md §2–§4):

* ``driver``: the one simulation driver: :class:`Schedule` (when to record), :class:`Run` (what a run owns),
  :func:`simulate` (jit + ``lax.scan``, float64 under ``jax.enable_x64``), :func:`descent`, ``over_runs``
  (the vmapped sweep path), ``draw_batch`` (minibatches);
* ``models``: kernel and linear models' steps, built from a loss's gradient function, and :class:`Trajectory`;
* ``squared``: the squared loss; :func:`kernel_gd`, :func:`kernel_gd_sweep`, :func:`linear_gd`;
* ``cross_entropy``: softmax cross-entropy, its gradient, :func:`distillation_targets`;
* ``cross_entropy_gd``: :func:`kernel_ce_gd`, :func:`kernel_ce_gd_sweep`, :func:`linear_ce_gd`;
* ``replay``: :func:`kernel_ce_replay`, a given minibatch sequence on a traced or full C × C kernel (a network's
  linearisation, docs/linearised.md);
* ``_validate``: the checks the simulators share (stability η·λ_max·h < 2, divergence, per-run arguments).
"""
from .cross_entropy import cross_entropy
from .cross_entropy import cross_entropy_gradient
from .cross_entropy import distillation_targets
from .cross_entropy_gd import kernel_ce_gd
from .cross_entropy_gd import kernel_ce_gd_sweep
from .cross_entropy_gd import linear_ce_gd
from .driver import Recording
from .driver import Run
from .driver import Schedule
from .driver import descent
from .driver import simulate
from .models import Trajectory
from .replay import kernel_ce_replay
from .squared import kernel_gd
from .squared import kernel_gd_sweep
from .squared import linear_gd

__all__ = [
    "Recording",
    "Run",
    "Schedule",
    "Trajectory",
    "cross_entropy",
    "cross_entropy_gradient",
    "descent",
    "distillation_targets",
    "kernel_ce_gd",
    "kernel_ce_gd_sweep",
    "kernel_ce_replay",
    "kernel_gd",
    "kernel_gd_sweep",
    "linear_ce_gd",
    "linear_gd",
    "simulate",
]
