"""theory: closed-form and simulated distillation for linear and kernel models.

``import theory as th``. The maths and conventions are in ``docs/maths.md``; the layout in
``docs/architecture.md``.

At the top level, the core:

* the spectral algebra: :class:`Spectrum` (one eigendecomposition of the training kernel), filters
  (:func:`gd`, :func:`flow`, :func:`ridge`, :func:`interpolate`, composed with ``*``, :func:`mix`,
  :func:`late_switch`), :func:`predict` (closed-form train and test outputs), :func:`chain` and
  :func:`mobahi_rounds` (distillation rounds);
* the simulators (one driver, ``theory.dynamics``): :func:`kernel_gd`, :func:`linear_gd`,
  :func:`kernel_ce_gd`, :func:`linear_ce_gd`, :func:`kernel_ce_gd_sweep`;
* the metrics shared by theory and networks (``theory.metrics``): :func:`exaggeration`, :func:`fidelity`,
  :func:`accuracy`, …;
* the loaders (``theory.data``): :class:`Dataset`, :func:`load_dataset`, :func:`load_digits`, ….

Namespaces: ``th.kernels`` (analytic kernels, random features, the empirical NTK, kernel operators),
``th.krylov`` (closed forms from kernel products only, at scale), ``th.denoise`` (the
gradient-denoiser view), ``th.regimes`` (kernel-model sweeps), ``th.selfdistill`` (exact risk and optimal
weights of self-distillation chains), ``th.data``, ``th.dynamics``, ``th.metrics`` (with ``bootstrap`` intervals
and ``regime`` variables), ``th.evidence`` (claims and verdicts), ``th.engine`` (Dask task graphs; dask loads on
first use), and ``th.nets`` (flax networks, imported on first use: ``import theory`` loads neither flax nor
optax). ``python -m theory.measure`` measures logits trained elsewhere.

Names that moved keep a deprecated alias at the top level for one release (see CHANGELOG.md); using one
warns with its new home.
"""
import importlib as _importlib
import warnings as _warnings

from .spectral import Spectrum
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
from .dynamics import cross_entropy
from .dynamics import cross_entropy_gradient
from .dynamics import distillation_targets
from .dynamics import kernel_ce_gd
from .dynamics import kernel_ce_gd_sweep
from .dynamics import kernel_gd
from .dynamics import linear_ce_gd
from .dynamics import linear_gd

from .metrics import Exaggeration
from .metrics import Fidelity
from .metrics import accuracy
from .metrics import check_probabilities
from .metrics import classification_report
from .metrics import confidence_diagnostics
from .metrics import eigen_progress
from .metrics import exaggeration
from .metrics import expected_calibration_error
from .metrics import fidelity
from .metrics import group_progress
from .metrics import log_softmax
from .metrics import logit_confidence
from .metrics import matched_deficit
from .metrics import nll
from .metrics import softmax

from .data import Dataset
from .data import load_dataset
from .data import load_digits
from .data import load_gaussian_mixture
from .data import load_logistic
from .data import load_mnist1d

from . import data
from . import denoise
from . import dynamics
from . import engine
from . import evidence
from . import kernels
from . import krylov
from . import metrics
from . import regimes
from . import selfdistill

__version__ = "0.3.0"

#: Top-level names of version 0.1 that moved, and their home now: ``th.NAME`` still works for one release
#: and warns (DeprecationWarning) with the new name.
_MOVED = {
    "progress": "theory.metrics.eigen_progress",
    "DATASETS": "theory.data.DATASETS",
    "one_hot": "theory.data.one_hot",
    "standardize": "theory.data.standardize",
    "stratified_indices": "theory.data.stratified_indices",
    "symmetric_label_noise": "theory.data.symmetric_label_noise",
    "GaussianMixture": "theory.data.GaussianMixture",
    "LogisticModel": "theory.data.LogisticModel",
    "SyntheticDataset": "theory.data.SyntheticDataset",
    "flip_probabilities": "theory.data.flip_probabilities",
    "gaussian_mixture": "theory.data.gaussian_mixture",
    "logistic_model": "theory.data.logistic_model",
    "resample_labels": "theory.data.resample_labels",
    "DirectionalNoise": "theory.denoise.DirectionalNoise",
    "GradientDecomposition": "theory.denoise.GradientDecomposition",
    "GradientVariance": "theory.denoise.GradientVariance",
    "RiskVariance": "theory.denoise.RiskVariance",
    "decompose_kernel": "theory.denoise.decompose_kernel",
    "decompose_linear": "theory.denoise.decompose_linear",
    "decompose_model": "theory.denoise.decompose_model",
    "label_noise_norm": "theory.denoise.label_noise_norm",
    "minibatch_gradient_variance": "theory.denoise.minibatch_gradient_variance",
    "monte_carlo_gradient_variance": "theory.denoise.monte_carlo_gradient_variance",
    "noise_per_direction": "theory.denoise.noise_per_direction",
    "linear": "theory.kernels.linear",
    "rbf": "theory.kernels.rbf",
    "relu_nngp": "theory.kernels.relu_nngp",
    "relu_ntk": "theory.kernels.relu_ntk",
    "relu_feature_map": "theory.kernels.relu_feature_map",
    "relu_random_features": "theory.kernels.relu_random_features",
    "fourier_feature_map": "theory.kernels.fourier_feature_map",
    "random_fourier_features": "theory.kernels.random_fourier_features",
    "empirical_ntk": "theory.kernels.empirical_ntk",
    "median_lengthscale": "theory.kernels.median_lengthscale",
    "NTKDense": "theory.kernels.NTKDense",
    "NTKMLP": "theory.kernels.NTKMLP",
    "ntk_mlp": "theory.kernels.ntk_mlp",
    "KernelTask": "theory.regimes.KernelTask",
    "RegimeMap": "theory.regimes.RegimeMap",
    "kernel_task": "theory.regimes.kernel_task",
    "regime_map": "theory.regimes.regime_map",
}


def _resolve(path: str):
    module, _, name = path.rpartition(".")
    return getattr(_importlib.import_module(module), name)


def __getattr__(name):
    """``th.nets`` on first use (it loads flax and optax); the deprecated aliases of :data:`_MOVED`."""
    if name == "nets":
        return _importlib.import_module(".nets", __name__)
    if name == "synthetic":  # the deprecated module theory.synthetic (now theory.data)
        return _importlib.import_module(".synthetic", __name__)
    if name in _MOVED:
        new = _MOVED[name].replace("theory.", "th.", 1)
        _warnings.warn(f"th.{name} is deprecated and will be removed in the next release; use {new}.",
                       DeprecationWarning, stacklevel=2)
        return _resolve(_MOVED[name])
    raise AttributeError(f"module 'theory' has no attribute {name!r}")


def __dir__():
    return sorted(name for name in globals() if not name.startswith("_")) + ["nets"]
