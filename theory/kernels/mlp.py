"""A flax ReLU MLP in the NTK parameterisation, whose infinite-width NTK is :func:`theory.kernels.relu_ntk`.

This is the one module of :mod:`theory.kernels` that imports flax; ``theory.kernels`` loads it on first use
of ``NTKDense``, ``NTKMLP`` or ``ntk_mlp``.
"""
from __future__ import annotations

import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from .._checks import check_integer, check_nonnegative

__all__ = ["NTKDense", "NTKMLP", "ntk_mlp"]


class NTKDense(nn.Module):
    """Dense layer in the NTK parameterisation: y = σ_w/√fan_in · x W + σ_b · b, W, b ~ N(0, 1).

    Attributes:
        features: output width.
        weight_std: σ_w.
        bias_std: σ_b.
        param_dtype: dtype of W and b (float32 by default; float64 needs ``jax.enable_x64``).
    """

    features: int
    weight_std: float = 1.0
    bias_std: float = 0.0
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        fan_in = x.shape[-1]
        normal = nn.initializers.normal(stddev=1.0)
        kernel = self.param("kernel", normal, (fan_in, self.features), self.param_dtype)
        bias = self.param("bias", normal, (self.features,), self.param_dtype)
        return self.weight_std / math.sqrt(fan_in) * (x @ kernel) + self.bias_std * bias


class NTKMLP(nn.Module):
    """ReLU MLP: ``depth`` hidden :class:`NTKDense` layers of ``width`` units, then an NTKDense read-out.

    Attributes:
        depth, width, output_dim, weight_std, bias_std, param_dtype: see :func:`ntk_mlp`.
    """

    depth: int
    width: int
    output_dim: int = 1
    weight_std: float = 1.0
    bias_std: float = 0.0
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for _ in range(self.depth):
            x = nn.relu(NTKDense(self.width, self.weight_std, self.bias_std, self.param_dtype)(x))
        return NTKDense(self.output_dim, self.weight_std, self.bias_std, self.param_dtype)(x)


def ntk_mlp(
    depth: int,
    width: int,
    weight_std: float = 1.0,
    bias_std: float = 0.0,
    output_dim: int = 1,
    *,
    param_dtype: Any = jnp.float32,
) -> NTKMLP:
    """A flax ReLU MLP in the NTK parameterisation whose infinite-width NTK is ``relu_ntk``.

    Every layer (``depth`` hidden ones and the read-out) computes h′ = σ_w/√fan_in · h W + σ_b b with
    W, b ~ N(0, 1) at initialisation, and the hidden layers apply ReLU. As ``width`` → ∞ at
    initialisation, ``empirical_ntk(model.apply, params, x, trace_outputs=False)`` →
    ``relu_ntk(x, depth=depth, weight_std=σ_w, bias_std=σ_b)[:, :, None, None] * I_C``, with
    fluctuations of order 1/√width; the outputs tend to a GP with kernel ``relu_nngp``.
    Reference: Jacot et al. (2018), "Neural tangent kernel"; neural-tangents' ``stax.Dense``
    (``parameterization='ntk'``).

    Example:
        >>> import jax
        >>> model = ntk_mlp(depth=2, width=64, weight_std=1.5, bias_std=0.1, output_dim=3)
        >>> params = model.init(jax.random.key(0), jnp.zeros((1, 5)))
        >>> model.apply(params, jnp.ones((4, 5))).shape
        (4, 3)

    Args:
        depth: number of hidden layers, >= 1.
        width: units per hidden layer, >= 1.
        weight_std: σ_w >= 0.
        bias_std: σ_b >= 0.
        output_dim: C, number of outputs, >= 1.
        param_dtype: dtype of the parameters.

    Returns:
        an unbound :class:`NTKMLP`; ``model.init(key, x)`` / ``model.apply(params, x)`` as usual.

    Raises:
        ValueError: on ``depth < 1``, ``width < 1``, ``output_dim < 1`` or a negative standard deviation.
    """
    return NTKMLP(
        depth=check_integer(depth, "depth", minimum=1),
        width=check_integer(width, "width", minimum=1),
        output_dim=check_integer(output_dim, "output_dim", minimum=1),
        weight_std=check_nonnegative(weight_std, "weight_std"),
        bias_std=check_nonnegative(bias_std, "bias_std"),
        param_dtype=param_dtype,
    )
