"""A kernel matrix as a linear operator: blocks of rows evaluated on the fly, never the n × n matrix.

``operator(x, kernel="rbf", lengthscale=…)`` is a :class:`scipy.sparse.linalg.LinearOperator` K with
``K @ V = Σ_blocks K[rows, :] @ V``: each block of rows ``K[rows, :]`` (rows × n) is computed by the
toolkit's closed form (:mod:`theory.kernels.analytic`), multiplied into V and dropped. Memory is
O(rows·n + n·b) for a block of b columns, time O(n²(d + b)) per product — one pass over the kernel, whatever
the number of columns, so block methods (:meth:`theory.Spectrum.from_operator`) use all their columns in one
pass. The operator is symmetric (``K.T`` is K) and knows its trace (``op.trace``) and diagonal in closed form.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import scipy.sparse.linalg

from .._checks import as_matrix, check_choice, check_integer
from . import analytic

__all__ = ["KernelOperator", "operator"]

#: The closed-form kernels, with the number of (rows, n) float64 arrays one block of each holds at once.
_KERNELS = {
    "linear": (analytic.linear, 2),
    "rbf": (analytic.rbf, 2),  # rows computed in place by _rbf_rows
    "relu_nngp": (analytic.relu_nngp, 16),
    "relu_ntk": (analytic.relu_ntk, 18),
}


class KernelOperator(scipy.sparse.linalg.LinearOperator):
    """The ``(n, n)`` Gram matrix K(x, x) of a kernel as a symmetric linear operator, evaluated by row blocks.

    Attributes:
        x: ``(n, d)`` float64 inputs.
        block_rows: rows of K computed at once.
        trace: ``tr K`` (None when the kernel's diagonal has no closed form here).
        products: number of passes over K made so far (one per ``matmat``/``matvec``).
    """

    def __init__(self, x: np.ndarray, function: Callable, block_rows: int, diagonal: np.ndarray | None,
                 fast_rows: Callable | None = None):
        super().__init__(dtype=np.float64, shape=(x.shape[0], x.shape[0]))
        self.x = x
        self.function = function
        self.block_rows = block_rows
        self._diagonal = diagonal
        self.trace = None if diagonal is None else float(np.sum(diagonal))
        self.products = 0
        self._fast_rows = fast_rows

    def diagonal(self) -> np.ndarray | None:
        """``(n,)`` diagonal K(x_i, x_i) (closed form; None for a user kernel)."""
        return None if self._diagonal is None else self._diagonal.copy()

    def rows(self, start: int, stop: int) -> np.ndarray:
        """The block ``K[start:stop, :]`` of shape ``(stop − start, n)``."""
        if self._fast_rows is not None:
            return self._fast_rows(start, stop, 0)
        return self.function(self.x[start:stop], self.x)

    def _matmat(self, block):
        """K @ block by row strips of the upper triangle: strip I is K[I, start_I:], used twice (K is symmetric:
        out[I] += K[I, I:] V[I:] and out[after I] += K[I, after I]ᵀ V[I]), so each entry is evaluated once."""
        block = np.asarray(block, dtype=np.float64)
        n = self.shape[0]
        out = np.zeros((n, block.shape[1]))
        for start in range(0, n, self.block_rows):
            stop = min(start + self.block_rows, n)
            strip = self._strip(start, stop)
            out[start:stop] += strip @ block[start:]
            if stop < n:
                out[stop:] += strip[:, stop - start:].T @ block[start:stop]
        self.products += 1
        return out

    def _strip(self, start, stop):
        """``K[start:stop, start:]``, the part of a row block on and above the diagonal."""
        if self._fast_rows is not None:
            return self._fast_rows(start, stop, start)
        return self.function(self.x[start:stop], self.x[start:])

    def _matvec(self, vector):
        return self._matmat(np.reshape(vector, (-1, 1)))[:, 0]

    def _adjoint(self):
        return self

    def _transpose(self):
        return self

    def __repr__(self) -> str:
        n, d = self.x.shape
        return f"KernelOperator(n={n}, d={d}, block_rows={self.block_rows})"


def operator(x, *, kernel, block_bytes: int = 2**28, **params) -> KernelOperator:
    """The kernel matrix ``K(x, x)`` of one of the toolkit's kernels as a blocked linear operator.

    ``kernel`` is ``"linear"``, ``"rbf"``, ``"relu_nngp"`` or ``"relu_ntk"`` (with their keyword parameters,
    e.g. ``lengthscale`` or ``depth``), or any callable ``kernel(x1, x2, **params) -> (n1, n2)`` — the hook
    for other kernels, e.g. an empirical NTK ``lambda a, b: empirical_ntk(apply_fn, params, a, b)``.
    Rows are computed in blocks whose working arrays take at most about ``block_bytes`` (default 256 MiB);
    the n × n matrix is never held. ``op.matmat(V)`` equals ``kernel(x) @ V`` to round-off (the blocks are
    the same closed forms evaluated on row subsets).

    Example:
        >>> import numpy as np
        >>> from theory import kernels
        >>> x = np.random.default_rng(0).normal(size=(50, 3))
        >>> op = kernels.operator(x, kernel="rbf", lengthscale=1.5)
        >>> v = np.ones((50, 2))
        >>> bool(np.allclose(op.matmat(v), kernels.rbf(x, lengthscale=1.5) @ v)), op.trace
        (True, 50.0)

    Args:
        x: ``(n, d)`` inputs.
        kernel: a kernel name (above) or a callable.
        block_bytes: memory for one block of rows (its arrays), in bytes.
        **params: the kernel's parameters.

    Returns:
        :class:`KernelOperator` of shape ``(n, n)``, float64, symmetric, with ``.trace`` (closed-form kernels).

    Raises:
        ValueError: bad inputs, an unknown kernel name, or bad kernel parameters (checked on two points).
    """
    x = as_matrix(x, "x")
    if x.shape[0] == 0:
        raise ValueError("x must have at least one row (point), got shape (0, d).")
    block_bytes = check_integer(block_bytes, "block_bytes", minimum=1)
    if callable(kernel):
        base, arrays, diagonal = kernel, 5, None
    else:
        check_choice(kernel, "kernel", tuple(_KERNELS) + ("<a callable kernel(x1, x2, **params)>",))
        base, arrays = _KERNELS[kernel]

    def function(x1, x2):
        return np.asarray(base(x1, x2, **params), dtype=np.float64)

    function(x[:2], x[:2])  # validate the parameters now, with the kernel's own message
    fast_rows = _rbf_rows(x, params["lengthscale"]) if kernel == "rbf" else None
    if not callable(kernel):
        diagonal = _diagonal(kernel, x, params)
    n = x.shape[0]
    block_rows = max(1, min(n, block_bytes // (8 * arrays * max(n, x.shape[1]))))
    return KernelOperator(x, function, block_rows, diagonal, fast_rows)


def _rbf_rows(x: np.ndarray, lengthscale: float) -> Callable:
    """``block(start, stop, first)``: RBF entries K[start:stop, first:] from one GEMM and two in-place passes.

    Same formula as :func:`analytic.rbf`: inputs centred (here on the mean of all of x), the squared distance
    ‖a‖² + ‖b‖² − 2a·b clipped at 0, then exp(−·/(2ℓ²)); equal to it to round-off. The squared norms ride in
    the GEMM as two extra columns, a = s·[−2x, ‖x‖², 1] and b = [x, 1, ‖x‖²] with s = −1/(2ℓ²), so that
    a·b = s·‖x_i − x_j‖² comes out of one product; a block then costs one GEMM (d + 2 inner dimension), one
    ``minimum`` and one ``exp`` pass over memory (the passes over a block that does not fit in cache, not
    the flops, set the time).
    """
    centred = x - x.mean(axis=0)
    squares = np.sum(centred * centred, axis=1)
    scale = -1.0 / (2.0 * float(lengthscale) ** 2)
    ones = np.ones((x.shape[0], 1))
    left = scale * np.concatenate([-2.0 * centred, squares[:, None], ones], axis=1)
    right = np.ascontiguousarray(np.concatenate([centred, ones, squares[:, None]], axis=1).T)

    def block(start, stop, first):
        out = left[start:stop] @ right[:, first:]
        np.minimum(out, 0.0, out=out)
        return np.exp(out, out=out)

    return block


def _diagonal(kernel: str, x: np.ndarray, params: dict) -> np.ndarray | None:
    """K(x_i, x_i) in closed form: 1 (RBF), ‖x_i‖² (linear), the θ = 0 recursion (ReLU NNGP/NTK)."""
    if kernel == "rbf":
        return np.ones(x.shape[0])
    if kernel == "linear":
        return np.sum(x * x, axis=1)
    w_var = float(params.get("weight_std", 1.0)) ** 2
    b_var = float(params.get("bias_std", 0.0)) ** 2
    depth = int(params.get("depth", 1))
    sigma = w_var * np.sum(x * x, axis=1) / max(x.shape[1], 1) + b_var
    theta = sigma.copy()
    for _ in range(depth):  # θ = 0: J(0)/(2π) = 1/2 and (π − 0)/(2π) = 1/2
        sigma = w_var * sigma / 2 + b_var
        theta = sigma + w_var * theta / 2
    return sigma if kernel == "relu_nngp" else theta
