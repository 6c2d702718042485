"""Minibatch gradient variance against batch size, for one-hot, Bayes and teacher targets (docs/maths.md §5).

Parameters are fixed; per-point gradients are g_i = J_iᵀ(a_i − t_i) (``a`` as in docs/maths.md §5) and the
summed gradient G = Σ_i g_i is estimated from a batch B of b points by Ĝ_b = (n/b) Σ_{i∈B} g_i. For one-hot
targets the labels are random too, y_i ~ p*(x_i). With Θ the NTK (Θ_ij = K_ij I_C for a linear or kernel
model), the scatter S(t̄) = Σ_i ‖ḡ_i − Ḡ/n‖² of the mean per-point gradients and the label noise
V = Σ_i tr(Θ_ii Σ_i), Σ_i = diag p*_i − p*_i p*_iᵀ, the law of total variance gives

    tr Cov Ĝ_b = n(n − b)/(b(n − 1)) · S(t̄) + (n/b) · V          (without replacement)
    tr Cov Ĝ_b = (n/b) · S(t̄) + ((n − 1 + b)/b) · V              (with replacement)

with V > 0 only for one-hot targets: one-hot minus Bayes is exactly the label-noise term.
:func:`minibatch_gradient_variance` is the closed form, :func:`monte_carlo_gradient_variance` its Monte
Carlo twin (labels and batches drawn, Ĝ_b formed in parameter space); both return :class:`GradientVariance`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import as_array, as_matrix, as_probabilities, as_rng, check_integer, describe
from ..data import one_hot
from ._common import check_loss, predictions as _predictions, resample_labels, teacher_targets

__all__ = ["GradientVariance", "minibatch_gradient_variance", "monte_carlo_gradient_variance"]



@dataclass(frozen=True, eq=False, repr=False)
class GradientVariance:
    """Variance (trace of the covariance) of the minibatch gradient estimate against batch size.

    Attributes:
      batch_sizes: ``(B,)`` batch sizes b.
      variance: target name (``"onehot"``, ``"bayes"``, ``"teacher"``) -> ``(B,)`` tr Cov(Ĝ_b).
      standard_error: same keys -> ``(B,)`` Monte Carlo standard errors, or None for the closed form.
      label_noise: V = Σ_i tr(Θ_ii Σ_i), the full-batch (b = n) variance of the one-hot gradient.
      teacher_bias: ‖Σ_i J_iᵀ(p*_i − q_i)‖², the squared distance between the teacher's and the Bayes
        full-batch gradients (None without a teacher): the teacher's error is variance + bias.
      replace: whether batches were drawn with replacement.
    """

    batch_sizes: np.ndarray
    variance: dict
    standard_error: dict | None
    label_noise: float
    teacher_bias: float | None
    replace: bool

    def ratio(self, numerator: str = "onehot", denominator: str = "bayes") -> np.ndarray:
        """``variance[numerator] / variance[denominator]`` per batch size (inf where the denominator is 0)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(self.variance[numerator]) / np.asarray(self.variance[denominator])

    def __repr__(self) -> str:
        kind = "closed form" if self.standard_error is None else "Monte Carlo"
        return (f"GradientVariance({kind}, batch_sizes={self.batch_sizes.tolist()}, "
                f"targets={list(self.variance)}, label_noise={self.label_noise:.4g})")


def _kernel_blocks(kernel, n: int, num_classes: int) -> np.ndarray:
    """Θ as (n, n) (a linear/kernel model, Θ_ij = K_ij I_C) or (n, n, C, C), validated."""
    if np.shape(kernel) not in ((n, n), (n, n, num_classes, num_classes)):
        raise ValueError(f"kernel must have shape (n, n) = ({n}, {n}) or (n, n, C, C) = "
                         f"({n}, {n}, {num_classes}, {num_classes}), got shape {np.shape(kernel)}.")
    return as_array(kernel, "kernel")


def _quadratic(kernel, left, right) -> float:
    """Σ_ij left_iᵀ Θ_ij right_j = ⟨Σ_i J_iᵀ left_i, Σ_j J_jᵀ right_j⟩."""
    if kernel.ndim == 2:
        return float(np.sum(left * (kernel @ right)))
    return float(np.einsum("ic,ijcd,jd->", left, kernel, right))


def _diagonal_blocks(kernel) -> np.ndarray:
    """(n, C, C) blocks Θ_ii, or (n,) K_ii for a scalar kernel."""
    index = np.arange(kernel.shape[0])
    return kernel[index, index]


def _scatter(kernel, residuals) -> float:
    """Σ_i ‖g_i − G/n‖² with g_i = J_iᵀ r_i: Σ_i r_iᵀΘ_ii r_i − (1/n) Σ_ij r_iᵀΘ_ij r_j."""
    diagonal = _diagonal_blocks(kernel)
    if kernel.ndim == 2:
        own = np.sum(diagonal * np.sum(residuals**2, axis=1))
    else:
        own = np.einsum("ic,icd,id->", residuals, diagonal, residuals)
    return float(own - _quadratic(kernel, residuals, residuals) / residuals.shape[0])


def _label_noise(kernel, p_star) -> float:
    """V = Σ_i tr(Θ_ii (diag p*_i − p*_i p*_iᵀ)); for Θ = K ⊗ I, Σ_i K_ii (1 − ‖p*_i‖²)."""
    diagonal = _diagonal_blocks(kernel)
    if kernel.ndim == 2:
        return float(np.sum(diagonal * (1.0 - np.sum(p_star**2, axis=1))))
    traces = np.einsum("icc,ic->i", diagonal, p_star) - np.einsum("ic,icd,id->i", p_star, diagonal, p_star)
    return float(np.sum(traces))


def _factors(n: int, sizes: np.ndarray, replace: bool):
    """(sampling, label) factors of tr Cov = sampling · S + label · V for each batch size."""
    sizes = sizes.astype(np.float64)
    if replace:
        return n / sizes, (n - 1 + sizes) / sizes
    sampling = np.zeros_like(sizes) if n == 1 else n * (n - sizes) / (sizes * (n - 1))
    return sampling, n / sizes


def _batch_sizes(batch_sizes, n: int) -> np.ndarray:
    """``(B,)`` int64 batch sizes, each an integer in [1, n]."""
    sizes = as_array(np.atleast_1d(batch_sizes), "batch_sizes", ndim=1, dtype=None)
    if sizes.size == 0:
        raise ValueError(f"batch_sizes must be a non-empty sequence of integers, got {describe(batch_sizes)}.")
    for index, size in enumerate(sizes.tolist()):
        check_integer(size, f"batch_sizes[{index}]", minimum=1, maximum=n)
    return sizes.astype(np.int64)


def _targets(outputs, p_star, teacher, loss):
    """Validated (predictions A, p*, teacher or None, target names)."""
    loss = check_loss(loss)
    outputs = as_matrix(outputs, "outputs")
    p_star = as_probabilities(p_star, "p_star", shape=outputs.shape)
    if teacher is not None:
        teacher = teacher_targets(teacher, *outputs.shape, loss)
    names = ("onehot", "bayes") + (() if teacher is None else ("teacher",))
    return _predictions(outputs, loss), p_star, teacher, names


def minibatch_gradient_variance(kernel, outputs, p_star, teacher=None, *, batch_sizes, loss: str = "squared",
                                replace: bool = False) -> GradientVariance:
    """Closed-form trace of the covariance of the minibatch gradient, for one-hot, Bayes and teacher targets.

    Setting (our derivation). Parameters are fixed; per-point gradients are g_i = J_iᵀ(a_i − t_i) and the
    summed gradient G = Σ_i g_i is estimated from a batch B of b points by Ĝ_b = (n/b) Σ_{i∈B} g_i (the
    convention of ``theory.linear_gd``), B uniform without replacement (or b i.i.d. uniform indices with
    ``replace=True``). For one-hot targets the labels are random too, y_i ~ p*(x_i) independently, so
    E Ĝ_b = Σ_i J_iᵀ(a_i − p*_i) = G_Bayes. With inner products ⟨g_i, g_j⟩ = r_iᵀ Θ_ij r_j (Θ the NTK:
    Θ_ij = K_ij I_C for a linear model φᵀW or a kernel model, in the RKHS norm), let

        S(t̄) = Σ_i ‖ḡ_i − Ḡ/n‖²  (the scatter of the mean per-point gradients, ḡ_i = J_iᵀ(a_i − t̄_i)),
        V    = Σ_i tr(Θ_ii Σ_i) = Σ_i K_ii (1 − ‖p*_i‖²)   (the label noise; Σ_i = diag p*_i − p*_i p*_iᵀ).

    The law of total variance over (labels, batch), with the finite-population variance
    n(n − b)/(b(n − 1)) · Σ_i‖g_i − ḡ‖² of sampling without replacement, gives

        tr Cov Ĝ_b = n(n − b)/(b(n − 1)) · S(t̄) + (n/b) · V          (without replacement)
        tr Cov Ĝ_b = (n/b) · S(t̄) + ((n − 1 + b)/b) · V              (with replacement)

    with t̄ = p* and V > 0 for one-hot targets, t̄ = p* and V = 0 for Bayes targets, t̄ = q and V = 0 for
    teacher targets. So one-hot minus Bayes is exactly the label-noise term, (n/b)·V without replacement: all
    of the one-hot variance at b = n, where the Bayes-target variance vanishes. A teacher also shifts the
    mean, by ``teacher_bias`` = ‖Σ_i J_iᵀ(p*_i − q_i)‖². Reference: Menon et al. (2021) for the risk analogue;
    Cochran (1977) for sampling without replacement.

    Example:
      >>> p_star = np.array([[0.5, 0.5], [1.0, 0.0]])
      >>> out = minibatch_gradient_variance(np.eye(2), np.zeros((2, 2)), p_star, batch_sizes=[1, 2])
      >>> out.variance["onehot"].tolist(), out.variance["bayes"].tolist()
      ([2.5, 0.5], [1.5, 0.0])

    Args:
      kernel: ``(n, n)`` kernel K (a linear model: ΦΦᵀ) or the full ``(n, n, C, C)`` NTK of any model
        (``theory.ntk_mlp.empirical_ntk(..., trace_outputs=False)``).
      outputs: ``(n, C)`` current outputs (logits for cross-entropy).
      p_star: ``(n, C)`` Bayes probabilities.
      teacher: optional ``(n, C)`` teacher targets q.
      batch_sizes: integers in [1, n].
      loss: ``"squared"`` or ``"cross_entropy"``.
      replace: batches with replacement.

    Returns:
      :class:`GradientVariance` with ``standard_error=None``.

    Raises:
      ValueError: shapes that do not match, non-finite values, batch sizes outside [1, n], bad probabilities.
    """
    predictions, p_star, teacher, names = _targets(outputs, p_star, teacher, loss)
    n, num_classes = predictions.shape
    kernel = _kernel_blocks(kernel, n, num_classes)
    sizes = _batch_sizes(batch_sizes, n)
    sampling, label = _factors(n, sizes, bool(replace))
    noise = _label_noise(kernel, p_star)
    bayes_scatter = _scatter(kernel, predictions - p_star)
    variance = {"onehot": sampling * bayes_scatter + label * noise, "bayes": sampling * bayes_scatter}
    bias = None
    if teacher is not None:
        variance["teacher"] = sampling * _scatter(kernel, predictions - teacher)
        bias = _quadratic(kernel, p_star - teacher, p_star - teacher)
    return GradientVariance(sizes, {k: variance[k] for k in names}, None, noise, bias, bool(replace))


def _batch_counts(rng, draws: int, n: int, size: int, replace: bool) -> np.ndarray:
    """(draws, n) multiplicity of each point in each batch."""
    if replace:
        return rng.multinomial(size, np.full(n, 1.0 / n), size=draws).astype(np.float64)
    keys = rng.random((draws, n))
    threshold = np.partition(keys, size - 1, axis=1)[:, size - 1:size]
    return (keys <= threshold).astype(np.float64)


def _contract(jacobians, weights) -> np.ndarray:
    """Σ_i J_iᵀ w_i for a stack of weights (draws, n, C) -> (draws, P)."""
    draws, n, num_classes = weights.shape
    if jacobians.ndim == 2:  # features: Σ_i φ_i w_iᵀ, a (p, C) matrix per draw
        stacked = np.moveaxis(weights, 1, 0).reshape(n, draws * num_classes)
        per_draw = (jacobians.T @ stacked).reshape(jacobians.shape[1], draws, num_classes)
        return per_draw.transpose(1, 0, 2).reshape(draws, -1)
    return weights.reshape(draws, n * num_classes) @ jacobians.reshape(n * num_classes, -1)


def monte_carlo_gradient_variance(jacobians, outputs, p_star, teacher=None, *, batch_sizes, draws: int = 1000,
                                  seed=0, loss: str = "squared", replace: bool = False,
                                  chunk: int | None = None) -> GradientVariance:
    """Monte Carlo counterpart of :func:`minibatch_gradient_variance`: draw labels and batches, measure.

    Each draw samples labels y ~ p* (for one-hot targets) and a batch (the same batch for every target), forms
    Ĝ_b = (n/b) Σ_{i∈B} J_iᵀ(a_i − t_i) explicitly in parameter space and records ‖Ĝ_b − E Ĝ_b‖² with the
    exact mean E Ĝ_b = Σ_i J_iᵀ(a_i − t̄_i). The variance is the mean over draws; its standard error the
    standard deviation over draws / √draws. Nothing of the closed form is used, so the two check each other.

    Args:
      jacobians: ``(n, p)`` features Φ of a linear model z = Wᵀφ (J_i = φ_iᵀ ⊗ I_C; for a kernel model use
        any Φ with ΦΦᵀ = K, e.g. U diag(√λ)), or ``(n, C, P)`` per-point Jacobians (:func:`model_jacobians`).
      outputs: ``(n, C)`` current outputs.
      p_star: ``(n, C)`` Bayes probabilities.
      teacher: optional ``(n, C)`` teacher targets.
      batch_sizes: integers in [1, n].
      draws: Monte Carlo draws per batch size, >= 2.
      seed: non-negative integer or ``np.random.Generator``.
      loss: ``"squared"`` or ``"cross_entropy"``.
      replace: batches with replacement.
      chunk: draws processed at once (memory ~ chunk · (n · C + P) numbers); None: as many as keep
        chunk · n · C ≤ 2·10⁶ (one matrix product per chunk and target).

    Returns:
      :class:`GradientVariance` with standard errors.

    Raises:
      ValueError: as :func:`minibatch_gradient_variance`, or ``jacobians`` of the wrong shape.
    """
    predictions, p_star, teacher, names = _targets(outputs, p_star, teacher, loss)
    n, num_classes = predictions.shape
    shape = np.shape(jacobians)
    if not (len(shape) == 2 and shape[0] == n) and not (len(shape) == 3 and shape[:2] == (n, num_classes)):
        raise ValueError(f"jacobians must be features (n, p) or Jacobians (n, C, P) with n = {n}, C = "
                         f"{num_classes}, got shape {shape}.")
    jacobians = as_array(jacobians, "jacobians")
    sizes = _batch_sizes(batch_sizes, n)
    draws = check_integer(draws, "draws", minimum=2)
    chunk = max(1, 2_000_000 // (n * num_classes)) if chunk is None else check_integer(chunk, "chunk", minimum=1)
    rng = as_rng(seed)
    mean_targets = {"onehot": p_star, "bayes": p_star, "teacher": teacher}
    samples = {name: np.empty((sizes.size, draws)) for name in names}
    for row, size in enumerate(sizes):
        for start in range(0, draws, chunk):
            count = min(chunk, draws - start)
            weights = _batch_counts(rng, count, n, int(size), bool(replace))[..., None] * (n / size)
            labels = one_hot(resample_labels(p_star, rng, draws=count), num_classes)  # (count, n, C)
            for name in names:
                target = labels if name == "onehot" else mean_targets[name][None]
                deviation = weights * (predictions[None] - target) - (predictions - mean_targets[name])[None]
                samples[name][row, start:start + count] = np.sum(_contract(jacobians, deviation) ** 2, axis=1)
    variance = {name: samples[name].mean(axis=1) for name in names}
    errors = {name: samples[name].std(axis=1, ddof=1) / np.sqrt(draws) for name in names}
    label_noise = float(np.sum(_label_noise_by_jacobians(jacobians, p_star)))
    bias = None
    if teacher is not None:
        bias = float(np.sum(_contract(jacobians, (p_star - teacher)[None]) ** 2))
    return GradientVariance(sizes, variance, errors, label_noise, bias, bool(replace))


def _label_noise_by_jacobians(jacobians, p_star) -> np.ndarray:
    """Per-point tr(J_i J_iᵀ Σ_i), from the Jacobians (the same V as the closed form, by another route)."""
    if jacobians.ndim == 2:
        return np.sum(jacobians**2, axis=1) * (1.0 - np.sum(p_star**2, axis=1))
    blocks = np.einsum("icp,idp->icd", jacobians, jacobians)
    return np.einsum("icc,ic->i", blocks, p_star) - np.einsum("ic,icd,id->i", p_star, blocks, p_star)

