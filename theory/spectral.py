"""Eigendecomposition of a kernel (Gram) matrix, and progress of outputs along its eigendirections.

Everything closed-form in this toolkit acts on targets one eigendirection of the training kernel at a time
(docs/maths.md §3). :class:Spectrum holds the one eigendecomposition that all of it shares:

    K = Φ Φᵀ = Σ_k λ_k u_k u_kᵀ,    λ_0 ≥ λ_1 ≥ … ≥ λ_{n−1} ≥ 0   (index 0 is the *top* direction).

Progress along direction k of outputs F towards targets Y, both started from F₀ (docs/maths.md §3):

    c_k(F) = u_kᵀ(F − F₀) / u_kᵀ(Y − F₀)

per output column. For a spectral filter g, c_k = g(λ_k) exactly, whatever the targets.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import as_array, as_kernel, as_matrix, check_choice, check_nonempty, psd_tolerance
from .topk import top_eigenpairs
import scipy.linalg

__all__ = ["Spectrum", "progress", "group_progress"]

_EPS = np.finfo(np.float64).eps


@dataclass(frozen=True, repr=False, eq=False)
class Spectrum:
    """Eigendecomposition of a positive semi-definite training kernel, eigenvalues descending.

    Build it with :meth:from_kernel (one ``eigh``) or :meth:from_features (one thin SVD, more accurate
    for small eigenvalues because it never squares the features).

    Example:
        >>> import numpy as np, theory as th
        >>> features = np.random.default_rng(0).normal(size=(50, 5))
        >>> spectrum = th.Spectrum.from_features(features)
        >>> spectrum.eigenvalues.shape, spectrum.rank
        ((50,), 5)

    Attributes:
        eigenvalues: ``(n,)`` float64, descending, ≥ 0 (round-off negatives clipped to exactly 0).
        eigenvectors: ``(n, n)`` float64 orthonormal columns; column k is u_k.
        clip_tolerance: the absolute threshold below which negative eigenvalues were treated as round-off.
        residuals: ``(k,)`` ‖K u_j − λ_j u_j‖₂ of a top-k spectrum (:meth:from_operator); None when exact.
        remainder_bound: an upper bound on λ_{k+1}, the largest eigenvalue a top-k spectrum misses; None when
            the spectrum is complete.

    A top-k spectrum (:meth:from_operator) has ``eigenvalues (k,)`` and ``eigenvectors (n, k)``: ``n`` is
    the number of rows of ``eigenvectors``, coordinates and progress have k entries (one per direction
    held), and :func:`theory.predict` then acts on the top-k directions only (it treats the complement
    as untrained, g = 0 there: the train outputs are F₀ + U_k g(Λ_k) U_kᵀ(Y − F₀)).
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    clip_tolerance: float = 0.0
    residuals: np.ndarray | None = None
    remainder_bound: float | None = None

    # ----------------------------------------------------------------------------------------- builders
    @classmethod
    def from_kernel(cls, k_train_train, *, psd_rtol: float | None = None, symmetry_rtol: float = 1e-10):
        """Eigendecompose a symmetric positive semi-definite kernel ``k_train_train (n, n)``.

        Round-off tolerance: an eigenvalue perturbation from an entrywise error of ε·max|K| is at most
        ‖E‖₂ ≤ n·ε·max|K|, so eigenvalues in ``[-psd_rtol·λ_max, 0)`` are round-off and are clipped to 0.
        The default ``psd_rtol = 10·n·eps`` (≈2e-12 at n = 1,000). A kernel computed in float32 needs
        ``psd_rtol ≈ 1e-5``.

        Args:
            k_train_train: ``(n, n)`` symmetric PSD matrix.
            psd_rtol: relative tolerance for negative eigenvalues (see above).
            symmetry_rtol: ``max|K − Kᵀ| ≤ symmetry_rtol · max|K|`` is required; K is then symmetrised.

        Returns:
            A :class:Spectrum with eigenvalues ``(n,)`` descending and eigenvectors ``(n, n)``.

        Raises:
            ValueError: not square, not finite, asymmetric, or an eigenvalue clearly negative.
        """
        kernel = check_nonempty(as_kernel(k_train_train, "k_train_train", rtol=symmetry_rtol), "k_train_train",
                                what="training point")
        kernel = 0.5 * (kernel + kernel.T)
        eigenvalues, eigenvectors = scipy.linalg.eigh(kernel)
        eigenvalues, eigenvectors = eigenvalues[::-1], eigenvectors[:, ::-1]
        return cls._clipped(eigenvalues, eigenvectors, psd_rtol, name="k_train_train")

    @classmethod
    def from_features(cls, features, *, psd_rtol: float | None = None):
        """Spectrum of ``K = Φ Φᵀ`` from features ``Φ (n, p)`` via a thin SVD ``Φ = U S Vᵀ``.

        λ_k = s_k² and u_k = U[:, k]. When p < n the remaining n − p eigenvectors (eigenvalue 0) complete an
        orthonormal basis (complete QR of U), so ``eigenvectors`` is always ``(n, n)``. The SVD never forms
        Φ Φᵀ, so small eigenvalues keep their relative accuracy.

        Args:
            features: ``(n, p)`` real features of the n training points.
            psd_rtol: recorded as ``clip_tolerance`` only: squared singular values are never negative, so
                nothing is clipped (tiny eigenvalues are kept; ``rank`` counts those above ``n·eps·λ_max``).

        Returns:
            A :class:Spectrum with eigenvalues ``(n,)`` and eigenvectors ``(n, n)``.
        """
        phi = as_matrix(features, "features")
        n, p = phi.shape
        if n == 0:
            raise ValueError("features has no rows; need at least one training point.")
        left, singular, _ = scipy.linalg.svd(phi, full_matrices=False)
        eigenvalues = singular**2
        if left.shape[1] < n:
            complete, _ = np.linalg.qr(left, mode="complete")
            left = np.concatenate([left, complete[:, left.shape[1]:]], axis=1)
            eigenvalues = np.concatenate([eigenvalues, np.zeros(n - singular.size)])
        return cls._clipped(eigenvalues, left, psd_rtol, name="features")

    @classmethod
    def from_operator(cls, op, k: int, *, seed=0, oversampling: int | None = None, tol: float = 1e-6,
                      max_products: int = 30, trace: float | None = None, probes: int = 10,
                      method: str = "krylov"):
        """Top-k eigenpairs of a PSD operator without the n × n matrix (randomized subspace iteration).

        ``op`` is anything with ``.shape == (n, n)`` and ``.matmat(V)`` (a
        :class:`scipy.sparse.linalg.LinearOperator`, :func:`theory.kernels.operator`); the algorithm, its
        cost (passes over K, columns multiplied) and what it certifies are in
        :mod:`theory.topk`. The result has ``rank == k`` (for k eigenvalues above ``n·eps·λ_max``),
        ``residuals`` ‖K u_j − λ_j u_j‖ (each eigenvalue is within its residual of the spectrum; an
        eigenvector's angle error is at most residual / gap) and ``remainder_bound`` ≥ λ_{k+1}.

        Example:
            >>> import numpy as np, theory as th
            >>> x = np.random.default_rng(0).normal(size=(400, 3))
            >>> spectrum = th.Spectrum.from_operator(th.kernels.operator(x, kernel="rbf", lengthscale=2.0), 20)
            >>> spectrum.rank, spectrum.eigenvectors.shape, bool(spectrum.residuals.max() < 1e-6 * spectrum.eigenvalues[0])
            (20, (400, 20), True)

        Args:
            op: ``(n, n)`` symmetric PSD operator (or a dense array).
            k: number of eigenpairs, ``1 ≤ k ≤ n``.
            seed: seed of the random start block and probes.
            oversampling: extra block columns p (default ``max(64, k // 4)``).
            tol: stop when every residual is ≤ ``tol · λ_max``.
            max_products: most ``matmat`` calls; a run that stops there warns (RuntimeWarning).
            trace: ``tr K`` if known (default ``op.trace`` when present); tightens ``remainder_bound``.
            probes: Gaussian probes for the probabilistic part of ``remainder_bound``.
            method: ``"krylov"`` (block Krylov–Ritz, the default: fewest columns multiplied) or
                ``"subspace"`` (subspace iteration); :mod:`theory.topk`.

        Returns:
            A top-k :class:Spectrum: eigenvalues ``(k,)`` descending, eigenvectors ``(n, k)``.
        """
        top = top_eigenpairs(op, k, seed=seed, oversampling=oversampling, tol=tol, max_products=max_products,
                             trace=trace, probes=probes, method=method)
        return cls(eigenvalues=top.eigenvalues, eigenvectors=top.eigenvectors, residuals=top.residuals,
                   remainder_bound=top.remainder_bound)

    @classmethod
    def _clipped(cls, eigenvalues, eigenvectors, psd_rtol, *, name):
        n = eigenvalues.size
        tolerance = psd_tolerance(n, float(eigenvalues[0]), psd_rtol)  # the one PSD tolerance (_checks)
        most_negative = float(eigenvalues.min())
        if most_negative < -tolerance:
            raise ValueError(
                f"`{name}` is not positive semi-definite: smallest eigenvalue {most_negative:.3g} is below "
                f"-psd_rtol * lambda_max = {-tolerance:.3g}. A kernel must be PSD; if it was computed in low "
                "precision, pass a larger psd_rtol."
            )
        eigenvalues = np.where(eigenvalues < 0.0, 0.0, eigenvalues)  # round-off negatives -> exactly 0
        return cls(
            eigenvalues=np.ascontiguousarray(eigenvalues),
            eigenvectors=np.ascontiguousarray(eigenvectors),
            clip_tolerance=tolerance,
        )

    # ----------------------------------------------------------------------------------------- basics
    @property
    def n(self) -> int:
        """Number of training points (rows of ``eigenvectors``; more than the directions held when top-k)."""
        return self.eigenvectors.shape[0]

    @property
    def rank(self) -> int:
        """Numerical rank: eigenvalues above ``n·eps·λ_max`` (numpy's ``matrix_rank`` convention)."""
        return int(np.sum(self.eigenvalues > self.null_threshold))

    @property
    def null_threshold(self) -> float:
        """Eigenvalues at or below this are treated as the null space (``n·eps·λ_max``)."""
        return self.n * _EPS * float(self.eigenvalues[0])

    def __repr__(self) -> str:
        positive = self.eigenvalues[self.eigenvalues > self.null_threshold]
        smallest = float(positive[-1]) if positive.size else 0.0
        return (
            f"Spectrum(n={self.n}, rank={self.rank}, lambda_max={self.eigenvalues[0]:.4g}, "
            f"lambda_min_positive={smallest:.4g})"
        )

    def _check_rows(self, array, name):
        """``array`` as finite float64 with n rows: shape ``(n,)`` or ``(..., n, C)``."""
        array = as_array(array, name)
        rows = array.shape[0] if array.ndim == 1 else (array.shape[-2] if array.ndim >= 2 else None)
        if rows != self.n:
            raise ValueError(
                f"{name} must have n = {self.n} rows (shape (n,) or (..., n, C)), got shape {array.shape}."
            )
        return array

    def coordinates(self, outputs) -> np.ndarray:
        """Coordinates ``Uᵀ F`` of outputs in the eigenbasis.

        Args:
            outputs: ``(n,)`` or ``(..., n, C)`` values on the training points.

        Returns:
            ``(n,)`` or ``(..., n, C)``: entry k is u_kᵀF (k = 0 is the top direction).
        """
        outputs = self._check_rows(outputs, "outputs")
        if outputs.ndim == 1:
            return self.eigenvectors.T @ outputs
        return np.moveaxis(np.tensordot(self.eigenvectors.T, outputs, axes=([1], [-2])), 0, -2)

    def reconstruct(self, coordinates) -> np.ndarray:
        """Inverse of :meth:coordinates: ``U z``."""
        coordinates = np.asarray(coordinates, dtype=np.float64)
        if coordinates.ndim == 1:
            return self.eigenvectors @ coordinates
        return np.moveaxis(np.tensordot(self.eigenvectors, coordinates, axes=([1], [-2])), 0, -2)

    def progress(self, outputs, targets, initial=None, *, aggregate: str = "projection") -> np.ndarray:
        """Progress per eigendirection; see :func:progress."""
        return progress(self, outputs, targets, initial, aggregate=aggregate)

    def group_progress(self, outputs, targets, directions, initial=None) -> np.ndarray:
        """Energy-weighted progress over a group of directions; see :func:group_progress."""
        return group_progress(self, outputs, targets, directions, initial)


def _centred_coordinates(spectrum: Spectrum, outputs, targets, initial):
    targets = spectrum._check_rows(targets, "targets")
    outputs = spectrum._check_rows(outputs, "outputs")
    if targets.ndim == 1:
        targets = targets[:, None]
    if outputs.ndim == 1:
        outputs = outputs[:, None]
    if outputs.shape[-1] != targets.shape[-1]:
        raise ValueError(
            f"outputs has {outputs.shape[-1]} output columns but targets has {targets.shape[-1]}."
        )
    if initial is not None:
        initial = spectrum._check_rows(initial, "initial")
        initial = initial[:, None] if initial.ndim == 1 else initial
        outputs, targets = outputs - initial, targets - initial
    return spectrum.coordinates(outputs), spectrum.coordinates(targets)


def progress(spectrum: Spectrum, outputs, targets, initial=None, *, aggregate: str = "projection"):
    """Progress ``c_k = u_kᵀ(F − F₀) / u_kᵀ(Y − F₀)`` of outputs along each eigendirection.

    For a spectral filter g (zero or any initialisation), ``c_k = g(λ_k)`` exactly. Directions on which the
    targets have no component (``|u_kᵀ(Y − F₀)| ≤ 1e-12·‖Y − F₀‖``) have undefined progress and give NaN.

    Args:
        spectrum: the training kernel's :class:Spectrum.
        outputs: ``(n,)`` or ``(..., n, C)`` model outputs on the training points (leading trajectory axes ok).
        targets: ``(n,)`` or ``(n, C)`` targets Y.
        initial: optional ``(n,)`` or ``(n, C)`` initial outputs F₀ (default 0).
        aggregate: how output columns combine: ``"projection"`` (default) the least-squares scalar
            ``⟨u_kᵀF, u_kᵀY⟩ / ‖u_kᵀY‖²``; ``"norm"`` the ratio ``‖u_kᵀF‖ / ‖u_kᵀY‖`` (sign lost);
            ``"none"`` per column, shape ``(..., n, C)``.

    Returns:
        ``(..., n)`` progress per direction (``(..., n, C)`` for ``aggregate="none"``).
    """
    out_coords, target_coords = _centred_coordinates(spectrum, outputs, targets, initial)
    floor = 1e-12 * max(float(np.linalg.norm(target_coords)), np.finfo(np.float64).tiny)
    check_choice(aggregate, "aggregate", ("projection", "norm", "none"))
    if aggregate == "none":
        denominator = target_coords
        safe = np.abs(denominator) > floor
        return np.where(safe, out_coords / np.where(safe, denominator, 1.0), np.nan)
    energy = np.sum(target_coords**2, axis=-1)
    safe = np.sqrt(energy) > floor
    if aggregate == "projection":
        numerator = np.sum(out_coords * target_coords, axis=-1)
        return np.where(safe, numerator / np.where(safe, energy, 1.0), np.nan)
    numerator = np.sqrt(np.sum(out_coords**2, axis=-1))  # aggregate == "norm"
    return np.where(safe, numerator / np.sqrt(np.where(safe, energy, 1.0)), np.nan)


def group_progress(spectrum: Spectrum, outputs, targets, directions, initial=None) -> np.ndarray:
    """Progress over a group of directions, weighted by the targets' energy in each.

        c_G = Σ_{k∈G} ⟨u_kᵀ(F − F₀), u_kᵀ(Y − F₀)⟩ / Σ_{k∈G} ‖u_kᵀ(Y − F₀)‖²

    This is the projection progress of the outputs' component in span{u_k : k ∈ G}; it stays finite when a
    single direction carries no target energy. For a spectral filter it is the energy-weighted mean of g(λ_k).

    Args:
        spectrum: the training kernel's :class:Spectrum.
        outputs: ``(n,)`` or ``(..., n, C)``.
        targets: ``(n,)`` or ``(n, C)``.
        directions: indices (or a boolean mask of length n) of the eigendirections in the group.
        initial: optional initial outputs F₀.

    Returns:
        ``(...)`` progress of the group (a float for un-batched outputs).
    """
    out_coords, target_coords = _centred_coordinates(spectrum, outputs, targets, initial)
    index = np.arange(spectrum.eigenvalues.size)[np.asarray(directions)]
    if index.size == 0:
        raise ValueError("directions selects no eigendirection.")
    numerator = np.sum(out_coords[..., index, :] * target_coords[..., index, :], axis=(-2, -1))
    energy = np.sum(target_coords[..., index, :] ** 2, axis=(-2, -1))
    if np.any(energy <= 0.0):
        raise ValueError("the targets have no component in the selected directions; progress is undefined.")
    return numerator / energy
