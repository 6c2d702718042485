"""Eigen tracking: progress of a network's training logits along the eigendirections of a kernel (claim C3).

For a kernel K on m tracked training points (an input kernel on the raw inputs, or the network's empirical NTK
at initialisation, traced over outputs) with eigenvectors u_k (:class:`theory.Spectrum`, descending), the
progress of logits F_e at epoch e on a group G of directions is the shared metric :func:`theory.group_progress`

    c_G(e) = Σ_{k∈G} ⟨u_kᵀ(F_e − F_0), u_kᵀ(Y − F_0)⟩ / Σ_{k∈G} ‖u_kᵀ(Y − F_0)‖²,

with F_0 the logits at initialisation and Y the one-hot training labels (the noisy ones, which the network is
trained on). Logits and labels are first centred over classes (z − mean_c z, e_y − 1/C): softmax ignores a
shift shared by all classes, so that direction carries no progress for a cross-entropy network.

C3 for networks compares, at equal top-group progress, the bottom-group progress of a distilled student with that
of a one-hot network: :func:`theory.metrics.matched_deficit` (re-exported here)
interpolates the one-hot curve c_bottom(c_top), sorted by c_top and without extrapolation, at the student's c_top
values; a positive deficit means the student has fit the bottom directions less (the exaggerated bias).
"""
from __future__ import annotations

import numpy as np

from theory import kernels
from theory.data import stratified_indices
from theory.kernels import empirical_ntk
from theory.kernels import median_lengthscale  # noqa: F401  (kept importable from here)
from theory.metrics import matched_deficit  # noqa: F401  (re-exported: the measurement lives in theory.metrics)
from theory.spectral import Spectrum

from .data import NetData
from .store import Run
from .training import data_for, initial_variables, model_for

__all__ = ["tracked_points", "input_spectrum", "ntk_spectrum", "progress_curves", "matched_deficit",
           "median_lengthscale"]


def tracked_points(data: NetData, points: int | None, seed: int = 0) -> np.ndarray:
    """Sorted indices of a stratified subset of ``points`` training points (None or ≥ n: all of them)."""
    if points is None or points >= data.n_train:
        return np.arange(data.n_train)
    return stratified_indices(data.y_train_clean, points, seed)


def input_spectrum(data: NetData, index: np.ndarray, kernel: str = "rbf") -> Spectrum:
    """Spectrum of an input kernel on the flattened training inputs ``x[index]``.

    ``"rbf"``: exp(−‖x − x′‖² / 2ℓ²) with ℓ the median pairwise distance; ``"linear"``: x · x′.
    """
    x = data.flat_train()[index]
    if kernel == "rbf":
        return Spectrum.from_kernel(kernels.rbf(x, lengthscale=kernels.median_lengthscale(x)))
    if kernel == "linear":
        return Spectrum.from_features(x)
    raise ValueError(f"kernel must be 'rbf', 'linear' or 'ntk', got {kernel!r}.")


def ntk_spectrum(config, index: np.ndarray, *, batch_size: int = 64) -> Spectrum:
    """Spectrum of the empirical NTK at initialisation of ``config``'s network, traced over outputs.

    Θ(x, x′) = (1/C) Σ_c ∂f_c(x)/∂θ · ∂f_c(x′)/∂θ at the initial parameters θ_0 (BatchNorm in eval mode, running
    statistics at their initial values), by :func:`theory.kernels.empirical_ntk`. The cost is about
    m² · C · P multiply-adds for m tracked points and P parameters: keep m · √P modest on a CPU.
    The kernel is float32-accurate, hence ``psd_rtol=1e-5``.
    """
    data = data_for(config)
    model = model_for(config, data)
    variables = initial_variables(config, data)
    shape = data.input_shape

    def apply_fn(params, x):
        return model.apply({"params": params, "batch_stats": variables["batch_stats"]},
                           x.reshape((x.shape[0], *shape)), train=False)

    kernel = empirical_ntk(apply_fn, variables["params"], data.flat_train()[index], batch_size=batch_size)
    return Spectrum.from_kernel(kernel, psd_rtol=1e-5, symmetry_rtol=1e-6)


def _centre(array):
    return array - array.mean(axis=-1, keepdims=True)


def progress_curves(run: Run, spectrum: Spectrum, index: np.ndarray, groups: dict) -> dict:
    """Group progress of a run's recorded training logits, towards its one-hot training labels.

    Args:
      run: a run whose ``record_epochs`` include the epochs of interest (epoch 0 is always recorded).
      spectrum: kernel spectrum on the tracked points ``index``.
      index: ``(m,)`` training-point indices of the spectrum.
      groups: name -> eigen-index range ``(start, stop)`` (or an index array), e.g. ``{"top": (0, 10)}``.

    Returns:
      ``{"epochs": (E,), name: (E,) progress per recorded epoch, …}``.
    """
    stored = run.logits()
    if not stored:
        raise ValueError(f"run {run.hash} has no recorded logits; train it first.")
    data = data_for(run.config)
    targets = _centre(data.one_hot_train()[index])
    logits = _centre(stored["train"][:, index].astype(np.float64))
    initial = logits[list(stored["epochs"]).index(0)]
    result = {"epochs": np.asarray(stored["epochs"])}
    for name, directions in groups.items():
        selection = np.arange(*directions) if isinstance(directions, tuple) else np.asarray(directions)
        if selection.size == 0 or selection.max() >= spectrum.n:
            raise ValueError(f"group {name!r} = {directions} must select directions in [0, {spectrum.n}).")
        result[name] = spectrum.group_progress(logits, targets, selection, initial=initial)
    return result
