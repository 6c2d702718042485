"""Top-k eigenpairs of a symmetric PSD operator from block products only (no n × n matrix).

The operator K is seen only through ``op.matmat(V)`` (``V`` of shape ``(n, b)``) and ``op.shape == (n, n)``;
a :class:`scipy.sparse.linalg.LinearOperator` or :func:`theory.kernels.operator` qualifies. On an on-the-fly
kernel a product with an (n, b) block costs one evaluation of the n² entries (one pass over K) plus 2n²b
flops of GEMM; for b in the hundreds the GEMM dominates, so the cost is the number of *columns* multiplied,
plus a smaller term per pass (docs/scale.md). Two methods, both with Rayleigh–Ritz on everything the products
give, on l = k + p Ritz pairs (p = oversampling):

``"krylov"`` (default): block Krylov–Ritz with thick restarts (block Lanczos/Davidson without a
preconditioner; Saad, *Numerical methods for large eigenvalue problems*, ch. 6–7; Musco & Musco 2015,
"Randomized block Krylov methods"). A search space S (orthonormal) is kept with its image Z = K S::

    S = orth(Ω), Ω Gaussian (n, l);  Z = K S;  per step:  SᵀZ = W Θ Wᵀ,  u_j = S w_j,  K u_j = Z w_j,
    r_j = K u_j − θ_j u_j;   S ← [S, orth_S(r_j : j ≤ k unconverged)],  Z ← [Z, K · (new columns)].

The residuals of the Ritz vectors span the block Krylov extension of the Ritz block, so after t products S
holds a block Krylov space of degree t: its pairs converge like Chebyshev polynomials in the gap
(≈ (1 − 2√(gap))^t) instead of the powers (λ_{l+1}/λ_j)^t of subspace iteration, and converged pairs stop
costing columns. When S would exceed ``max_basis`` columns it restarts on the l Ritz vectors, whose images
Z W need no product. ``"subspace"``: randomized subspace iteration (Halko, Martinsson & Tropp 2011,
Alg. 4.4 + 5.3): Z = K Q, Rayleigh–Ritz, next Q = orth(Z W): every product multiplies all l columns.
Krylov orthonormalises by SVQB (all GEMMs; Householder QR on (n, 600) blocks was its bottleneck);
subspace iteration keeps Householder QR (it must keep all l columns, also numerically dependent ones).

Measured on the RBF kernel of MNIST-1D (n = 4,000, median lengthscale, k = 512, residuals ≤ 1e-6·λ_max):
``"krylov"`` 5 products, 1,985 columns; ``"subspace"`` 7 products, 4,490 columns — at n = 50,000, where the
columns are the cost, that is the factor ≈ 2.3 (docs/scale.md has the timings). Library solvers: ``eigsh``
(ARPACK, implicitly restarted Lanczos) multiplies one vector at a time, i.e. re-evaluates the whole kernel
≥ 2k times for k pairs (n = 2,000, k = 64: 163 single-vector passes); ``lobpcg`` is a block method with a
3k-dimensional Rayleigh–Ritz per product and no stopping rule on residuals of its own (n = 4,000, k = 512:
6 products of 512 columns and 2 of its 3 blocks per step). This one gives the residuals and the remainder
bound from the same products, and its product count is bounded by ``max_products``.

What is certified (docs/maths.md §9):

* ``residuals`` r_j are the true ‖K u_j − θ_j u_j‖ (up to the round-off of one product). For a symmetric K
  some eigenvalue lies within r_j of θ_j; for a well-separated λ_j (gap δ_j to the rest of the spectrum)
  0 ≤ λ_j − θ_j ≤ r_j²/δ_j and the eigenvector's angle is at most r_j/δ_j (Davis–Kahan). θ_j ≤ λ_j always
  (Cauchy interlacing), so the Ritz values never overstate the spectrum.
* ``remainder_bound`` ≥ λ_{k+1}, the largest eigenvalue that the top-k directions miss (so ≥ ‖K − U Λ Uᵀ‖₂
  up to the residuals). By Courant–Fischer λ_{k+1} ≤ ‖P K P‖ with P = I − U_k U_kᵀ; in the basis (the p
  extra Ritz vectors, the complement Q⊥ of the l Ritz vectors Q) P K P = [[Θ_p, Bᵀ], [B, C]] with
  B = Q⊥ᵀ R_p, ‖B‖ ≤ ‖R_p‖₂ (the extra pairs' residuals), so ‖P K P‖ ≤ (a + c)/2 + √(((a − c)/2)² + b²),
  a = θ_{k+1}, b = ‖R_p‖₂, c ≥ ‖C‖; the same with p = 0 (Q = U_k, P K P = C) is the other candidate, and
  the smaller of the two is returned (extra pairs that are far from converged make b large).
  Two bounds on c = ‖Q⊥ᵀ K Q⊥‖ ≤ ‖(I − QQᵀ) K‖: with the trace, c ≤ tr K − Σ_{j ≤ l} θ_j (deterministic);
  from ``probes`` Gaussian columns ω_i drawn independently of the search space and multiplied with the first
  block (K(I − QQᵀ)ω = Kω − (KQ)(Qᵀω) then needs no further product),
  c ≤ 10·√(2/π)·max_i ‖(I − QQᵀ) K (I − QQᵀ) ω_i‖ with probability ≥ 1 − 10^(−probes) for each of the two
  Q (Halko et al. 2011, Lemma 4.1, applied to (I − QQᵀ) K (I − QQᵀ), whose norm is ‖C‖). The smaller is used, plus a round-off
  allowance n·eps·θ_1 (the bounds hold in exact arithmetic).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from ._checks import as_matrix, as_rng, check_choice, check_integer, check_nonnegative, check_positive

__all__ = ["TopEigenpairs", "top_eigenpairs"]

_EPS = np.finfo(np.float64).eps


@dataclass(frozen=True)
class TopEigenpairs:
    """The result of :func:`top_eigenpairs`.

    Attributes:
        eigenvalues: ``(k,)`` Ritz values θ_j, descending (θ_j ≤ λ_j).
        eigenvectors: ``(n, k)`` orthonormal Ritz vectors.
        residuals: ``(k,)`` ‖K u_j − θ_j u_j‖₂.
        remainder_bound: an upper bound on λ_{k+1} (see the module docstring for when it is certain).
        products: number of ``op.matmat`` calls made.
        converged: whether every residual reached ``tol · θ_1``.
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    residuals: np.ndarray
    remainder_bound: float
    products: int
    converged: bool


def top_eigenpairs(op, k: int, *, seed=0, oversampling: int | None = None, tol: float = 1e-6,
                   max_products: int = 30, trace: float | None = None, probes: int = 10,
                   method: str = "krylov", max_basis: int | None = None) -> TopEigenpairs:
    """Top-k eigenpairs of a symmetric positive semi-definite operator from block products (module docstring).

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> basis, _ = np.linalg.qr(rng.normal(size=(300, 300)))
        >>> kernel = (basis * 0.5 ** np.arange(300)) @ basis.T
        >>> top = top_eigenpairs(kernel, 5)
        >>> np.round(top.eigenvalues, 6).tolist(), bool(top.residuals.max() < 1e-6)
        ([1.0, 0.5, 0.25, 0.125, 0.0625], True)

    Args:
        op: ``(n, n)`` symmetric PSD operator: anything with ``.shape`` and ``.matmat(V)``, or a dense array.
        k: number of eigenpairs, ``1 ≤ k ≤ n``.
        seed: seed of the Gaussian start block and probes (or a ``numpy.random.Generator``).
        oversampling: extra Ritz pairs p tracked beside the k (default ``max(64, k // 4)``, capped so that
            k + p ≤ n).
        tol: stop when ``max_j r_j ≤ tol · θ_1``.
        max_products: most ``matmat`` calls (≥ 2); a run that stops there warns and returns what it has.
        trace: ``tr K`` if known (e.g. n for an RBF kernel); tightens ``remainder_bound`` deterministically.
            Default: ``op.trace`` when the operator has it.
        probes: Gaussian probe columns for the probabilistic remainder bound (failure probability 10^−probes).
        method: ``"krylov"`` (default: block Krylov–Ritz with thick restarts, every product extends the
            search space by the residuals of the unconverged pairs) or ``"subspace"`` (subspace iteration:
            every product applies K to the whole block of k + p Ritz vectors).
        max_basis: largest search space of ``"krylov"`` before a restart (default ``3 (k + p)``, at most n);
            its memory is 2 · 8 · n · max_basis bytes (the basis and its image under K).

    Returns:
        :class:`TopEigenpairs` (eigenvalues descending, eigenvectors ``(n, k)``, residuals, remainder bound).

    Raises:
        ValueError: a non-square operator, bad ``k`` or options, or a product of the wrong shape.
    """
    if isinstance(op, np.ndarray) or not hasattr(op, "matmat"):
        op = _Dense(as_matrix(op, "op"))
    shape = tuple(getattr(op, "shape", ()))
    if len(shape) != 2 or shape[0] != shape[1]:
        raise ValueError(f"op must have shape (n, n), got shape {shape}.")
    n = int(shape[0])
    k = check_integer(k, "k", minimum=1, maximum=max(n, 1))
    p = max(64, k // 4) if oversampling is None else check_integer(oversampling, "oversampling", minimum=0)
    width = min(k + p, n)
    tol = check_positive(tol, "tol")
    max_products = check_integer(max_products, "max_products", minimum=2)
    probes = check_integer(probes, "probes", minimum=0)
    check_choice(method, "method", ("krylov", "subspace"))
    max_basis = (min(3 * width, n) if max_basis is None
                 else check_integer(max_basis, "max_basis", minimum=min(width + 1, n)))
    if trace is None:
        trace = getattr(op, "trace", None)
    trace = None if trace is None else check_nonnegative(trace, "trace")
    rng = as_rng(seed)

    def product(block):
        out = np.asarray(op.matmat(block), dtype=np.float64)
        if out.shape != block.shape:
            raise ValueError(f"op.matmat returned shape {out.shape} for a block of shape {block.shape}.")
        return out

    iterate = _krylov if method == "krylov" else _subspace
    values, vectors, images, probe, probed, products = iterate(product, rng, n, width, k, tol, max_products,
                                                               probes, min(max_basis, n))
    residual_matrix = images - vectors * values[:width]
    residuals = np.linalg.norm(residual_matrix, axis=0)
    scale = max(float(values[0]), np.finfo(np.float64).tiny)
    converged = bool(residuals[:k].max() <= tol * scale)
    if not converged:
        warnings.warn(f"top_eigenpairs: after {products} products the largest residual of the top {k} is "
                      f"{residuals[:k].max() / scale:.3g}·θ_1 > tol = {tol:.3g}; the residuals on the result "
                      "say how far each pair is from converged (raise max_products or oversampling).",
                      RuntimeWarning, stacklevel=2)
    # K (I − UUᵀ) ω from K ω and K U (both known): the probes of the Ritz block's complement
    # the bounds hold in exact arithmetic; the computed Ritz values carry round-off of about n·eps·‖K‖. Two
    # complements of U_k: with the p extra Ritz pairs (l = k + p vectors), and with none (the k vectors alone)
    bound = 0.0
    if k < n:  # k = n: nothing is missed
        bound = min(_remainder_bound(values[:ritz], residual_matrix[:, :ritz], vectors[:, :ritz],
                                     probed - images[:, :ritz] @ (vectors[:, :ritz].T @ probe), k, trace)
                    for ritz in sorted({k, width})) + n * _EPS * scale
    return TopEigenpairs(
        eigenvalues=np.ascontiguousarray(np.maximum(values[:k], 0.0)),
        eigenvectors=np.ascontiguousarray(vectors[:, :k]),
        residuals=np.ascontiguousarray(residuals[:k]),
        remainder_bound=bound,
        products=products,
        converged=converged,
    )


def _ritz(small: np.ndarray):
    """Eigenpairs of the symmetric projected matrix, descending."""
    values, rotation = scipy.linalg.eigh(0.5 * (small + small.T), driver="evd", check_finite=False)
    return values[::-1], rotation[:, ::-1]


def _subspace(product, rng, n, width, k, tol, max_products, probes, max_basis):
    """Subspace iteration: Q ← orth(K Q W) with Rayleigh–Ritz on every product; probes ride on the first."""
    probe = rng.normal(size=(n, probes))
    first = product(np.concatenate([rng.normal(size=(n, width)), probe], axis=1))
    basis, probed = _householder(first[:, :width]), first[:, width:]
    products = 1
    while True:
        image = product(basis)
        products += 1
        values, rotation = _ritz(basis.T @ image)
        vectors, images = basis @ rotation, image @ rotation
        residuals = np.linalg.norm(images - vectors * values, axis=0)
        if residuals[:k].max() <= tol * max(float(values[0]), np.finfo(np.float64).tiny) or products >= max_products:
            return values, vectors, images, probe, probed, products
        basis = _householder(images)


def _krylov(product, rng, n, width, k, tol, max_products, probes, max_basis):
    """Block Krylov–Ritz with thick restarts (module docstring): search space S with its image Z = K S.

    Every product applies K to the orthonormalised residuals of the unconverged pairs among the first
    ``width`` Ritz pairs (these span the Krylov extension of the Ritz block); the projected matrix SᵀZ is
    extended by the new columns only. When S would exceed ``max_basis`` columns it restarts on the ``width``
    Ritz vectors, whose images Z W need no product.
    """
    basis = np.empty((n, max_basis))
    image = np.empty((n, max_basis))
    probe = rng.normal(size=(n, probes))
    start = _orthonormal(rng.normal(size=(n, width)))
    first = product(np.concatenate([start, probe], axis=1))
    basis[:, :width], image[:, :width], probed = start, first[:, :width], first[:, width:]
    size, products = width, 1
    small = start.T @ image[:, :width]
    while True:
        values, rotation = _ritz(small)
        keep = rotation[:, :width]
        vectors, images = basis[:, :size] @ keep, image[:, :size] @ keep
        residual_matrix = images - vectors * values[:width]
        residuals = np.linalg.norm(residual_matrix, axis=0)
        scale = max(float(values[0]), np.finfo(np.float64).tiny)
        active = residuals > tol * scale
        active[k:] = False  # the extra pairs improve through the Krylov space; only the k wanted ones extend it
        if not active[:k].any() or products >= max_products or size >= n:
            return values, vectors, images, probe, probed, products
        if size + int(active.sum()) > max_basis:  # thick restart on the Ritz block: K U = Z W, no product
            basis[:, :width], image[:, :width] = vectors, images
            size, small = width, np.diag(values[:width])
        block = _extension(residual_matrix[:, active], basis[:, :size], max_basis - size)
        if block.shape[1] == 0:  # the search space is invariant: the Ritz pairs are exact up to round-off
            return values, vectors, images, probe, probed, products
        new = product(block)
        products += 1
        added = block.shape[1]
        cross = basis[:, :size].T @ new
        corner = block.T @ new
        small = np.block([[small, cross], [cross.T, 0.5 * (corner + corner.T)]])
        basis[:, size:size + added], image[:, size:size + added] = block, new
        size += added


def _remainder_bound(values, residual_matrix, basis, probed, k, trace) -> float:
    """Upper bound on λ_{k+1} from the extra Ritz pairs and a bound on K outside the block (module docstring)."""
    n, width = basis.shape
    if k == n:
        return 0.0
    extra = max(float(values[k]), 0.0) if width > k else 0.0
    coupling = float(np.linalg.norm(residual_matrix[:, k:], 2)) if width > k else 0.0  # ‖B‖ ≤ ‖R_p‖₂
    outside = []
    if width == n:
        outside.append(0.0)
    if trace is not None:
        outside.append(max(trace - float(np.sum(values)), 0.0))
    if probed.shape[1]:
        leftover = probed - basis @ (basis.T @ probed)
        outside.append(10.0 * math.sqrt(2.0 / math.pi) * float(np.linalg.norm(leftover, axis=0).max()))
    if not outside:
        return math.inf
    c = min(outside)
    if width == k:  # no extra Ritz pairs: the complement of U_k is Q⊥ itself
        return c
    half = 0.5 * (extra - c)
    return 0.5 * (extra + c) + math.sqrt(half * half + coupling * coupling)


def _extension(block: np.ndarray, basis: np.ndarray, room: int) -> np.ndarray:
    """Orthonormal columns spanning ``block`` outside span(basis), at most ``room`` of them: two block
    Gram–Schmidt passes against the basis, then :func:`_orthonormal` (columns that the projection leaves
    below 1e-8 of their norm are numerically in the basis and dropped)."""
    block = block / np.maximum(np.linalg.norm(block, axis=0), np.finfo(np.float64).tiny)
    for _ in range(2):
        block = block - basis @ (basis.T @ block)
    block = block[:, np.linalg.norm(block, axis=0) > 1e-8]
    q = _orthonormal(block)[:, :room]
    return q - basis @ (basis.T @ q)  # a last pass: orthogonal to the basis to working precision


def _orthonormal(block: np.ndarray) -> np.ndarray:
    """An orthonormal basis (n, r) of the numerical column space of ``block`` (rank r ≤ b).

    SVQB twice (Stathopoulos & Wu 2002): with the columns scaled to norm 1, G = BᵀB = V D Vᵀ and
    Q = B V D^(−1/2), keeping the directions with D > 1e-12·max D (singular values above 1e-6 of the
    largest); the second pass restores orthogonality to working precision. It is all GEMMs and one small
    ``eigh``, 5–10× faster here than Householder QR on (n, 600) blocks.
    """
    for _ in range(2):
        block = block / np.maximum(np.linalg.norm(block, axis=0), np.finfo(np.float64).tiny)
        gram = block.T @ block
        values, vectors = scipy.linalg.eigh(0.5 * (gram + gram.T), driver="evd", check_finite=False)
        keep = values > 1e-12 * max(float(values[-1]), np.finfo(np.float64).tiny)
        block = block @ (vectors[:, keep] / np.sqrt(values[keep]))[:, ::-1]
    return block


def _householder(block: np.ndarray) -> np.ndarray:
    """An orthonormal basis (n, b) of the column space of ``block``, all b columns kept (Householder QR)."""
    return scipy.linalg.qr(block, mode="economic", check_finite=False)[0]


class _Dense:
    """A dense symmetric matrix seen as an operator (for small problems and tests)."""

    def __init__(self, matrix: np.ndarray):
        self.matrix = matrix
        self.shape = matrix.shape

    def matmat(self, block):
        return self.matrix @ block
