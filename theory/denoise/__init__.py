"""Distillation as a gradient denoiser, measured where p*(x) is known (docs/maths.md §5, claim C4).

The one-hot gradient is the distillation gradient plus a label-noise term, ∇L_onehot = ∇L_KD +
Σ_i J_iᵀ(q_i − e_{y_i}); with a Bayes teacher q = p*(x) the term is zero-mean noise of covariance
diag(p*) − p*p*ᵀ. One result per module, each closed form beside its Monte Carlo twin:

* :mod:`.decomposition` — the exact decomposition for linear, kernel and JAX models
  (:class:`GradientDecomposition`) and the per-point noise norm 1 − ‖p*‖² + ‖p* − q‖²;
* :mod:`.minibatch` — the variance of minibatch gradients against batch size for one-hot, Bayes and
  teacher targets (:class:`GradientVariance`);
* :mod:`.directions` — the label-noise energy per eigendirection of the kernel (:class:`DirectionalNoise`);
* :mod:`.risk` — Menon et al.'s (2021) variance gap of the one-hot vs the distilled risk estimate
  (:class:`RiskVariance`);
* :mod:`.groups` — the hard (ambiguous) and easy points on which the results are compared.

Shared helpers (the losses' output-space gradients, teacher targets) live in the private ``_common``.
"""
from ._common import LOSSES
from .decomposition import GradientDecomposition
from .decomposition import decompose_kernel
from .decomposition import decompose_linear
from .decomposition import decompose_model
from .decomposition import label_noise_norm
from .decomposition import model_jacobians
from .decomposition import monte_carlo_label_noise_norm
from .directions import DirectionalNoise
from .directions import monte_carlo_noise_per_direction
from .directions import noise_per_direction
from .groups import confidence_groups
from .minibatch import GradientVariance
from .minibatch import minibatch_gradient_variance
from .minibatch import monte_carlo_gradient_variance
from .risk import RiskVariance
from .risk import conditional_loss_variance
from .risk import monte_carlo_risk_variance
from .risk import per_class_losses

__all__ = [
    "LOSSES",
    "GradientDecomposition",
    "decompose_linear",
    "decompose_kernel",
    "decompose_model",
    "model_jacobians",
    "label_noise_norm",
    "monte_carlo_label_noise_norm",
    "GradientVariance",
    "minibatch_gradient_variance",
    "monte_carlo_gradient_variance",
    "DirectionalNoise",
    "noise_per_direction",
    "monte_carlo_noise_per_direction",
    "per_class_losses",
    "conditional_loss_variance",
    "RiskVariance",
    "monte_carlo_risk_variance",
    "confidence_groups",
]
