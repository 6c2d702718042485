"""The empirical (finite-width) neural tangent kernel of any JAX model, and its matrix-free product.

``empirical_ntk(apply_fn, params, x1, x2)`` computes Θ(x, x′) = Σ_p ∂f(x)/∂p ∂f(x′)/∂p for any
``apply_fn(params, x) -> (n, C)`` (a flax ``model.apply`` included), in blocks of points so that memory
stays bounded: by the per-layer structured formula of :mod:`theory.kernels.structured` for networks of dense
layers, by Jacobian contraction otherwise. ``ntk_vector_product`` is the matrix-free v ↦ J Jᵀ v. This module
needs JAX only (flax only if the model is a flax model); the flax MLP whose empirical NTK tends to
:func:`theory.kernels.relu_ntk` is in :mod:`theory.kernels.mlp`.
"""
from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import check_choice, check_integer

from ._inputs import kernel_inputs
from .structured import dense_structure, structured_features, structured_full_block, structured_traced_block

__all__ = ["empirical_ntk", "ntk_vector_product", "METHODS"]

PyTree = Any

#: The values of ``empirical_ntk``'s ``method``.
METHODS = ("auto", "structured", "jacobian")

#: Points of x1 on which the structured kernel is checked against the Jacobian contraction before use.
_SPOT_POINTS = 3

#: Default points per block (``batch_size=None``) of the two methods.
_STRUCTURED_BATCH, _JACOBIAN_BATCH = 1024, 256


def empirical_ntk(
    apply_fn: Callable[[PyTree, jax.Array], jax.Array],
    params: PyTree,
    x1,
    x2=None,
    *,
    trace_outputs: bool = True,
    method: str = "auto",
    batch_size: int | None = None,
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

    Methods (``method``):

    * ``"structured"`` — for networks of dense layers (``flax.linen.Dense``, :class:`theory.kernels.NTKDense`)
      applied once per point, Θ is the sum over layers of (s_w² a·a′ + s_b²) ∘ (δ_c·δ′_e), with a a layer's
      input and δ_c = ∂f_c/∂z the cotangent at its output (see :mod:`theory.kernels.structured`); no
      per-parameter Jacobian is formed. Per block of b points it holds b · Σ_l (fan_in_l + C · m_l) numbers
      and costs one forward pass and C backward passes; a block pair costs b1 · b2 · Σ_l (fan_in_l + C · m_l)
      multiply-adds (C times more for the full kernel). Before use it is checked against the Jacobian
      contraction on the first 3 points of ``x1`` (to float32/float64 rounding); a model it cannot handle
      (convolutions, BatchNorm, a layer applied twice, a plain JAX function, parameters outside dense layers)
      raises ``ValueError`` with the reason. Width 512, depth 2, C = 10, n = 1000 on 2 shared cores: 0.2–0.7 s,
      170–600× faster than ``"jacobian"``; n = 10,000: 30 s, 2 GB (benchmarks/ntk.py).
    * ``"jacobian"`` — each point's Jacobian on its own (``vmap`` over points of ``jacrev``), contracted
      blockwise: at most two blocks of Jacobians, 2 · batch_size · C · P numbers, are alive at once (C = 10
      outputs and P = 3·10⁵ parameters at batch_size = 256 need about 6 GB in float32: lower it for big
      networks). The cost is n1 · n2 · C · P multiply-adds (C times more for the full kernel) plus one block
      of Jacobians per block pair (2 cores, width 512, depth 2, C = 10, n = 1000: about 100 s and 3.2 GB at
      batch_size = 128). Works for any ``apply_fn``.
    * ``"auto"`` (default) — ``"structured"`` where it applies, otherwise ``"jacobian"`` with a
      ``UserWarning`` that states the reason. The layers are seen while ``apply_fn`` is traced, so pass
      ``model.apply`` itself: a ``jax.jit``-wrapped ``apply_fn`` hides them and falls back.

    Either way ``apply_fn`` must treat the rows of ``x`` independently (no batch statistics). Points are
    processed in equal blocks of at most ``batch_size`` (the last one zero-padded); when ``x2`` is None only
    the upper block triangle is computed. Arithmetic is in the dtype of ``params`` (a float32 network gives a
    float32-accurate kernel); the result is float64 numpy. In float64 both methods agree to ~1e-13 relative.
    Reference: Jacot et al. (2018); Novak, Sohl-Dickstein & Schoenholz (2022), "Fast finite width neural
    tangent kernel".

    Example: a linear model f(x) = x W (W of shape (d, C)) has J_c(x)·J_c(x′) = x·x′ for every output c,
    so its traced NTK is the linear kernel x1 x2ᵀ (a plain JAX function: ``"jacobian"``; a flax network's
    ``model.apply`` works the same way, see :func:`theory.kernels.ntk_mlp`):

        >>> def apply(weights, x):
        ...     return x @ weights
        >>> empirical_ntk(apply, jnp.zeros((2, 3)), [[1.0, 2.0], [3.0, 4.0]], method="jacobian")
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
        method: ``"auto"``, ``"structured"`` or ``"jacobian"`` (above).
        batch_size: points per block, >= 1; None (default) means 1024 for the traced ``"structured"`` kernel
            (a block holds b · Σ_l (fan_in_l + C · m_l) numbers) and 256 otherwise (a full block pair holds
            b² · C² numbers; a ``"jacobian"`` block b · C · P).

    Returns:
        float64 numpy array ``(n1, n2)`` or ``(n1, n2, C, C)``.

    Raises:
        ValueError: on non-2-D, mismatched or non-finite inputs, ``batch_size < 1``, an unknown ``method``,
            or ``method="structured"`` for a model it cannot handle (the message says why).
    """
    batch_size = None if batch_size is None else check_integer(batch_size, "batch_size", minimum=1)
    method = check_choice(method, "method", METHODS)
    a, b = kernel_inputs(x1, x2)
    same = x2 is None
    leaves = jax.tree_util.tree_leaves(params)
    dtype = jnp.result_type(*leaves) if leaves else jnp.float32

    features_fn, contract_fn = None, None
    if method != "jacobian" and a.shape[0] and b.shape[0]:
        size = batch_size or (_STRUCTURED_BATCH if trace_outputs else _JACOBIAN_BATCH)
        size1, size2 = block_size(a.shape[0], size), block_size(b.shape[0], size)
        layers, reason = structured_plan(apply_fn, params, a, dtype, size1, size2)
        if layers is not None:
            def features_fn(block):
                return structured_features(apply_fn, layers, params, block)
            contract_fn = structured_traced_block if trace_outputs else structured_full_block
        elif method == "structured":
            raise ValueError(f"method='structured' does not apply to this model: {reason}.")
        else:
            warnings.warn(f"empirical_ntk: Jacobian contraction instead of the structured NTK, because {reason}.",
                          UserWarning, stacklevel=2)
    if features_fn is None:
        size = batch_size or _JACOBIAN_BATCH
        size1, size2 = block_size(a.shape[0], size), block_size(b.shape[0], size)

        def features_fn(block):
            return _block_jacobians(apply_fn, params, block)
        contract_fn = _traced_block if trace_outputs else _full_block
    result = _blocked_kernel(features_fn, contract_fn, a, b, same, size1, size2, dtype)
    if result is None:  # an empty input: ask for the output size to shape the empty result
        outputs = jax.eval_shape(apply_fn, params, jnp.zeros((1, a.shape[1]), dtype))
        num_outputs = math.prod(outputs.shape[1:])
        tail = () if trace_outputs else (num_outputs, num_outputs)
        result = np.zeros((a.shape[0], b.shape[0]) + tail, dtype=np.float64)
    if same:  # diagonal blocks J Jᵀ are symmetric only up to rounding
        result = 0.5 * (result + _swap_points(result))
    return result


def structured_plan(apply_fn, params, x, dtype, *sizes) -> tuple[tuple | None, str | None]:
    """``(layers, None)`` if the structured NTK applies to ``apply_fn`` for blocks of ``sizes`` points of
    ``x``'s width, else ``(None, reason)``: :func:`~theory.kernels.structured.dense_structure` for every
    block size, then a spot check of the full kernel on the first points of ``x`` against the Jacobian
    contraction (relative Frobenius error ≤ 10 √eps of ``dtype``), which catches parameters that enter
    ``apply_fn`` beside their dense layer as well.
    """
    layers = None
    for size in sorted(set(sizes)):
        layers, reason = dense_structure(apply_fn, params, jax.ShapeDtypeStruct((size, x.shape[1]), dtype))
        if layers is None:
            return None, reason
    spot = jnp.asarray(x[:_SPOT_POINTS], dtype=dtype)
    _, reason = dense_structure(apply_fn, params, jax.ShapeDtypeStruct(spot.shape, dtype))
    if reason is not None:
        return None, reason
    features = structured_features(apply_fn, layers, params, spot)
    structured = np.asarray(structured_full_block(features, features), dtype=np.float64)
    jacobians = _block_jacobians(apply_fn, params, spot)
    reference = np.asarray(_full_block(jacobians, jacobians), dtype=np.float64)
    error = np.linalg.norm(structured - reference) / max(np.linalg.norm(reference), np.finfo(np.float64).tiny)
    if not error <= 10 * math.sqrt(np.finfo(dtype).eps):
        return None, (f"the per-layer kernel differs from the Jacobian contraction by {error:.1e} (relative) on "
                      "a spot check: apply_fn uses its parameters outside the dense layers")
    return layers, None


def _blocked_kernel(features_fn, contract_fn, a, b, same, size1, size2, dtype):
    """The kernel of ``a`` and ``b`` block by block: ``contract_fn(features_fn(block1), features_fn(block2))``.

    At most two blocks of features are alive at once; with ``same`` only the upper block triangle is
    computed. Returns None when an input is empty.
    """
    blocks1 = [(start, a[start:start + size1]) for start in range(0, a.shape[0], size1)]
    blocks2 = blocks1 if same else [(start, b[start:start + size2]) for start in range(0, b.shape[0], size2)]

    def features(block, size):
        return features_fn(_pad(block, size, dtype))

    result, carried = None, None
    for i, (start1, block1) in enumerate(blocks1):
        feat1 = carried if carried is not None else features(block1, size1)
        # Symmetric case: the upper block triangle only, diagonal block first, then the others from the far
        # end, so that the last block computed (i + 1) is carried over as the next row's feat1.
        order = [i, *range(len(blocks2) - 1, i, -1)] if same else range(len(blocks2))
        feat2 = None
        for j in order:
            start2, block2 = blocks2[j]
            feat2 = None  # release the previous block first: at most two blocks of features are alive
            feat2 = feat1 if same and j == i else features(block2, size2)
            kernel = np.asarray(contract_fn(feat1, feat2), dtype=np.float64)[: len(block1), : len(block2)]
            if result is None:
                result = np.empty((a.shape[0], b.shape[0]) + kernel.shape[2:], dtype=np.float64)
            result[start1:start1 + len(block1), start2:start2 + len(block2)] = kernel
            if same and j != i:  # Θ(x2, x1) = Θ(x1, x2)ᵀ
                result[start2:start2 + len(block2), start1:start1 + len(block1)] = _swap_points(kernel)
        carried = feat2 if same and len(order) > 1 else None
        feat1 = feat2 = None
    return result


def ntk_vector_product(
    apply_fn: Callable[[PyTree, jax.Array], jax.Array],
    params: PyTree,
    x,
    *,
    trace_outputs: bool = False,
    batch_size: int = 1024,
):
    """The empirical NTK of ``apply_fn`` on ``x`` as a matrix-free ``scipy.sparse.linalg.LinearOperator``.

    With J ∈ R^{(n·C) × P} the Jacobian of all outputs (row i·C + c is ∂f_c(x_i)/∂params), the operator is
    v ↦ J (Jᵀ v): one ``jax.vjp`` (Jᵀ v, summed over blocks of points) and one ``jax.jvp`` (J g, block by
    block), never the (n·C) × (n·C) kernel nor a Jacobian. Shapes:

    * ``trace_outputs=False`` (default): shape ``(n·C, n·C)``, the full kernel ``empirical_ntk(...,
      trace_outputs=False)`` reshaped with index i·C + c (point-major); one vjp and one jvp per vector;
    * ``trace_outputs=True``: shape ``(n, n)``, the traced kernel (1/C) Σ_c J_c J_cᵀ; C vjp/jvp pairs per
      vector (one per output, vectorised).

    ``matmat`` vectorises over the columns (``jax.vmap``, 64 at a time). Memory: the activations of one
    block of ``batch_size`` points plus one parameter-sized gradient per column in flight. Arithmetic in the
    dtype of ``params`` (the products run when called: keep ``jax.enable_x64`` on for a float64 network);
    float64 numpy in and out. Works for any ``apply_fn`` whose rows are independent.

    Example: for f(x) = x W the traced kernel is x xᵀ:

        >>> op = ntk_vector_product(lambda w, x: x @ w, jnp.zeros((2, 3)), [[1.0, 2.0], [3.0, 4.0]],
        ...                         trace_outputs=True)
        >>> op.shape, op.matvec(np.array([1.0, 0.0]))
        ((2, 2), array([ 5., 11.]))

    Args:
        apply_fn: ``apply_fn(params, x (b, d)) -> (b, C)`` (or ``(b,)``: C = 1).
        params: pytree of parameters (all leaves are differentiated).
        x: inputs ``(n, d)``.
        trace_outputs: False for the ``(n·C, n·C)`` operator, True for the traced ``(n, n)`` one.
        batch_size: points per block, >= 1.

    Returns:
        ``scipy.sparse.linalg.LinearOperator`` (float64).
    """
    from scipy.sparse.linalg import LinearOperator

    batch_size = check_integer(batch_size, "batch_size", minimum=1)
    x, _ = kernel_inputs(x, name1="x")
    leaves = jax.tree_util.tree_leaves(params)
    dtype = jnp.result_type(*leaves) if leaves else jnp.float32
    num_points = x.shape[0]
    size = block_size(num_points, batch_size)
    blocks = [_pad(x[start:start + size], size, dtype) for start in range(0, num_points, size)]
    num_outputs = math.prod(jax.eval_shape(apply_fn, params, blocks[0][:1]).shape[1:]) if blocks else 1

    def apply_columns(columns):  # columns (n, C, k) -> (n, C, k)
        padded = np.zeros((len(blocks) * size, num_outputs, columns.shape[-1]))
        padded[:num_points] = columns
        padded = jnp.asarray(padded, dtype=dtype)
        tangent = None
        for index, block in enumerate(blocks):
            part = _pullback(apply_fn, params, block, padded[index * size:(index + 1) * size])
            tangent = part if tangent is None else jax.tree_util.tree_map(jnp.add, tangent, part)
        outputs = [_pushforward(apply_fn, params, block, tangent) for block in blocks]
        return np.asarray(jnp.concatenate(outputs, axis=0), dtype=np.float64)[:num_points]

    def matmat(matrix):
        matrix = np.asarray(matrix, dtype=np.float64).reshape(num_points, -1, np.shape(matrix)[-1])
        results = []
        for start in range(0, matrix.shape[-1], 64):
            chunk = matrix[:, :, start:start + 64]
            if trace_outputs:  # column u -> u ⊗ e_c for every output c, then the mean of the diagonal
                eye = np.eye(num_outputs)
                spread = (chunk[:, :, None, :] * eye[None, :, :, None]).reshape(num_points, num_outputs, -1)
                out = apply_columns(spread).reshape(num_points, num_outputs, num_outputs, -1)
                results.append(np.einsum("icck->ik", out) / num_outputs)
            else:
                results.append(apply_columns(chunk).reshape(num_points * num_outputs, -1))
        return np.concatenate(results, axis=1) if results else np.zeros((matrix.shape[0] * (1 if trace_outputs
                                                                          else num_outputs), 0))

    dim = num_points if trace_outputs else num_points * num_outputs
    return LinearOperator((dim, dim), matvec=lambda v: matmat(np.reshape(v, (-1, 1)))[:, 0], matmat=matmat,
                          rmatvec=lambda v: matmat(np.reshape(v, (-1, 1)))[:, 0], dtype=np.float64)


@functools.partial(jax.jit, static_argnums=0)
def _pullback(apply_fn, params, x, columns):
    """Jᵀ V for the rows of ``x (b, d)`` and cotangent columns ``(b, C, k)``: k parameter pytrees (leading k)."""
    outputs, pullback = jax.vjp(lambda p: jnp.reshape(apply_fn(p, x), (x.shape[0], -1)), params)
    return jax.vmap(lambda column: pullback(column.astype(outputs.dtype))[0], in_axes=-1)(columns)


@functools.partial(jax.jit, static_argnums=0)
def _pushforward(apply_fn, params, x, tangents):
    """J g for the rows of ``x (b, d)`` and k parameter tangents (leading k): ``(b, C, k)``."""
    def single(tangent):
        return jax.jvp(lambda p: jnp.reshape(apply_fn(p, x), (x.shape[0], -1)), (params,), (tangent,))[1]

    return jnp.moveaxis(jax.vmap(single)(tangents), 0, -1)


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
