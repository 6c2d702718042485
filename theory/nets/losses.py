"""Per-example losses on logits: one-hot cross-entropy, distillation, squared loss (docs/maths.md §4).

With logits z ∈ R^C, label y, teacher logits z_T, temperature τ and p_τ(z) = softmax(z / τ):

=============================  ===========================================  ==================================
loss                           value                                        gradient in z
=============================  ===========================================  ==================================
``cross_entropy``              −log softmax(z)_y                             softmax(z) − e_y
``distillation`` (``"ce"``)     s · (−Σ_c q_c log p_τ(z)_c),  q = p_τ(z_T)     s · (p_τ(z) − q) / τ
``squared`` (``"mse"``)          ½ ‖z − t‖²                                    z − t
=============================  ===========================================  ==================================

with s = τ² when ``temperature_squared`` (Hinton et al. 2015, so that gradient magnitudes do not shrink as 1/τ
when τ grows) and s = 1 otherwise. −Σ q log p_τ = KL(q ‖ p_τ) + H(q), and H(q) does not depend on z: the
distillation gradient is the gradient of s · KL(q ‖ p_τ(z)). The squared loss distils by regressing on the
teacher's logits, t = z_T (τ plays no role), and learns labels with t = e_y.

A training objective mixes them with the teacher weight ξ (0 = labels only, 1 = teacher only):
``(1 − ξ) · one-hot loss + ξ · distillation loss``, averaged over the batch (:func:`mixed_loss`).
Other codebases' α that weights the *label* term corresponds to ξ = 1 − α.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["cross_entropy", "distillation", "squared", "kl_divergence", "mixed_loss"]


def cross_entropy(logits, labels_one_hot):
    """−Σ_c y_c log softmax(z)_c per example; ``logits (b, C)``, ``labels_one_hot (b, C)`` → ``(b,)``."""
    return -jnp.sum(labels_one_hot * jax.nn.log_softmax(logits, axis=-1), axis=-1)


def distillation(logits, teacher_logits, temperature: float = 1.0, temperature_squared: bool = False):
    """s · (−Σ_c q_c log softmax(z/τ)_c), q = softmax(z_T/τ), per example ``(b,)``; the teacher is not differentiated.

    Example:
      >>> import numpy as np
      >>> z = jnp.array([[1.0, 0.0]]); zt = jnp.array([[0.0, 1.0]])
      >>> g = jax.grad(lambda z: distillation(z, zt, 2.0).sum())(z)
      >>> bool(np.allclose(g, (jax.nn.softmax(z / 2) - jax.nn.softmax(zt / 2)) / 2))
      True
    """
    soft_targets = jax.lax.stop_gradient(jax.nn.softmax(teacher_logits / temperature, axis=-1))
    loss = -jnp.sum(soft_targets * jax.nn.log_softmax(logits / temperature, axis=-1), axis=-1)
    return loss * temperature**2 if temperature_squared else loss


def kl_divergence(teacher_logits, logits, temperature: float = 1.0):
    """KL(softmax(z_T/τ) ‖ softmax(z/τ)) per example ``(b,)`` (the reference for the distillation gradient)."""
    log_q = jax.nn.log_softmax(teacher_logits / temperature, axis=-1)
    log_p = jax.nn.log_softmax(logits / temperature, axis=-1)
    return jnp.sum(jnp.exp(log_q) * (log_q - log_p), axis=-1)


def squared(logits, targets):
    """½ Σ_c (z_c − t_c)² per example ``(b,)``."""
    return 0.5 * jnp.sum((logits - targets) ** 2, axis=-1)


def mixed_loss(logits, labels_one_hot, teacher_logits, teacher_weight, *, loss: str = "ce",
               temperature: float = 1.0, temperature_squared: bool = False):
    """Batch mean of ``(1 − ξ) · one-hot loss + ξ · distillation loss``.

    Args:
      logits: ``(b, C)`` student logits.
      labels_one_hot: ``(b, C)`` one-hot (possibly noisy) labels.
      teacher_logits: ``(b, C)`` teacher logits, or None for one-hot training (ξ must then be 0 in effect).
      teacher_weight: ξ, a float or a traced scalar (0 switches distillation off).
      loss: ``"ce"`` or ``"mse"`` (see the module table).
      temperature, temperature_squared: τ and the τ² factor of the ``"ce"`` distillation loss.

    Returns:
      scalar loss.
    """
    if loss == "ce":
        label_term = cross_entropy(logits, labels_one_hot)
        teacher_term = None if teacher_logits is None else distillation(
            logits, teacher_logits, temperature, temperature_squared)
    elif loss == "mse":
        label_term = squared(logits, labels_one_hot)
        teacher_term = None if teacher_logits is None else squared(logits, jax.lax.stop_gradient(teacher_logits))
    else:
        raise ValueError(f"loss must be 'ce' or 'mse', got {loss!r}.")
    if teacher_term is None:
        return jnp.mean(label_term)
    return jnp.mean((1.0 - teacher_weight) * label_term + teacher_weight * teacher_term)
