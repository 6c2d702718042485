"""The structured empirical NTK of a network of dense layers: per-layer Gram products, no parameter Jacobian.

A dense layer z = s_w · a W + s_b · b (a ∈ R^{fan_in} its input, W ∈ R^{fan_in × m}) applied once per
point contributes to Θ_{ce}(x, x′) = Σ_p ∂f_c(x)/∂p · ∂f_e(x′)/∂p exactly

    (s_w² a(x)·a(x′) + s_b²) · δ_c(x)·δ_e(x′),        δ_c(x) = ∂f_c(x)/∂z ∈ R^m,

because ∂f_c/∂W = s_w a δ_cᵀ and ∂f_c/∂b = s_b δ_c (Novak, Sohl-Dickstein & Schoenholz 2022, "Fast finite
width neural tangent kernel", structured derivatives). The empirical NTK is the sum of these terms over the
layers, so a block of points needs only the layer inputs a (one forward pass) and the output cotangents δ_c
(one backward pass per output c): b · Σ_l (fan_in_l + C · m_l) numbers instead of b · C · P Jacobian
entries. The Gram products are then plain matrix products (docs/maths.md §2 for the kernel conventions).

The layers are found with flax's public method interception (``flax.linen.intercept_methods``): every
``flax.linen.Dense`` (s_w = 1, s_b = 1 with a bias, 0 without) and :class:`theory.kernels.NTKDense`
(s_w = σ_w/√fan_in, s_b = σ_b) call records its input and adds a zero perturbation to its output, whose
``jax.vjp`` cotangent is δ. :func:`dense_structure` refuses, with the reason, a model for which the formula
would not be exact: any other module holding parameters (convolutions, whose patch structure is not
implemented; BatchNorm), a layer applied more than once per call or to inputs of rank > 2, a Dense with a
custom ``dot_general``/``promote_dtype``/``dtype``, parameters that no dense layer holds (e.g. a plain
JAX function), or flax not loaded. This module imports flax only inside these functions.
"""
from __future__ import annotations

import functools
import math
import sys
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["DenseLayer", "dense_structure", "structured_features", "structured_traced_block",
           "structured_full_block"]

PyTree = Any


class DenseLayer(NamedTuple):
    """One dense layer of a network as the structured NTK sees it (hashable: a static ``jax.jit`` argument).

    Attributes:
        path: the flax module path, e.g. ``("Dense_0",)``.
        weight_scale: s_w in z = s_w · a W + s_b · b.
        bias_scale: s_b (0 for a layer without bias).
        has_bias: whether the layer has a bias parameter (its input is then extended by the constant s_b).
    """

    path: tuple
    weight_scale: float
    bias_scale: float
    has_bias: bool


def _layer_types() -> tuple:
    import flax.linen as nn

    from .mlp import NTKDense

    return nn.Dense, NTKDense


def _default_promote_dtype():
    import flax.linen as nn

    return nn.Dense.__dataclass_fields__["promote_dtype"].default


def _describe_layer(module, args, kwargs):
    """(DenseLayer, reason): the layer's scales, or why the per-layer formula does not hold for it."""
    import flax.linen as nn

    name = f"{type(module).__name__} {'/'.join(module.path) or '(root)'}"
    inputs = args[0] if args else next(iter(kwargs.values()))
    if jnp.ndim(inputs) != 2:
        return None, (f"{name} is applied to inputs of shape {tuple(jnp.shape(inputs))} (several positions per "
                      "point): only dense layers on (batch, features) inputs are supported")
    params = module.variables.get("params", {})
    fan_in = jnp.shape(inputs)[-1]
    if type(module) is nn.Dense:
        if module.dot_general is not None or module.dot_general_cls is not None:
            return None, f"{name} has a custom dot_general"
        if module.promote_dtype is not _default_promote_dtype():
            return None, f"{name} has a custom promote_dtype"
        if module.dtype is not None and jnp.dtype(module.dtype) != jnp.dtype(module.param_dtype):
            return None, f"{name} computes in {module.dtype}, not in its parameters' dtype"
        has_bias = bool(module.use_bias)
        return DenseLayer(tuple(module.path), 1.0, 1.0 if has_bias else 0.0, has_bias), None
    weight_scale = float(module.weight_std) / math.sqrt(fan_in)  # NTKDense
    return DenseLayer(tuple(module.path), weight_scale, float(module.bias_std), "bias" in params), None


def _own_parameters(module) -> list[str]:
    """Names of the variables that ``module`` holds itself (not through a child module)."""
    return [f"{collection}/{key}" for collection, tree in module.variables.items()
            for key, value in tree.items() if not isinstance(value, Mapping)]


def dense_structure(apply_fn: Callable, params: PyTree, x: jax.ShapeDtypeStruct) -> tuple[tuple | None, str | None]:
    """The dense layers of ``apply_fn`` in call order, or the reason the structured NTK does not apply.

    Runs ``apply_fn(params, x)`` abstractly (``jax.eval_shape``: nothing is computed) with every flax
    module call intercepted. Returns ``(layers, None)`` when every parameter of ``params`` sits in a
    ``flax.linen.Dense`` or :class:`theory.kernels.NTKDense` applied once per call to a (batch, features)
    input, and ``(None, reason)`` otherwise.

    Args:
        apply_fn: ``apply_fn(params, x (b, ...)) -> (b, ...)``.
        params: the parameter pytree that ``apply_fn`` differentiates.
        x: the shape and dtype of one block of inputs.
    """
    if "flax" not in sys.modules:
        return None, "flax is not loaded, so apply_fn has no flax dense layers"
    import flax.linen as nn

    layer_types = _layer_types()
    layers, problems, paths, held = [], [], set(), []

    def interceptor(next_fun, args, kwargs, context):
        output = next_fun(*args, **kwargs)
        module = context.module
        if context.method_name != "__call__":
            return output
        if type(module) in layer_types:
            path = tuple(module.path)
            if path in paths:
                problems.append(f"{type(module).__name__} {'/'.join(path)} is applied more than once per call")
            paths.add(path)
            held.extend(leaf.size for leaf in jax.tree_util.tree_leaves(dict(module.variables)))
            layer, reason = _describe_layer(module, args, kwargs)
            layers.append(layer) if reason is None else problems.append(reason)
        elif own := _own_parameters(module):
            problems.append(
                f"{type(module).__name__} {'/'.join(module.path) or '(root)'} holds parameters {', '.join(own)} "
                "outside a dense layer (convolutions need their patch structure, not implemented; BatchNorm "
                "and other layers are not dense)")
        return output

    try:
        with nn.intercept_methods(interceptor):
            jax.eval_shape(lambda p, v: apply_fn(p, v), params, x)  # a fresh function: no trace cache hit
    except Exception as error:  # noqa: BLE001 -- any failure of the abstract call is a reason to fall back
        return None, f"apply_fn could not be traced with flax method interception ({type(error).__name__}: {error})"
    if problems:
        return None, problems[0]
    if not layers:
        return None, "apply_fn calls no flax Dense or NTKDense layer (a plain JAX function has no layer structure)"
    total = sum(leaf.size for leaf in jax.tree_util.tree_leaves(params))
    if total != sum(held):
        return None, (f"params has {total} entries but the dense layers hold {sum(held)}: some parameters enter "
                      "apply_fn outside a dense layer")
    return tuple(layers), None


@functools.partial(jax.jit, static_argnums=(0, 1))
def structured_features(apply_fn: Callable, layers: tuple, params: PyTree, x: jax.Array):
    """Per-layer inputs and output cotangents of the rows of ``x (b, d)``.

    Returns ``(inputs, cotangents)``: for layer l, ``inputs[l] (b, fan_in [+ 1])`` is s_w · a (with the
    constant column s_b appended when the layer has a bias) and ``cotangents[l] (b, C, m)`` is δ_c = ∂f_c/∂z
    for every output c (one ``jax.vjp`` of the whole block, pulled back once per output). ``layers`` is
    :func:`dense_structure`'s result for this ``apply_fn``, ``params`` and block shape.
    """
    import flax.linen as nn

    layer_types = _layer_types()
    num_points = x.shape[0]

    def forward(perturbations):
        inputs = []

        def interceptor(next_fun, args, kwargs, context):
            if context.method_name != "__call__" or type(context.module) not in layer_types:
                return next_fun(*args, **kwargs)
            index = len(inputs)
            inputs.append(args[0] if args else next(iter(kwargs.values())))
            return next_fun(*args, **kwargs) + perturbations[index]

        with nn.intercept_methods(interceptor):
            outputs = apply_fn(params, x)
        return jnp.reshape(outputs, (num_points, -1)), inputs

    shapes = _output_shapes(apply_fn, layers, params, x)
    zeros = [jnp.zeros(shape, dtype) for shape, dtype in shapes]
    outputs, pullback, inputs = jax.vjp(forward, zeros, has_aux=True)
    num_outputs = outputs.shape[1]
    basis = jnp.eye(num_outputs, dtype=outputs.dtype)[:, None, :] * jnp.ones_like(outputs)  # (C, b, C)
    cotangents = jax.vmap(pullback)(basis)[0]  # per layer (C, b, m)
    features = []
    for layer, a in zip(layers, inputs):
        a = layer.weight_scale * a.astype(outputs.dtype)
        if layer.has_bias:
            a = jnp.concatenate([a, jnp.full((num_points, 1), layer.bias_scale, a.dtype)], axis=1)
        features.append(a)
    return tuple(features), tuple(jnp.swapaxes(delta, 0, 1) for delta in cotangents)


def _output_shapes(apply_fn, layers, params, x):
    """(shape, dtype) of every dense layer's output, in call order (traced abstractly)."""
    import flax.linen as nn

    layer_types = _layer_types()
    shapes = []

    def interceptor(next_fun, args, kwargs, context):
        output = next_fun(*args, **kwargs)
        if context.method_name == "__call__" and type(context.module) in layer_types:
            shapes.append((output.shape, output.dtype))
        return output

    with nn.intercept_methods(interceptor):
        jax.eval_shape(lambda p, v: apply_fn(p, v), params, jax.ShapeDtypeStruct(x.shape, x.dtype))
    if len(shapes) != len(layers):
        raise ValueError(f"apply_fn called {len(shapes)} dense layers, expected {len(layers)}.")
    return shapes


@jax.jit
def structured_traced_block(features1, features2):
    """(1/C) Σ_l (A1 A2ᵀ) ∘ (D1 D2ᵀ) with D (b, C·m): the traced kernel of two blocks, ``(b1, b2)``."""
    (inputs1, deltas1), (inputs2, deltas2) = features1, features2
    num_outputs = deltas1[0].shape[1]
    total = 0.0
    for a1, a2, d1, d2 in zip(inputs1, inputs2, deltas1, deltas2):
        gram_deltas = d1.reshape(d1.shape[0], -1) @ d2.reshape(d2.shape[0], -1).T
        total = total + (a1 @ a2.T) * gram_deltas
    return total / num_outputs


@jax.jit
def structured_full_block(features1, features2):
    """Σ_l (A1 A2ᵀ)[i, j] · δ_c(x_i)·δ_e(x_j): the full kernel of two blocks, ``(b1, b2, C, C)``."""
    (inputs1, deltas1), (inputs2, deltas2) = features1, features2
    total = 0.0
    for a1, a2, d1, d2 in zip(inputs1, inputs2, deltas1, deltas2):
        gram_deltas = jnp.einsum("icm,jem->ijce", d1, d2)
        total = total + (a1 @ a2.T)[:, :, None, None] * gram_deltas
    return total
