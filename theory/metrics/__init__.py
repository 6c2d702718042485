"""Measurements shared by the theory, the figures and the trained networks (docs/maths.md §6).

Plain numpy float64 functions of arrays, each in one place:

* :mod:`~theory.metrics.probabilities`: :func:`softmax`, :func:`log_softmax`, :func:`check_probabilities`
  (every probability metric takes ``p (n, C)``, rows summing to 1; logits go through :func:`softmax` first);
* :mod:`~theory.metrics.confidence`: confidence exaggeration (claim C1) — :func:`logit_confidence`,
  :func:`exaggeration` -> :class:`Exaggeration`, :func:`confidence_diagnostics`, and the one OLS line fit
  :func:`ols_line`;
* :mod:`~theory.metrics.agreement`: :func:`fidelity` -> :class:`Fidelity` (Stanton et al. 2021),
  :func:`accuracy`, :func:`nll`, :func:`expected_calibration_error`, :func:`classification_report`;
* :mod:`~theory.metrics.progress`: eigen progress — :func:`eigen_progress` and :func:`group_progress`
  (from :mod:`theory.spectral`), :func:`filter_group_progress` (closed form for a filter) and
  :func:`matched_deficit` (claim C3);
* :mod:`~theory.metrics.bootstrap`: 95 % bootstrap intervals over points and seeds (paired, hierarchical,
  Fieller's ratio) — :func:`slope_interval`, :func:`difference_interval`, :func:`ratio_interval`,
  :func:`mean_interval`, :func:`hierarchical`, :func:`combine_seeds` (docs/uncertainty.md);
* :mod:`~theory.metrics.regime`: the regime variables beside a slope — :func:`regime` -> :class:`Regime`,
  :func:`phi_from_logits` (exact log-odds from logits).

Inputs are validated through ``theory._checks``; bad input raises ``ValueError`` naming the argument.
"""
from __future__ import annotations

from .confidence import Exaggeration
from .confidence import confidence_diagnostics
from .confidence import exaggeration
from .confidence import logit_confidence
from .confidence import ols_line
from .agreement import Fidelity
from .agreement import accuracy
from .agreement import classification_report
from .agreement import expected_calibration_error
from .agreement import fidelity
from .agreement import nll
from .probabilities import check_probabilities
from .probabilities import log_softmax
from .probabilities import softmax
from .progress import eigen_progress
from .progress import filter_group_progress
from .progress import group_progress
from .progress import matched_deficit
from .bootstrap import Bootstrap
from .bootstrap import combine_seeds
from .bootstrap import difference_interval
from .bootstrap import hierarchical
from .bootstrap import mean_interval
from .bootstrap import point_replicates
from .bootstrap import ratio_interval
from .bootstrap import slope_interval
from .regime import Regime
from .regime import phi_from_logits
from .regime import regime

__all__ = [
    "softmax",
    "log_softmax",
    "check_probabilities",
    "logit_confidence",
    "Exaggeration",
    "exaggeration",
    "confidence_diagnostics",
    "ols_line",
    "Fidelity",
    "fidelity",
    "accuracy",
    "nll",
    "expected_calibration_error",
    "classification_report",
    "eigen_progress",
    "group_progress",
    "filter_group_progress",
    "matched_deficit",
    "Bootstrap",
    "combine_seeds",
    "difference_interval",
    "hierarchical",
    "mean_interval",
    "point_replicates",
    "ratio_interval",
    "slope_interval",
    "Regime",
    "phi_from_logits",
    "regime",
]
