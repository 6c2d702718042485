"""Distillation as a gradient denoiser (the split into modules follows)."""
from .decomposition import LOSSES
from .decomposition import GradientDecomposition
from .decomposition import decompose_linear
from .decomposition import decompose_kernel
from .decomposition import decompose_model
from .decomposition import model_jacobians
from .decomposition import label_noise_norm
from .decomposition import monte_carlo_label_noise_norm
from .decomposition import GradientVariance
from .decomposition import minibatch_gradient_variance
from .decomposition import monte_carlo_gradient_variance
from .decomposition import DirectionalNoise
from .decomposition import noise_per_direction
from .decomposition import monte_carlo_noise_per_direction
from .decomposition import per_class_losses
from .decomposition import conditional_loss_variance
from .decomposition import RiskVariance
from .decomposition import monte_carlo_risk_variance
from .decomposition import confidence_groups

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
