"""Distillation as a gradient denoiser (SCIENCE.md §5, claim C4), measured where p*(x) is known.

For outputs z_i = f(x_i; θ), the per-point loss gradients in output space are ∂ℓ/∂z_i = a_i − t_i for the
target t_i, with a_i = z_i (squared loss ½‖z − t‖²) or a_i = softmax(z_i) (cross-entropy −tᵀ log softmax z,
a probability target). Both losses are affine in the target with slope −1, so with J_i = ∂z_i/∂θ

    ∇L_onehot = Σ_i J_iᵀ (a_i − e_{y_i}) = ∇L_KD + Σ_i J_iᵀ (q_i − e_{y_i}),     ∇L_KD = Σ_i J_iᵀ (a_i − q_i).

When q = p*(x), the Bayes class probabilities, ε_i = e_{y_i} − p*(x_i) is zero-mean label noise with
covariance Σ_i = diag(p*_i) − p*_i p*_iᵀ and E‖ε_i‖² = 1 − ‖p*_i‖². This module computes, exactly:

* the decomposition, for a linear model (z_i = Wᵀφ_i), a kernel model (in function space, K(A − T)) and
  any JAX model (``apply_fn(params, x)``, pytrees): :func:`decompose_linear`, :func:`decompose_kernel`,
  :func:`decompose_model` -> :class:`GradientDecomposition`;
* the per-point noise norm, predicted and by Monte Carlo over label draws: :func:`label_noise_norm`,
  :func:`monte_carlo_label_noise_norm`;
* the variance of minibatch gradients against batch size for one-hot, teacher and Bayes targets, in closed
  form (:func:`minibatch_gradient_variance`) and by Monte Carlo over label and batch draws
  (:func:`monte_carlo_gradient_variance`) -> :class:`GradientVariance`;
* where the noise lives among the eigendirections of K: :func:`noise_per_direction`,
  :func:`monte_carlo_noise_per_direction` -> :class:`DirectionalNoise`;
* the risk-estimate variance of Menon et al. (2021): :func:`monte_carlo_risk_variance` -> :class:`RiskVariance`.

Conventions: summed losses (SCIENCE.md §2); temperature 1 (with τ ≠ 1 the KD residual is
(softmax(z/τ) − q)/τ and the split is no longer affine in one residual); labels are integer class indices.
"""
from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree
import numpy as np

from .data import one_hot
from .metrics import check_probabilities, log_softmax, softmax
from .spectral import Spectrum
from ._checks import as_rng as _as_rng
from .data import resample_labels

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

LOSSES = ("squared", "cross_entropy")
PyTree = Any


# --------------------------------------------------------------------------------------------------
# validation


def _check_loss(loss: str) -> str:
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}.")
    return loss


def _matrix(value, name: str, shape: tuple | None = None) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {array.shape}.")
    if shape is not None and array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {array.shape}.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return array


def _count(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def _teacher(teacher, n: int, num_classes: int, loss: str, name: str = "teacher") -> np.ndarray:
    """Teacher targets (n, C): probabilities for cross-entropy (∇ is p − q only if Σ_c q_c = 1), any reals for MSE."""
    if loss == "cross_entropy":
        teacher = check_probabilities(teacher, name)
    return _matrix(teacher, name, (n, num_classes))


def _predictions(outputs: np.ndarray, loss: str) -> np.ndarray:
    """a = ∂ℓ/∂z + t: the outputs for the squared loss, softmax(outputs) for cross-entropy."""
    return outputs if loss == "squared" else softmax(outputs)


def _batch_sizes(batch_sizes, n: int) -> np.ndarray:
    sizes = np.atleast_1d(np.asarray(batch_sizes))
    if sizes.ndim != 1 or sizes.size == 0 or not np.issubdtype(sizes.dtype, np.integer):
        raise ValueError(f"batch_sizes must be a non-empty 1-D sequence of integers, got {batch_sizes!r}.")
    if sizes.min() < 1 or sizes.max() > n:
        raise ValueError(f"batch_sizes must lie in [1, n] = [1, {n}], got values in [{sizes.min()}, {sizes.max()}].")
    return sizes.astype(np.int64)


# --------------------------------------------------------------------------------------------------
# the decomposition


@dataclass(frozen=True, eq=False, repr=False)
class GradientDecomposition:
    """∇L_onehot = ∇L_KD + Σ_i J_iᵀ(q_i − e_{y_i}): the three gradients, each of the parameters' shape.

    Attributes:
      total: ∇L_onehot, the gradient of the summed one-hot loss (an array or a pytree like the parameters).
      distill: ∇L_KD, the gradient of the summed loss on the teacher's targets q.
      noise: Σ_i J_iᵀ(q_i − e_{y_i}), the label-noise term (zero-mean over y ~ p* when q = p*).
    """

    total: PyTree
    distill: PyTree
    noise: PyTree

    @property
    def max_abs_error(self) -> float:
        """max |total − distill − noise| over every entry: round-off only."""
        parts = zip(*(jax.tree_util.tree_leaves(part) for part in (self.total, self.distill, self.noise)))
        return float(max((np.max(np.abs(t - d - e), initial=0.0) for t, d, e in parts), default=0.0))

    def norms(self) -> dict:
        """Euclidean norms (over all leaves) of ``total``, ``distill`` and ``noise``."""
        return {name: float(np.sqrt(sum(np.sum(np.square(leaf)) for leaf in jax.tree_util.tree_leaves(part))))
                for name, part in (("total", self.total), ("distill", self.distill), ("noise", self.noise))}

    def __repr__(self) -> str:
        norms = self.norms()
        return (f"GradientDecomposition(|total|={norms['total']:.4g}, |distill|={norms['distill']:.4g}, "
                f"|noise|={norms['noise']:.4g}, max_abs_error={self.max_abs_error:.2g})")


def _residuals(outputs, labels, teacher, loss):
    """(A − E, A − Q, Q − E), each (n, C), after validation."""
    loss = _check_loss(loss)
    n, num_classes = outputs.shape
    targets = one_hot(labels, num_classes)
    if targets.shape != (n, num_classes):
        raise ValueError(f"labels must have shape ({n},) to match the outputs, got {np.shape(labels)}.")
    teacher = _teacher(teacher, n, num_classes, loss)
    predictions = _predictions(outputs, loss)
    return predictions - targets, predictions - teacher, teacher - targets


def decompose_linear(features, weights, labels, teacher, *, loss: str = "squared") -> GradientDecomposition:
    """The decomposition for a linear model z_i = Wᵀφ_i, where J_iᵀ r = φ_i rᵀ and so Σ_i J_iᵀ r_i = Φᵀ R.

        Φᵀ(A − E) = Φᵀ(A − Q) + Φᵀ(Q − E),   A = ΦW (squared loss) or softmax(ΦW) (cross-entropy).

    Example:
      >>> features = np.eye(2)
      >>> parts = decompose_linear(features, np.zeros((2, 2)), np.array([0, 1]), np.full((2, 2), 0.5))
      >>> parts.noise.tolist()
      [[-0.5, 0.5], [0.5, -0.5]]

    Args:
      features: ``(n, p)`` features Φ.
      weights: ``(p, C)`` weights W.
      labels: ``(n,)`` integer labels in [0, C).
      teacher: ``(n, C)`` teacher targets q (probabilities for cross-entropy).
      loss: ``"squared"`` or ``"cross_entropy"``.

    Returns:
      :class:`GradientDecomposition` of ``(p, C)`` arrays.

    Raises:
      ValueError: shapes that do not match, non-finite values, labels out of range, a cross-entropy teacher
        that is not a probability vector, an unknown loss.
    """
    features = _matrix(features, "features")
    weights = _matrix(weights, "weights")
    if weights.shape[0] != features.shape[1]:
        raise ValueError(f"weights must have shape (p, C) with p = {features.shape[1]}, got {weights.shape}.")
    onehot, distill, noise = _residuals(features @ weights, labels, teacher, loss)
    return GradientDecomposition(features.T @ onehot, features.T @ distill, features.T @ noise)


def decompose_kernel(k_train_train, outputs, labels, teacher, *, loss: str = "squared") -> GradientDecomposition:
    """The decomposition in function space for a kernel model: the step directions of kernel GD.

    Kernel GD moves the training outputs by −η K (A − T) (SCIENCE.md §2), so

        K(A − E) = K(A − Q) + K(Q − E),

    and along eigendirection k the label-noise part has coordinates λ_k u_kᵀ(q − e_y) (see
    :func:`noise_per_direction`).

    Args:
      k_train_train: ``(n, n)`` kernel K.
      outputs: ``(n, C)`` current training outputs F.
      labels: ``(n,)`` integer labels.
      teacher: ``(n, C)`` teacher targets.
      loss: ``"squared"`` or ``"cross_entropy"``.

    Returns:
      :class:`GradientDecomposition` of ``(n, C)`` arrays.

    Raises:
      ValueError: as :func:`decompose_linear`.
    """
    outputs = _matrix(outputs, "outputs")
    kernel = _matrix(k_train_train, "k_train_train", (outputs.shape[0],) * 2)
    onehot, distill, noise = _residuals(outputs, labels, teacher, loss)
    return GradientDecomposition(kernel @ onehot, kernel @ distill, kernel @ noise)


def _float64_tree(tree):
    return jax.tree_util.tree_map(lambda leaf: jnp.asarray(leaf, dtype=jnp.float64), tree)


def decompose_model(apply_fn: Callable, params: PyTree, x, labels, teacher, *,
                    loss: str = "cross_entropy") -> GradientDecomposition:
    """The decomposition for any JAX model ``apply_fn(params, x) -> (n, C)`` logits, over parameter pytrees.

    ``total`` and ``distill`` are ``jax.grad`` of the summed one-hot and KD losses themselves; ``noise`` is the
    vector-Jacobian product Σ_i J_iᵀ(q_i − e_{y_i}) (``jax.vjp``). So ``max_abs_error`` checks the algebra
    ∇ℓ = a − t on the model, not a rearrangement of one computation. Runs in float64 (parameters and inputs
    are cast inside ``jax.enable_x64(True)``).

    Example:
      >>> apply_fn = lambda params, x: x @ params["w"]
      >>> parts = decompose_model(apply_fn, {"w": np.zeros((2, 2))}, np.eye(2), np.array([0, 1]),
      ...                         np.full((2, 2), 0.5))
      >>> parts.noise["w"].tolist()
      [[-0.5, 0.5], [0.5, -0.5]]

    Args:
      apply_fn: ``(params, x (n, d)) -> (n, C)``; rows must not interact (no batch statistics).
      params: pytree of floating-point parameters.
      x: ``(n, d)`` inputs.
      labels: ``(n,)`` integer labels.
      teacher: ``(n, C)`` teacher targets (probabilities for cross-entropy).
      loss: ``"cross_entropy"`` (default) or ``"squared"``.

    Returns:
      :class:`GradientDecomposition` of numpy float64 pytrees shaped like ``params``.

    Raises:
      ValueError: bad inputs, or ``apply_fn`` outputs that are not ``(n, C)``.
    """
    loss = _check_loss(loss)
    x = _matrix(x, "x")
    teacher = np.asarray(teacher, dtype=np.float64)
    if teacher.ndim != 2:
        raise ValueError(f"teacher must be 2-D (n, C), got shape {teacher.shape}.")
    n, num_classes = x.shape[0], teacher.shape[1]
    teacher = _teacher(teacher, n, num_classes, loss)
    targets = one_hot(labels, num_classes)
    if targets.shape != (n, num_classes):
        raise ValueError(f"labels must have shape ({n},) to match x, got {np.shape(labels)}.")
    with jax.enable_x64(True):
        params64, inputs = _float64_tree(params), jnp.asarray(x, dtype=jnp.float64)
        shape = jax.eval_shape(apply_fn, params64, inputs).shape
        if shape != (n, num_classes):
            raise ValueError(f"apply_fn(params, x) must return (n, C) = ({n}, {num_classes}) logits, got {shape}.")

        def summed_loss(p, target):
            logits = apply_fn(p, inputs)
            if loss == "squared":
                return 0.5 * jnp.sum((logits - target) ** 2)
            return -jnp.sum(target * jax.nn.log_softmax(logits, axis=-1))

        gradient = jax.grad(summed_loss)
        total = gradient(params64, jnp.asarray(targets))
        distill = gradient(params64, jnp.asarray(teacher))
        _, pullback = jax.vjp(lambda p: apply_fn(p, inputs), params64)
        (noise,) = pullback(jnp.asarray(teacher - targets))
        total, distill, noise = jax.tree_util.tree_map(lambda leaf: np.asarray(leaf, dtype=np.float64),
                                                       (total, distill, noise))
        return GradientDecomposition(total, distill, noise)


def model_jacobians(apply_fn: Callable, params: PyTree, x) -> np.ndarray:
    """Per-point Jacobians J_i = ∂z_i/∂θ of any JAX model, parameters flattened: ``(n, C, P)`` float64.

    The flattening order is that of ``jax.flatten_util.ravel_pytree(params)`` (the leaves in
    ``jax.tree_util.tree_leaves`` order, each raveled). Costs n·C·P memory: for small models and Monte Carlo.

    Args:
      apply_fn: ``(params, x (b, d)) -> (b, C)``, rows independent.
      params: pytree of parameters.
      x: ``(n, d)`` inputs.

    Returns:
      ``(n, C, P)`` numpy float64.

    Raises:
      ValueError: non-finite or non-2-D ``x``.
    """
    x = _matrix(x, "x")
    with jax.enable_x64(True):
        flat, unravel = ravel_pytree(_float64_tree(params))

        def point_outputs(flat_params, point):
            return jnp.reshape(apply_fn(unravel(flat_params), point[None, :]), (-1,))  # (C,)

        per_point = jax.vmap(jax.jacrev(point_outputs), in_axes=(None, 0))
        return np.asarray(jax.jit(per_point)(flat, jnp.asarray(x, dtype=jnp.float64)), dtype=np.float64)


# --------------------------------------------------------------------------------------------------
# per-point noise norm


def label_noise_norm(p_star, teacher=None, *, k_diagonal=None) -> np.ndarray:
    """Predicted E‖e_y − q‖² per point over y ~ p*(x): 1 − ‖p*‖² + ‖p* − q‖² (q = p* when ``teacher`` is None).

    Since E e_y = p*, E‖e_y − q‖² = E‖e_y − p*‖² + ‖p* − q‖² = tr(diag p* − p*p*ᵀ) + ‖p* − q‖². The first term
    is the zero-mean label noise a Bayes teacher removes: 0 on points with a certain class, largest (1 − 1/C)
    on points with p* uniform. For a linear/kernel model the per-example gradient noise J_iᵀ(q − e_y) = φ_i(q −
    e_y)ᵀ has squared norm K_ii ‖e_y − q‖², so pass ``k_diagonal`` = diag(K) for gradient norms (RBF: 1).

    Example:
      >>> label_noise_norm(np.array([[1.0, 0.0], [0.5, 0.5]])).tolist()
      [0.0, 0.5]

    Args:
      p_star: ``(n, C)`` Bayes probabilities.
      teacher: optional ``(n, C)`` targets q (any reals).
      k_diagonal: optional ``(n,)`` kernel diagonal K_ii >= 0.

    Returns:
      ``(n,)`` float64.

    Raises:
      ValueError: bad probabilities or mismatched shapes.
    """
    p_star = check_probabilities(p_star, "p_star")
    norm = 1.0 - np.sum(p_star**2, axis=1)
    if teacher is not None:
        norm = norm + np.sum((p_star - _matrix(teacher, "teacher", p_star.shape)) ** 2, axis=1)
    return norm * _diagonal(k_diagonal, p_star.shape[0])


def _diagonal(k_diagonal, n: int):
    if k_diagonal is None:
        return 1.0
    diagonal = np.asarray(k_diagonal, dtype=np.float64)
    if diagonal.shape != (n,) or not np.all(np.isfinite(diagonal)) or np.any(diagonal < 0):
        raise ValueError(f"k_diagonal must be a finite non-negative ({n},) array, got shape {diagonal.shape}.")
    return diagonal


def monte_carlo_label_noise_norm(p_star, teacher=None, *, draws: int = 1000, seed=0, k_diagonal=None):
    """Measured E‖e_y − q‖² per point: the mean over ``draws`` label draws y ~ p* (:func:`resample_labels`).

    ‖e_y − q‖² = 1 − 2 q_y + ‖q‖² is evaluated per draw; the standard error is the sample standard deviation
    over draws divided by √draws.

    Args:
      p_star: ``(n, C)`` Bayes probabilities.
      teacher: optional ``(n, C)`` targets q (default p*).
      draws: number of label draws >= 2.
      seed: non-negative integer or ``np.random.Generator``.
      k_diagonal: optional ``(n,)`` kernel diagonal (scales both outputs).

    Returns:
      ``(mean (n,), standard_error (n,))``.

    Raises:
      ValueError: as :func:`label_noise_norm`, or ``draws < 2``.
    """
    p_star = check_probabilities(p_star, "p_star")
    draws = _count(draws, "draws", minimum=2)
    teacher = p_star if teacher is None else _matrix(teacher, "teacher", p_star.shape)
    labels = resample_labels(p_star, seed, draws=draws)  # (draws, n)
    picked = np.take_along_axis(teacher, labels.T, axis=1).T  # q_{i, y_i} per draw
    norms = 1.0 - 2.0 * picked + np.sum(teacher**2, axis=1)
    scale = _diagonal(k_diagonal, p_star.shape[0])
    return scale * norms.mean(axis=0), scale * norms.std(axis=0, ddof=1) / np.sqrt(draws)


# --------------------------------------------------------------------------------------------------
# minibatch gradient variance


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
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.shape not in ((n, n), (n, n, num_classes, num_classes)):
        raise ValueError(f"kernel must have shape (n, n) = ({n}, {n}) or (n, n, C, C) = "
                         f"({n}, {n}, {num_classes}, {num_classes}), got {kernel.shape}.")
    if not np.all(np.isfinite(kernel)):
        raise ValueError("kernel contains NaN or infinite values.")
    return kernel


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


def _targets(outputs, p_star, teacher, loss):
    """Validated (predictions A, p*, teacher or None, target names)."""
    loss = _check_loss(loss)
    outputs = _matrix(outputs, "outputs")
    p_star = check_probabilities(p_star, "p_star")
    if p_star.shape != outputs.shape:
        raise ValueError(f"p_star must have the outputs' shape {outputs.shape}, got {p_star.shape}.")
    if teacher is not None:
        teacher = _teacher(teacher, *outputs.shape, loss)
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
    of the one-hot variance at b = n, where the Bayes-target variance vanishes. A teacher also shifts the mean, by ``teacher_bias`` = ‖Σ_i
    J_iᵀ(p*_i − q_i)‖². Reference: Menon et al. (2021) for the risk analogue; Cochran (1977) for sampling
    without replacement.

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
        return (jacobians.T @ stacked).reshape(jacobians.shape[1], draws, num_classes).transpose(1, 0, 2).reshape(draws, -1)
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
    jacobians = np.asarray(jacobians, dtype=np.float64)
    if not (jacobians.ndim == 2 and jacobians.shape[0] == n) and not (
            jacobians.ndim == 3 and jacobians.shape[:2] == (n, num_classes)):
        raise ValueError(f"jacobians must be features (n, p) or Jacobians (n, C, P) with n = {n}, C = "
                         f"{num_classes}, got shape {jacobians.shape}.")
    if not np.all(np.isfinite(jacobians)):
        raise ValueError("jacobians contains NaN or infinite values.")
    sizes = _batch_sizes(batch_sizes, n)
    draws = _count(draws, "draws", minimum=2)
    chunk = max(1, 2_000_000 // (n * num_classes)) if chunk is None else _count(chunk, "chunk")
    rng = _as_rng(seed)
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


# --------------------------------------------------------------------------------------------------
# where the noise lives: eigendirections of K


@dataclass(frozen=True, eq=False, repr=False)
class DirectionalNoise:
    """Label-noise energy per eigendirection of the training kernel (index 0 = top direction).

    Target space (what every spectral filter acts on, F = g(K) Y): the one-hot targets are E = P* + ε, so
    the coordinates of the noise are u_kᵀ(e_y − q), with expected energy

        E‖u_kᵀ(E − Q)‖² = Σ_i u_ik² (1 − ‖p*_i‖²)  +  ‖u_kᵀ(P* − Q)‖²      (``noise`` + ``bias``).

    Function space (the kernel-GD step K(Q − E)): coordinates λ_k u_kᵀ(q − e_y), energy λ_k² times the above.

    Attributes:
      eigenvalues: ``(n,)`` λ_k, descending.
      noise: ``(n,)`` Σ_i u_ik² (1 − ‖p*_i‖²): the zero-mean label noise a Bayes teacher removes.
      bias: ``(n,)`` ‖u_kᵀ(P* − Q)‖², the teacher's own error (zeros when the teacher is p*).
      signal: ``(n,)`` ‖u_kᵀ P*‖², the energy of the noise-free targets.
    """

    eigenvalues: np.ndarray
    noise: np.ndarray
    bias: np.ndarray
    signal: np.ndarray

    @property
    def target(self) -> np.ndarray:
        """``(n,)`` E‖u_kᵀ(E − Q)‖² = noise + bias (target space)."""
        return self.noise + self.bias

    @property
    def function(self) -> np.ndarray:
        """``(n,)`` E‖λ_k u_kᵀ(Q − E)‖² = λ_k² · target (function space, the gradient step)."""
        return self.eigenvalues**2 * self.target

    def share(self, directions, quantity: str = "noise") -> float:
        """Fraction of the total of ``quantity`` (noise, bias, signal, target, function) in ``directions``.

        Args:
          directions: a slice, integer indices or a boolean mask of length n (0 = top direction).
          quantity: ``"noise"`` (default), ``"bias"``, ``"signal"``, ``"target"`` or ``"function"``.

        Returns:
          a float in [0, 1] (NaN when the quantity is zero everywhere).
        """
        if quantity not in ("noise", "bias", "signal", "target", "function"):
            raise ValueError(f"quantity must be noise, bias, signal, target or function, got {quantity!r}.")
        values = getattr(self, quantity)
        selected = values[directions if isinstance(directions, slice) else np.asarray(directions)]
        total = float(values.sum())
        return float(selected.sum() / total) if total > 0 else float("nan")

    def __repr__(self) -> str:
        top = max(1, self.eigenvalues.size // 10)
        return (f"DirectionalNoise(n={self.eigenvalues.size}, top-10% share: noise "
                f"{self.share(slice(0, top)):.3f}, signal {self.share(slice(0, top), 'signal'):.3f})")


def _spectrum_targets(spectrum, p_star, teacher):
    if not isinstance(spectrum, Spectrum):
        raise ValueError(f"spectrum must be a theory.Spectrum, got {type(spectrum).__name__}.")
    p_star = check_probabilities(p_star, "p_star")
    if p_star.shape[0] != spectrum.n:
        raise ValueError(f"p_star must have n = {spectrum.n} rows like the spectrum, got {p_star.shape}.")
    teacher = p_star if teacher is None else _matrix(teacher, "teacher", p_star.shape)
    return p_star, teacher


def noise_per_direction(spectrum: Spectrum, p_star, teacher=None) -> DirectionalNoise:
    """Expected label-noise energy per eigendirection, closed form (see :class:`DirectionalNoise`).

    Labels are independent across points, so E[(u_kᵀε)(u_kᵀε)ᵀ] = Σ_i u_ik² Σ_i and its trace is
    Σ_i u_ik² (1 − ‖p*_i‖²): each direction carries a u_ik²-weighted average of the per-point noise, so the
    noise is spread over all n directions (Σ_k u_ik² = 1) while a smooth p* concentrates on the top ones.

    Example:
      >>> spectrum = Spectrum.from_kernel(np.eye(2))
      >>> round(float(noise_per_direction(spectrum, np.array([[0.5, 0.5], [1.0, 0.0]])).noise.sum()), 12)
      0.5

    Args:
      spectrum: :class:`theory.Spectrum` of the training kernel ``(n, n)``.
      p_star: ``(n, C)`` Bayes probabilities.
      teacher: optional ``(n, C)`` teacher targets (default p*).

    Returns:
      :class:`DirectionalNoise`.

    Raises:
      ValueError: mismatched shapes or bad probabilities.
    """
    p_star, teacher = _spectrum_targets(spectrum, p_star, teacher)
    weights = spectrum.eigenvectors**2  # (i, k): u_ik²
    noise = weights.T @ (1.0 - np.sum(p_star**2, axis=1))
    bias = np.sum(spectrum.coordinates(p_star - teacher) ** 2, axis=1)
    signal = np.sum(spectrum.coordinates(p_star) ** 2, axis=1)
    return DirectionalNoise(spectrum.eigenvalues.copy(), noise, bias, signal)


def monte_carlo_noise_per_direction(spectrum: Spectrum, p_star, teacher=None, *, draws: int = 200, seed=0,
                                    chunk: int = 64):
    """Measured ‖u_kᵀ(E − Q)‖² per direction (target space), averaged over label draws y ~ p*.

    Args:
      spectrum: :class:`theory.Spectrum` of ``(n, n)``.
      p_star: ``(n, C)``.
      teacher: optional ``(n, C)`` (default p*).
      draws: label draws >= 2.
      seed: non-negative integer or ``np.random.Generator``.
      chunk: draws projected at once.

    Returns:
      ``(mean (n,), standard_error (n,))``; multiply by λ_k² for function space.

    Raises:
      ValueError: as :func:`noise_per_direction`, or ``draws < 2``.
    """
    p_star, teacher = _spectrum_targets(spectrum, p_star, teacher)
    draws, chunk = _count(draws, "draws", minimum=2), _count(chunk, "chunk")
    rng = _as_rng(seed)
    energies = []
    for start in range(0, draws, chunk):
        labels = one_hot(resample_labels(p_star, rng, draws=min(chunk, draws - start)), p_star.shape[1])
        energies.append(np.sum(spectrum.coordinates(labels - teacher[None]) ** 2, axis=-1))  # (count, n)
    energies = np.concatenate(energies)
    return energies.mean(axis=0), energies.std(axis=0, ddof=1) / np.sqrt(draws)


# --------------------------------------------------------------------------------------------------
# risk-estimate variance (Menon et al. 2021)


def per_class_losses(outputs, loss: str = "squared") -> np.ndarray:
    """``(m, C)`` losses ℓ(c, f(x)) of outputs f(x) for every class c.

    Squared: ½‖f − e_c‖² = ½(‖f‖² − 2 f_c + 1). Cross-entropy: −log softmax(f)_c.

    Args:
      outputs: ``(m, C)`` outputs (logits for cross-entropy).
      loss: ``"squared"`` or ``"cross_entropy"``.

    Returns:
      ``(m, C)`` float64.

    Raises:
      ValueError: non-finite outputs, unknown loss.
    """
    outputs = _matrix(outputs, "outputs")
    if _check_loss(loss) == "squared":
        return 0.5 * (np.sum(outputs**2, axis=1, keepdims=True) - 2.0 * outputs + 1.0)
    return -log_softmax(outputs)


def conditional_loss_variance(losses, p_star) -> np.ndarray:
    """Var[ℓ_y(f(x)) | x] = Σ_c p*_c ℓ_c² − (Σ_c p*_c ℓ_c)² per point, over y ~ p*(x).

    Example:
      >>> conditional_loss_variance(np.array([[0.0, 2.0]]), np.array([[0.5, 0.5]])).tolist()
      [1.0]

    Args:
      losses: ``(m, C)`` per-class losses (:func:`per_class_losses`).
      p_star: ``(m, C)`` Bayes probabilities.

    Returns:
      ``(m,)`` non-negative.

    Raises:
      ValueError: mismatched shapes, bad probabilities.
    """
    p_star = check_probabilities(p_star, "p_star")
    losses = _matrix(losses, "losses", p_star.shape)
    mean = np.sum(p_star * losses, axis=1)
    centred = losses - mean[:, None]  # Σ p (ℓ − m)²: no cancellation
    return np.sum(p_star * centred**2, axis=1)


@dataclass(frozen=True, eq=False, repr=False)
class RiskVariance:
    """One-hot vs Bayes-distilled empirical risk of a fixed predictor over repeated samples of size n.

    Attributes:
      sample_size: n.
      repeats: number of samples drawn.
      onehot_variance, distilled_variance: measured Var R̂_onehot and Var R̂_distilled (ddof = 1).
      onehot_standard_error, distilled_standard_error: their standard errors (delta method).
      gap: measured E(R̂_onehot − R̂_distilled)², which equals the variance gap exactly (the difference has
        mean 0 given the inputs, so it is uncorrelated with R̂_distilled).
      gap_standard_error: its standard error.
      predicted_onehot, predicted_distilled, predicted_gap: the formulas of :func:`monte_carlo_risk_variance`.
    """

    sample_size: int
    repeats: int
    onehot_variance: float
    distilled_variance: float
    onehot_standard_error: float
    distilled_standard_error: float
    gap: float
    gap_standard_error: float
    predicted_onehot: float
    predicted_distilled: float
    predicted_gap: float

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    def __repr__(self) -> str:
        return (f"RiskVariance(n={self.sample_size}, onehot={self.onehot_variance:.4g} "
                f"(predicted {self.predicted_onehot:.4g}), distilled={self.distilled_variance:.4g} "
                f"(predicted {self.predicted_distilled:.4g}), gap={self.gap:.4g} ± "
                f"{self.gap_standard_error:.2g} (predicted {self.predicted_gap:.4g}))")


def _variance_with_error(values: np.ndarray) -> tuple[float, float]:
    squared = (values - values.mean()) ** 2
    return float(values.var(ddof=1)), float(squared.std(ddof=1) / np.sqrt(values.size))


def monte_carlo_risk_variance(losses, p_star, *, sample_size: int, repeats: int = 2000, seed=0) -> RiskVariance:
    """Variance of the one-hot vs the Bayes-distilled risk estimate of a fixed f (Menon et al., 2021).

    For a sample (x_i, y_i), i = 1..n, i.i.d. from the data distribution:

        R̂_onehot = (1/n) Σ_i ℓ(y_i, f(x_i)),    R̂_distilled = (1/n) Σ_i Σ_c p*_c(x_i) ℓ(c, f(x_i)).

    Both are unbiased for the risk; by the law of total variance

        Var R̂_onehot = (1/n) Var_{x,y} ℓ_y(x),   Var R̂_distilled = (1/n) Var_x E[ℓ_y(x) | x],
        Var R̂_onehot − Var R̂_distilled = (1/n) E_x Var[ℓ_y(f(x)) | x]          (the variance gap).

    The distribution of x is the uniform distribution on the given pool of points (draw the pool from the
    generating model; a large pool approximates the population): each repeat draws ``sample_size`` pool
    indices with replacement and fresh labels y_i ~ p*(x_i). For that distribution the three formulas are
    exact, with E_x and Var_x the pool mean and (ddof = 0) variance. Reference: Menon, Rawat, Reddi, Kim,
    Kumar (2021), "A statistical perspective on distillation", ICML.

    Example:
      >>> pool = np.array([[0.5, 0.5], [0.9, 0.1]])
      >>> out = monte_carlo_risk_variance(np.array([[0.0, 1.0], [0.0, 1.0]]), pool, sample_size=10)
      >>> round(out.predicted_gap, 6)
      0.017

    Args:
      losses: ``(N, C)`` per-class losses ℓ(c, f(x)) on the pool (:func:`per_class_losses`).
      p_star: ``(N, C)`` Bayes probabilities on the pool.
      sample_size: n >= 1.
      repeats: number of samples >= 2.
      seed: non-negative integer or ``np.random.Generator``.

    Returns:
      :class:`RiskVariance`.

    Raises:
      ValueError: mismatched shapes, bad probabilities, ``sample_size < 1``, ``repeats < 2``.
    """
    variance_given_x = conditional_loss_variance(losses, p_star)
    losses, p_star = np.asarray(losses, dtype=np.float64), np.asarray(p_star, dtype=np.float64)
    sample_size = _count(sample_size, "sample_size")
    repeats = _count(repeats, "repeats", minimum=2)
    rng = _as_rng(seed)
    expected = np.sum(p_star * losses, axis=1)  # E[ℓ_y | x] per pool point
    index = rng.integers(0, losses.shape[0], size=(repeats, sample_size))
    labels = resample_labels(p_star[index.ravel()], rng).reshape(repeats, sample_size)
    onehot = losses[index, labels].mean(axis=1)
    distilled = expected[index].mean(axis=1)
    onehot_variance, onehot_error = _variance_with_error(onehot)
    distilled_variance, distilled_error = _variance_with_error(distilled)
    squared_gap = (onehot - distilled) ** 2
    predicted_distilled = float(expected.var() / sample_size)
    predicted_gap = float(variance_given_x.mean() / sample_size)
    return RiskVariance(
        sample_size, repeats, onehot_variance, distilled_variance, onehot_error, distilled_error,
        float(squared_gap.mean()), float(squared_gap.std(ddof=1) / np.sqrt(repeats)),
        predicted_distilled + predicted_gap, predicted_distilled, predicted_gap,
    )


# --------------------------------------------------------------------------------------------------
# hard and easy points


def confidence_groups(p_star, fraction: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks of the hard (lowest max_c p*) and easy (highest) ``fraction`` of the points.

    Ranks by max_c p*_c(x) with ties broken by index (a stable sort); each group has ⌊fraction · n⌋ points
    (at least 1).

    Args:
      p_star: ``(n, C)`` Bayes probabilities.
      fraction: in (0, 0.5].

    Returns:
      ``(hard (n,), easy (n,))`` disjoint boolean masks.

    Raises:
      ValueError: bad probabilities or ``fraction`` outside (0, 0.5].
    """
    p_star = check_probabilities(p_star, "p_star")
    if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real) or not 0 < fraction <= 0.5:
        raise ValueError(f"fraction must be a real number in (0, 0.5], got {fraction!r}.")
    n = p_star.shape[0]
    size = max(1, int(np.floor(fraction * n)))
    order = np.argsort(np.max(p_star, axis=1), kind="stable")
    hard, easy = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    hard[order[:size]] = True
    easy[order[n - size:]] = True
    return hard, easy & ~hard
