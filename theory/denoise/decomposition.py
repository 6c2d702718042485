"""The exact decomposition of the one-hot gradient into the distillation gradient and label noise (docs/maths.md §5).

For outputs z_i = f(x_i; θ), the per-point loss gradients in output space are ∂ℓ/∂z_i = a_i − t_i for the
target t_i, with a_i = z_i (squared loss ½‖z − t‖²) or a_i = softmax(z_i) (cross-entropy −tᵀ log softmax z,
a probability target). Both losses are affine in the target with slope −1, so with J_i = ∂z_i/∂θ

    ∇L_onehot = Σ_i J_iᵀ (a_i − e_{y_i}) = ∇L_KD + Σ_i J_iᵀ (q_i − e_{y_i}),     ∇L_KD = Σ_i J_iᵀ (a_i − q_i).

When q = p*(x), the Bayes class probabilities, ε_i = e_{y_i} − p*(x_i) is zero-mean label noise with
covariance Σ_i = diag(p*_i) − p*_i p*_iᵀ and E‖ε_i‖² = 1 − ‖p*_i‖². This module computes, exactly:

* the decomposition, for a linear model (z_i = Wᵀφ_i), a kernel model (in function space, K(A − T)) and
  any JAX model (``apply_fn(params, x)``, pytrees): :func:`decompose_linear`, :func:`decompose_kernel`,
  :func:`decompose_model` -> :class:`GradientDecomposition`; the per-point Jacobians of a JAX model
  (:func:`model_jacobians`);
* the per-point noise norm E‖e_y − q‖², predicted and by Monte Carlo over label draws: :func:`label_noise_norm`,
  :func:`monte_carlo_label_noise_norm`.

Conventions: summed losses (docs/maths.md §2); temperature 1 (with τ ≠ 1 the KD residual is
(softmax(z/τ) − q)/τ and the split is no longer affine in one residual); labels are integer class indices.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree
import numpy as np

from .._checks import as_array, as_labels, as_matrix, as_probabilities, check_integer, check_nonnegative
from ..data import one_hot
from ._common import PyTree, check_loss, predictions as _predictions, resample_labels, teacher_targets

__all__ = [
    "GradientDecomposition",
    "decompose_linear",
    "decompose_kernel",
    "decompose_model",
    "model_jacobians",
    "label_noise_norm",
    "monte_carlo_label_noise_norm",
]



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
    loss = check_loss(loss)
    n, num_classes = outputs.shape
    targets = one_hot(as_labels(labels, "labels", num_classes=num_classes, n=n), num_classes)
    teacher = teacher_targets(teacher, n, num_classes, loss)
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
    features = as_matrix(features, "features")
    weights = as_matrix(weights, "weights", (features.shape[1], None), what="p from features")
    onehot, distill, noise = _residuals(features @ weights, labels, teacher, loss)
    return GradientDecomposition(features.T @ onehot, features.T @ distill, features.T @ noise)


def decompose_kernel(k_train_train, outputs, labels, teacher, *, loss: str = "squared") -> GradientDecomposition:
    """The decomposition in function space for a kernel model: the step directions of kernel GD.

    Kernel GD moves the training outputs by −η K (A − T) (docs/maths.md §2), so

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
    outputs = as_matrix(outputs, "outputs")
    kernel = as_matrix(k_train_train, "k_train_train", (outputs.shape[0],) * 2, what="n from outputs")
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
    loss = check_loss(loss)
    x = as_matrix(x, "x")
    teacher = as_array(teacher, "teacher", ndim=2, finite=False)
    n, num_classes = x.shape[0], teacher.shape[1]
    teacher = teacher_targets(teacher, n, num_classes, loss)
    targets = one_hot(as_labels(labels, "labels", num_classes=num_classes, n=n), num_classes)
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
    x = as_matrix(x, "x")
    with jax.enable_x64(True):
        flat, unravel = ravel_pytree(_float64_tree(params))

        def point_outputs(flat_params, point):
            return jnp.reshape(apply_fn(unravel(flat_params), point[None, :]), (-1,))  # (C,)

        per_point = jax.vmap(jax.jacrev(point_outputs), in_axes=(None, 0))
        return np.asarray(jax.jit(per_point)(flat, jnp.asarray(x, dtype=jnp.float64)), dtype=np.float64)



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
    p_star = as_probabilities(p_star, "p_star")
    norm = 1.0 - np.sum(p_star**2, axis=1)
    if teacher is not None:
        norm = norm + np.sum((p_star - as_matrix(teacher, "teacher", p_star.shape)) ** 2, axis=1)
    return norm * _diagonal(k_diagonal, p_star.shape[0])


def _diagonal(k_diagonal, n: int):
    """1.0 without a kernel diagonal, else the validated finite ``(n,)`` K_ii >= 0."""
    if k_diagonal is None:
        return 1.0
    diagonal = as_array(k_diagonal, "k_diagonal", shape=(n,), what="n from p_star")
    check_nonnegative(diagonal.min(initial=0.0), "min(k_diagonal)")
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
    p_star = as_probabilities(p_star, "p_star")
    draws = check_integer(draws, "draws", minimum=2)
    teacher = p_star if teacher is None else as_matrix(teacher, "teacher", p_star.shape)
    labels = resample_labels(p_star, seed, draws=draws)  # (draws, n)
    picked = np.take_along_axis(teacher, labels.T, axis=1).T  # q_{i, y_i} per draw
    norms = 1.0 - 2.0 * picked + np.sum(teacher**2, axis=1)
    scale = _diagonal(k_diagonal, p_star.shape[0])
    return scale * norms.mean(axis=0), scale * norms.std(axis=0, ddof=1) / np.sqrt(draws)

