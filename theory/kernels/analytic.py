"""Closed-form kernels: linear, RBF, and the infinite-width ReLU network NNGP and NTK.

Every kernel takes inputs ``x1 (n1, d)`` and ``x2 (n2, d)`` (``x2=None`` means ``x1``) and returns the
Gram matrix ``(n1, n2)`` as a float64 numpy array, symmetric positive semi-definite when ``x2`` is None.
Their random-feature approximations are in :mod:`theory.kernels.features`, the finite-width NTK of a
network in :mod:`theory.kernels.empirical`. See docs/maths.md §2 for the conventions (K = ΦΦᵀ).
"""
from __future__ import annotations

import math

import numpy as np

from .._checks import check_integer, check_nonnegative, check_positive

from ._inputs import kernel_inputs

__all__ = ["linear", "rbf", "relu_nngp", "relu_ntk"]


# ---------------------------------------------------------------------------------------------------
# simple kernels


def linear(x1, x2=None) -> np.ndarray:
    """Linear (dot-product) kernel k(x, x′) = x·x′.

    Example:
        >>> linear([[1.0, 2.0]], [[3.0, 4.0]])
        array([[11.]])

    Args:
        x1: inputs ``(n1, d)``.
        x2: inputs ``(n2, d)``; None means ``x1``.

    Returns:
        ``(n1, n2)`` float64 array ``x1 @ x2.T``.

    Raises:
        ValueError: on non-2-D, mismatched or non-finite inputs.
    """
    a, b = kernel_inputs(x1, x2)
    gram = a @ b.T
    return _symmetrise(gram) if x2 is None else gram


def rbf(x1, x2=None, *, lengthscale: float) -> np.ndarray:
    """Gaussian (RBF) kernel k(x, x′) = exp(−‖x − x′‖² / (2ℓ²)).

    The squared distance is computed as ‖a‖² + ‖b‖² − 2a·b after centring both sets on the mean of
    ``x1`` (the kernel is translation invariant and centring limits the cancellation for inputs far
    from the origin), then clipped at 0 because rounding can make it slightly negative.

    Example:
        >>> rbf([[0.0], [1.0]], lengthscale=1.0).round(4)
        array([[1.    , 0.6065],
               [0.6065, 1.    ]])

    Args:
        x1: inputs ``(n1, d)``.
        x2: inputs ``(n2, d)``; None means ``x1``.
        lengthscale: ℓ > 0.

    Returns:
        ``(n1, n2)`` float64 Gram matrix with entries in (0, 1], unit diagonal when ``x2`` is None.

    Raises:
        ValueError: on bad inputs or a non-positive lengthscale.
    """
    lengthscale = check_positive(lengthscale, "lengthscale")
    a, b = kernel_inputs(x1, x2)
    centre = a.mean(axis=0) if a.shape[0] else 0.0
    a, b = a - centre, b - centre
    sq_dist = np.sum(a * a, axis=1)[:, None] + np.sum(b * b, axis=1)[None, :] - 2.0 * (a @ b.T)
    sq_dist = np.maximum(sq_dist, 0.0)  # rounding can give tiny negative distances
    if x2 is None:
        np.fill_diagonal(sq_dist, 0.0)
        sq_dist = _symmetrise(sq_dist)
    return np.exp(-sq_dist / (2.0 * lengthscale**2))


# ---------------------------------------------------------------------------------------------------
# infinite-width ReLU networks


def relu_nngp(x1, x2=None, *, depth: int, weight_std: float = 1.0, bias_std: float = 0.0) -> np.ndarray:
    """NNGP kernel Σ of an infinitely wide fully connected ReLU network (read-out included).

    The network has ``depth`` hidden ReLU layers and ``depth + 1`` dense layers, all with the same σ_w
    (``weight_std``) and σ_b (``bias_std``); with d the input dimension the recursion is

        Σ¹(x, x′) = σ_w² x·x′/d + σ_b²,
        per hidden layer, with cos θ = Σ(x, x′)/√(Σ(x, x) Σ(x′, x′)):
        Σ(x, x′) ← σ_w² √(Σ(x, x) Σ(x′, x′)) (sin θ + (π − θ) cos θ)/(2π) + σ_b²,
        Σ(x, x) ← σ_w² Σ(x, x)/2 + σ_b².

    These are the values of neural-tangents' ``stax.serial(Dense(W_std=σ_w, b_std=σ_b), Relu(), …,
    Dense(W_std=σ_w, b_std=σ_b))`` kernel ``nngp``; the ReLU step is the degree-1 arc-cosine kernel
    (Cho & Saul 2009). Reference: Lee et al. (2018), "Deep neural networks as Gaussian processes".

    Example:
        >>> relu_nngp([[1.0, 0.0], [0.0, 1.0]], depth=1).round(4)
        array([[0.25  , 0.0796],
               [0.0796, 0.25  ]])

    Args:
        x1: inputs ``(n1, d)``.
        x2: inputs ``(n2, d)``; None means ``x1``.
        depth: number of hidden layers, >= 1.
        weight_std: σ_w >= 0.
        bias_std: σ_b >= 0.

    Returns:
        ``(n1, n2)`` float64 kernel of one output unit.

    Raises:
        ValueError: on bad inputs, ``depth < 1`` or a negative standard deviation.
    """
    return _relu_kernels(x1, x2, depth, weight_std, bias_std, with_ntk=False)[0]


def relu_ntk(x1, x2=None, *, depth: int, weight_std: float = 1.0, bias_std: float = 0.0) -> np.ndarray:
    """Neural tangent kernel Θ of an infinitely wide ReLU network in the NTK parameterisation.

    Same network as :func:`relu_nngp`. Recursion (Jacot et al. 2018; Arora et al. 2019), with Σ
    updated as in :func:`relu_nngp` and θ the angle computed from the Σ *before* the update:

        Θ¹ = Σ¹,
        per hidden layer:  Θ ← Σ_new + σ_w² (π − θ)/(2π) · Θ,

    where (π − θ)/(2π) = E[ReLU′(u) ReLU′(v)] is the degree-0 arc-cosine kernel. These are the values of
    neural-tangents' ``stax.serial(Dense(W_std=σ_w, b_std=σ_b), Relu(), …, Dense(...))`` kernel ``ntk``
    (per output unit; the NTK of a C-output network is this times the C × C identity), and the limit of
    ``theory.kernels.empirical_ntk`` for ``theory.kernels.ntk_mlp`` as the width grows.

    Example:
        >>> relu_ntk([[1.0, 0.0], [0.0, 1.0]], depth=1).round(4)
        array([[0.5   , 0.0796],
               [0.0796, 0.5   ]])

    Args:
        x1: inputs ``(n1, d)``.
        x2: inputs ``(n2, d)``; None means ``x1``.
        depth: number of hidden layers, >= 1.
        weight_std: σ_w >= 0.
        bias_std: σ_b >= 0.

    Returns:
        ``(n1, n2)`` float64 kernel of one output unit.

    Raises:
        ValueError: on bad inputs, ``depth < 1`` or a negative standard deviation.
    """
    return _relu_kernels(x1, x2, depth, weight_std, bias_std, with_ntk=True)[1]


def _relu_kernels(x1, x2, depth, weight_std, bias_std, *, with_ntk: bool):
    """Run the NNGP (and optionally NTK) recursion; returns ``(nngp, ntk or None)``.

    Numerics: θ = arccos(cos θ) is ill-conditioned near θ = 0 (an error ε in cos θ gives √(2ε) in θ,
    i.e. 1e-8 from rounding alone), and the NTK depends on θ linearly through (π − θ)/(2π); for
    (near-)parallel inputs the textbook recursion loses half the digits and the Gram matrix gets
    negative eigenvalues of order 1e-9·λ_max. So alongside Σ we carry u = 1 − cos θ ∈ [0, 2] computed
    without cancellation: from direct differences of normalised inputs at the first layer, and through
    each layer by the cancellation-free update of :func:`_next_one_minus_cosine`; then
    θ = 2 arcsin(√(u/2)) and sin θ = √(u (2 − u)).
    """
    depth = check_integer(depth, "depth", minimum=1)
    w_var = check_nonnegative(weight_std, "weight_std") ** 2
    b_var = check_nonnegative(bias_std, "bias_std") ** 2
    a, b = kernel_inputs(x1, x2)
    same = x2 is None
    dim = a.shape[1]
    if dim == 0:
        raise ValueError("x1 must have at least one feature (d >= 1)")
    # Σ¹ as the Gram matrix of the augmented inputs x̃ = (σ_w x/√d, σ_b).
    aug1 = np.concatenate([math.sqrt(w_var / dim) * a, np.full((len(a), 1), math.sqrt(b_var))], axis=1)
    aug2 = aug1 if same else np.concatenate(
        [math.sqrt(w_var / dim) * b, np.full((len(b), 1), math.sqrt(b_var))], axis=1
    )
    sigma = aug1 @ aug2.T
    diag1, diag2 = np.sum(aug1 * aug1, axis=1), np.sum(aug2 * aug2, axis=1)
    one_minus_cos = _one_minus_cosine(aug1, aug2)
    theta_ntk = sigma.copy() if with_ntk else None
    for _ in range(depth):
        norms = np.sqrt(np.outer(diag1, diag2))
        # Rounding can push u = 1 − cos θ slightly outside [0, 2] (|cos θ| > 1), where arcsin and sqrt
        # return NaN: clip, which is clipping the cosine to [−1, 1].
        one_minus_cos = np.clip(one_minus_cos, 0.0, 2.0)
        angle = 2.0 * np.arcsin(np.sqrt(one_minus_cos / 2.0))
        cosine, sine = 1.0 - one_minus_cos, np.sqrt(one_minus_cos * (2.0 - one_minus_cos))
        sigma = w_var * norms * (sine + (np.pi - angle) * cosine) / (2 * np.pi) + b_var
        if with_ntk:
            theta_ntk = sigma + w_var * (np.pi - angle) / (2 * np.pi) * theta_ntk
        one_minus_cos = _next_one_minus_cosine(one_minus_cos, angle, diag1, diag2, w_var, b_var)
        diag1, diag2 = w_var * diag1 / 2 + b_var, w_var * diag2 / 2 + b_var
    if same:
        sigma = _symmetrise(sigma)
        theta_ntk = _symmetrise(theta_ntk) if with_ntk else None
    return sigma, theta_ntk


def _one_minus_cosine(aug1: np.ndarray, aug2: np.ndarray, threshold: float = 1e-4) -> np.ndarray:
    """u = 1 − cos θ = ‖x̂ − ŷ‖²/2 between the rows of two matrices (x̂ = x/‖x‖; 0 for a zero row).

    Computed as 1 − x̂·ŷ by one matrix product, then recomputed from explicit differences where
    u < ``threshold`` (near-parallel pairs, where 1 − x̂·ŷ cancels). A zero-norm input (x = 0 with
    σ_b = 0) has Σ(x, ·) = 0, so its angle multiplies only zeros: any u works and we get u = 1.
    """
    unit1, unit2 = _unit_rows(aug1), _unit_rows(aug2)
    one_minus_cos = 1.0 - unit1 @ unit2.T
    rows, cols = np.nonzero(one_minus_cos < threshold)
    chunk = max(1, 2**22 // unit1.shape[1])  # bound the (pairs, d) difference array
    for start in range(0, len(rows), chunk):
        r, c = rows[start:start + chunk], cols[start:start + chunk]
        one_minus_cos[r, c] = 0.5 * np.sum((unit1[r] - unit2[c]) ** 2, axis=1)
    return one_minus_cos


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)  # 0 also for rows that underflow (1e-300)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


def _next_one_minus_cosine(one_minus_cos, angle, diag1, diag2, w_var, b_var):
    """u′ = 1 − cos θ′ after one ReLU + dense layer, as a sum of non-negative terms.

    With a = Σ(x, x), c = Σ(x′, x′), r = √(ac), J(θ) = sin θ + (π − θ) cos θ, A = σ_w² a/2 + σ_b² and
    C = σ_w² c/2 + σ_b², the new kernel is N = σ_w² r J/(2π) + σ_b² and cos θ′ = N/√(AC). Using
    AC − (σ_w² r/2 + σ_b²)² = σ_w² σ_b² (√a − √c)²/2 and π − J = π u − (sin θ − θ cos θ):

        u′ = [σ_w² σ_b² (√a − √c)² / (2(√(AC) + σ_w² r/2 + σ_b²)) + σ_w² r (π − J)/(2π)] / √(AC),

    where π u ≥ π − J ≥ π u / 2, and sin θ − θ cos θ uses its Taylor series for θ < 0.1.
    """
    root1, root2 = np.sqrt(diag1), np.sqrt(diag2)
    r = np.outer(root1, root2)
    norm_gap = np.subtract.outer(root1, root2) ** 2  # (√a − √c)², no cancellation issue for a ≈ c
    new_norms = np.sqrt(np.outer(w_var * diag1 / 2 + b_var, w_var * diag2 / 2 + b_var))
    small = angle < 0.1
    t = np.where(small, angle, 0.0)
    series = t**3 / 3 - t**5 / 30 + t**7 / 840 - t**9 / 45360
    sin_minus = np.where(small, series, np.sin(angle) - angle * np.cos(angle))
    pi_minus_j = np.pi * one_minus_cos - sin_minus
    # (+1 only where √(AC) = 0, to avoid 0/0 in an entry that the final division replaces anyway)
    numerator = w_var * b_var * norm_gap / (2 * (new_norms + w_var * r / 2 + b_var) + (new_norms == 0))
    numerator += w_var * r * pi_minus_j / (2 * np.pi)
    return np.divide(numerator, new_norms, out=np.ones_like(numerator), where=new_norms > 0)


def _symmetrise(matrix: np.ndarray) -> np.ndarray:
    return 0.5 * (matrix + matrix.T)
