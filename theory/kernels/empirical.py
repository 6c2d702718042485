"""The empirical (finite-width) neural tangent kernel of any JAX model.

``empirical_ntk(apply_fn, params, x1, x2)`` computes Θ(x, x′) = Σ_p ∂f(x)/∂p ∂f(x′)/∂pᵀ for any
``apply_fn(params, x) -> (n, C)`` (a flax ``model.apply`` included), in blocks of points so that memory
stays bounded. This module needs JAX only; the flax MLP whose empirical NTK tends to
:func:`theory.kernels.relu_ntk` is in :mod:`theory.kernels.mlp`.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import check_integer

from ._inputs import kernel_inputs

__all__ = ["empirical_ntk"]

PyTree = Any


def empirical_ntk(
    apply_fn: Callable[[PyTree, jax.Array], jax.Array],
    params: PyTree,
    x1,
    x2=None,
    *,
    trace_outputs: bool = True,
    batch_size: int = 256,
) -> np.ndarray:
    """Empirical (finite-width) neural tangent kernel of ``apply_fn`` at ``params``.

    With J(x) = ∂f(params, x)/∂params ∈ R^{C × P} (all parameter leaves flattened together),

        Θ(x, x′) = J(x) J(x′)ᵀ ∈ R^{C × C}            (``trace_outputs=False``)
        Θ(x, x′) = (1/C) Σ_c J_c(x) · J_c(x′)        (``trace_outputs=True``: the *mean* over outputs).

    Trace convention: the traced kernel is the trace over the output axis divided by C, as in
    neural-tangents' ``empirical_ntk_fn(trace_axes=(-1,))`` (its ``_trace_and_diagonal`` divides the
    trace by the size of the traced axes). For a network whose NTK is the C × C identity times a scalar
    kernel (the infinite-width limit of :func:`theory.kernels.ntk_mlp`), the traced kernel is that scalar
    kernel, i.e. :func:`theory.kernels.relu_ntk`. Linearised GD on ½Σ‖F − Y‖² uses the full kernel reshaped to
    (n·C, n·C); it equals (traced kernel) ⊗ I_C only in the infinite-width limit.

    Each point's Jacobian is computed on its own (``vmap`` over points of ``jacrev``), so ``apply_fn``
    must treat the rows of ``x`` independently (no batch statistics). Points are processed in equal
    blocks of at most ``batch_size`` (the last one zero-padded); at most two blocks of Jacobians,
    2 · batch_size · C · P numbers, are alive at once (C = 10 outputs and P = 3·10⁵ parameters at
    batch_size = 256 need about 6 GB in float32: lower it for big networks). The cost is n1 · n2 · C · P
    multiply-adds (C times more for the full kernel) plus one block of Jacobians per block pair; when
    ``x2`` is None only the upper block triangle is computed (2 cores, width 512, depth 2, C = 10,
    n = 1000: about 100 s and 3.2 GB at batch_size = 128; see benchmarks/ntk.py). Arithmetic is in the
    dtype of ``params`` (a float32 network gives a float32-accurate kernel); the result is float64 numpy.
    Reference: Jacot et al. (2018); Novak et al. (2022), "Fast finite width neural tangent kernel".

    Example: a linear model f(x) = x W (W of shape (d, C)) has J_c(x)·J_c(x′) = x·x′ for every output c,
    so its traced NTK is the linear kernel x1 x2ᵀ (a flax network's ``model.apply`` works the same way;
    see :func:`theory.kernels.ntk_mlp`):

        >>> def apply(weights, x):
        ...     return x @ weights
        >>> empirical_ntk(apply, jnp.zeros((2, 3)), [[1.0, 2.0], [3.0, 4.0]])
        array([[ 5., 11.],
               [11., 25.]])

    Args:
        apply_fn: ``apply_fn(params, x (b, d)) -> (b, C)``; ``(b,)`` outputs are treated as C = 1. It is
            a static argument of ``jax.jit`` (hashable: functions and bound methods such as
            ``model.apply`` are), so repeated calls with the same ``apply_fn`` compile once.
        params: pytree of parameters (all leaves are differentiated).
        x1: inputs ``(n1, d)``.
        x2: inputs ``(n2, d)``; None means ``x1`` (and a symmetric result).
        trace_outputs: True for the output-averaged kernel ``(n1, n2)``; False for ``(n1, n2, C, C)``.
        batch_size: points per block, >= 1.

    Returns:
        float64 numpy array ``(n1, n2)`` or ``(n1, n2, C, C)``.

    Raises:
        ValueError: on non-2-D, mismatched or non-finite inputs, or ``batch_size < 1``.
    """
    batch_size = check_integer(batch_size, "batch_size", minimum=1)
    a, b = kernel_inputs(x1, x2)
    same = x2 is None
    leaves = jax.tree_util.tree_leaves(params)
    dtype = jnp.result_type(*leaves) if leaves else jnp.float32
    contract_fn = _traced_block if trace_outputs else _full_block

    size1, size2 = block_size(a.shape[0], batch_size), block_size(b.shape[0], batch_size)
    blocks1 = [(start, a[start:start + size1]) for start in range(0, a.shape[0], size1)]
    blocks2 = blocks1 if same else [(start, b[start:start + size2]) for start in range(0, b.shape[0], size2)]

    def jacobians(block, size):
        return _block_jacobians(apply_fn, params, _pad(block, size, dtype))

    result, carried = None, None
    for i, (start1, block1) in enumerate(blocks1):
        jac1 = carried if carried is not None else jacobians(block1, size1)
        # Symmetric case: the upper block triangle only, diagonal block first, then the others from the far
        # end, so that the last block computed (i + 1) is carried over as the next row's jac1.
        order = [i, *range(len(blocks2) - 1, i, -1)] if same else range(len(blocks2))
        jac2 = None
        for j in order:
            start2, block2 = blocks2[j]
            jac2 = None  # release the previous block first: at most two blocks of Jacobians are alive
            jac2 = jac1 if same and j == i else jacobians(block2, size2)
            kernel = np.asarray(contract_fn(jac1, jac2), dtype=np.float64)[: len(block1), : len(block2)]
            if result is None:
                result = np.empty((a.shape[0], b.shape[0]) + kernel.shape[2:], dtype=np.float64)
            result[start1:start1 + len(block1), start2:start2 + len(block2)] = kernel
            if same and j != i:  # Θ(x2, x1) = Θ(x1, x2)ᵀ
                result[start2:start2 + len(block2), start1:start1 + len(block1)] = _swap_points(kernel)
        carried = jac2 if same and len(order) > 1 else None
        jac1 = jac2 = None
    if result is None:  # an empty input: ask for the output size to shape the empty result
        outputs = jax.eval_shape(apply_fn, params, jnp.zeros((1, a.shape[1]), dtype))
        num_outputs = math.prod(outputs.shape[1:])
        tail = () if trace_outputs else (num_outputs, num_outputs)
        result = np.zeros((a.shape[0], b.shape[0]) + tail, dtype=np.float64)
    if same:  # diagonal blocks J Jᵀ are symmetric only up to rounding
        result = 0.5 * (result + _swap_points(result))
    return result


def _swap_points(kernel: np.ndarray) -> np.ndarray:
    """Θ(x2, x1) from Θ(x1, x2): swap the point axes and, for (n1, n2, C, C), the output axes."""
    return np.transpose(kernel, (1, 0, 3, 2)) if kernel.ndim == 4 else kernel.T


@functools.partial(jax.jit, static_argnums=0)  # compiled once per (apply_fn, shapes), across calls
def _block_jacobians(apply_fn, params, x):
    """``[leaf Jacobians (C, leaf.size, b)]`` for the rows of ``x (b, d)``, one point at a time.

    The point axis is last: the contraction then runs over the leading (C · leaf.size) axis of both
    blocks, which XLA's CPU matmul handles about 1.5 times faster than the (b, C · leaf.size) layout.
    """

    def single(params, point):
        return jnp.reshape(apply_fn(params, point[None, :]), (-1,))  # (C,)

    per_point = jax.vmap(jax.jacrev(single), in_axes=(None, 0), out_axes=-1)(params, x)
    return [leaf.reshape(leaf.shape[0], -1, leaf.shape[-1]) for leaf in jax.tree_util.tree_leaves(per_point)]


@jax.jit
def _traced_block(jac1, jac2):
    """(1/C) Σ_c Σ_p J1[c, p, a] J2[c, p, b]: one (C·p)-contraction per leaf, giving (b1, b2)."""
    num_outputs = jac1[0].shape[0]
    contract_leading = (((0,), (0,)), ((), ()))
    total = sum(
        jax.lax.dot_general(left.reshape(-1, left.shape[-1]), right.reshape(-1, right.shape[-1]), contract_leading)
        for left, right in zip(jac1, jac2)
    )
    return total / num_outputs


@jax.jit
def _full_block(jac1, jac2):
    """Σ_p J1[c, p, a] J2[e, p, b] arranged as (b1, b2, C, C)."""
    return sum(jnp.einsum("cpa,epb->abce", left, right) for left, right in zip(jac1, jac2))


def block_size(num_points: int, batch_size: int) -> int:
    """Points per block of :func:`empirical_ntk`: equal blocks of at most ``batch_size`` points.

    n = 1000 at batch_size = 256 gives 4 blocks of 250 (benchmarks/ntk.py uses it to warm up the compilation
    on one block of the real call's shape).

        >>> block_size(1000, 256)
        250
    """
    num_blocks = max(1, -(-num_points // batch_size))
    return max(1, -(-num_points // num_blocks))


def _pad(block: np.ndarray, batch_size: int, dtype) -> jax.Array:
    """Pad the last block with zero rows to the block size so that all blocks share one compilation."""
    missing = batch_size - block.shape[0]
    if missing:
        block = np.concatenate([block, np.zeros((missing, block.shape[1]))], axis=0)
    return jnp.asarray(block, dtype=dtype)
