"""Helpers shared inside ``theory.denoise``: the losses, their output-space gradients and the targets.

For outputs z_i and a target t_i, both losses of the toolkit have the output-space gradient
∂ℓ/∂z_i = a_i − t_i (docs/maths.md §5), with

    a_i = z_i            for the squared loss ½‖z − t‖²,
    a_i = softmax(z_i)   for the cross-entropy −tᵀ log softmax z (t a probability vector).

The gradient is affine in the target with slope −1, which is what every result of the subpackage rests on.
The label draws y ~ p*(x) of every Monte Carlo twin come from one sampler, imported here once.
Private to the subpackage: the public names are re-exported by ``theory.denoise``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import as_matrix, as_probabilities, check_choice
from ..metrics import softmax
from ..data import resample_labels  # y ~ p*(x): the label draws of every Monte Carlo twin

LOSSES = ("squared", "cross_entropy")
PyTree = Any

__all__ = ["LOSSES", "PyTree", "check_loss", "teacher_targets", "predictions", "resample_labels"]


def check_loss(loss: str) -> str:
    """``loss`` if it is one of :data:`LOSSES`."""
    return check_choice(loss, "loss", LOSSES)


def teacher_targets(teacher, n: int, num_classes: int, loss: str, name: str = "teacher") -> np.ndarray:
    """Teacher targets (n, C): probabilities for cross-entropy (∇ is p − q only if Σ_c q_c = 1), any reals for MSE."""
    if loss == "cross_entropy":
        teacher = as_probabilities(teacher, name)
    return as_matrix(teacher, name, (n, num_classes))


def predictions(outputs: np.ndarray, loss: str) -> np.ndarray:
    """a = ∂ℓ/∂z + t: the outputs for the squared loss, softmax(outputs) for cross-entropy."""
    return outputs if loss == "squared" else softmax(outputs)

