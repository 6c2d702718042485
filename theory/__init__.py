"""theory: closed-form and simulated distillation for linear and kernel models.

``import theory as th``. See README.md for a quick start and SCIENCE.md (shared with the project) for the maths.

Core objects: :class:`Spectrum` (one eigendecomposition of the training kernel), filters (``gd``, ``flow``,
``ridge``, ``interpolate``, composed with ``*``, ``mix``, ``late_switch``), :func:`predict` (closed-form train
and test outputs of any filter), :func:`chain` and :func:`mobahi_rounds` (distillation rounds).
"""
from .spectral import Spectrum
from .spectral import group_progress
from .spectral import progress
from .filters import Filter
from .filters import compose
from .filters import flow
from .filters import gd
from .filters import interpolate
from .filters import late_switch
from .filters import mix
from .filters import ridge
from .predict import Prediction
from .predict import make_predictor
from .predict import predict
from .distill import Chain
from .distill import MobahiRounds
from .distill import chain
from .distill import mobahi_rounds

from .dynamics import Trajectory
from .dynamics import kernel_gd
from .dynamics import linear_gd
from .metrics import Exaggeration
from .metrics import Fidelity
from .metrics import accuracy
from .metrics import check_probabilities
from .metrics import classification_report
from .metrics import expected_calibration_error
from .metrics import exaggeration
from .metrics import fidelity
from .metrics import log_softmax
from .metrics import logit_confidence
from .metrics import nll
from .metrics import softmax
from .dynamics import cross_entropy
from .dynamics import cross_entropy_gradient
from .dynamics import distillation_targets
from .dynamics import kernel_ce_gd
from .dynamics import kernel_ce_gd_sweep
from .dynamics import linear_ce_gd
from .metrics import eigen_progress
from .data import DATASETS
from .data import Dataset
from .data import load_dataset
from .data import load_digits
from .data import load_mnist1d
from .data import one_hot
from .data import standardize
from .data import stratified_indices
from .data import symmetric_label_noise
from . import synthetic  # registers "gaussian-mixture" and "logistic" in DATASETS
from .synthetic import GaussianMixture
from .synthetic import LogisticModel
from .synthetic import SyntheticDataset
from .synthetic import flip_probabilities
from .synthetic import gaussian_mixture
from .synthetic import load_gaussian_mixture
from .synthetic import load_logistic
from .synthetic import logistic_model
from .synthetic import resample_labels
from . import denoise
from .denoise import DirectionalNoise
from .denoise import GradientDecomposition
from .denoise import GradientVariance
from .denoise import RiskVariance
from .denoise import decompose_kernel
from .denoise import decompose_linear
from .denoise import decompose_model
from .denoise import label_noise_norm
from .denoise import minibatch_gradient_variance
from .denoise import monte_carlo_gradient_variance
from .denoise import noise_per_direction
from . import kernels
from .kernels import fourier_feature_map
from .kernels import linear
from .kernels import random_fourier_features
from .kernels import rbf
from .kernels import relu_feature_map
from .kernels import relu_nngp
from .kernels import relu_ntk
from .kernels import relu_random_features
from .ntk_mlp import NTKDense
from .ntk_mlp import NTKMLP
from .ntk_mlp import empirical_ntk
from .ntk_mlp import ntk_mlp
from .regimes import KernelTask
from .regimes import RegimeMap
from .regimes import confidence_diagnostics
from .regimes import kernel_task
from .regimes import median_lengthscale
from .regimes import regime_map
from . import metrics


def __getattr__(name):
    """``th.nets`` is imported on first use (it pulls in flax and optax)."""
    if name == "nets":
        import importlib

        return importlib.import_module(".nets", __name__)
    raise AttributeError(f"module 'theory' has no attribute {name!r}")


__version__ = "0.1.0"
