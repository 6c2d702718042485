"""Closed-form kernels and random features: linear, RBF, infinite-width ReLU NNGP / NTK.

Every kernel takes inputs ``x1 (n1, d)`` and ``x2 (n2, d)`` (``x2=None`` means ``x1``) and returns the
Gram matrix ``(n1, n2)`` as a float64 numpy array, symmetric positive semi-definite when ``x2`` is None.
Random features return ``phi (n, num_features)`` with ``phi @ phi.T`` converging to the matching kernel
as ``num_features`` grows. The finite-width counterpart (empirical NTK of a network, and an MLP whose
infinite-width limit is :func:`relu_ntk`) lives in ``theory.ntk_mlp``. See SCIENCE.md §2 for the
conventions (K = ΦΦᵀ).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Integral

import numpy as np

__all__ = [
    "linear",
    "rbf",
    "relu_nngp",
    "relu_ntk",
    "relu_feature_map",
    "relu_random_features",
    "fourier_feature_map",
    "random_fourier_features",
]


# ---------------------------------------------------------------------------------------------------
# validation helpers (shared with theory.ntk_mlp)


def _check_inputs(x1, x2=None, *, name1: str = "x1", name2: str = "x2") -> tuple[np.ndarray, np.ndarray]:
    """Validate ``x1 (n1, d)`` / ``x2 (n2, d)`` and return them as finite float64 arrays.

    Raises:
        ValueError: if an input is not 2-D, the feature dimensions differ, or an entry is NaN/inf.
    """
    x1 = _as_matrix(x1, name1)
    if x2 is None:
        return x1, x1
    x2 = _as_matrix(x2, name2)
    if x1.shape[1] != x2.shape[1]:
        raise ValueError(
            f"{name1} and {name2} must have the same feature dimension d, got {name1}.shape={x1.shape} "
            f"and {name2}.shape={x2.shape}"
        )
    return x1, x2


def _as_matrix(x, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array of shape (n, d), got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or inf entries; kernels need finite inputs")
    return x


def _check_nonnegative(value: float, name: str) -> float:
    if not (np.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _check_positive(value: float, name: str) -> float:
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def _check_count(value: int, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


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
    a, b = _check_inputs(x1, x2)
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
    lengthscale = _check_positive(lengthscale, "lengthscale")
    a, b = _check_inputs(x1, x2)
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
    ``theory.ntk_mlp.empirical_ntk`` for ``theory.ntk_mlp.ntk_mlp`` as the width grows.

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
    depth = _check_count(depth, "depth")
    w_var = _check_nonnegative(weight_std, "weight_std") ** 2
    b_var = _check_nonnegative(bias_std, "bias_std") ** 2
    a, b = _check_inputs(x1, x2)
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


# ---------------------------------------------------------------------------------------------------
# random features


def relu_feature_map(
    input_dim: int, *, num_features: int, seed: int, weight_std: float = 1.0, bias_std: float = 0.0
) -> Callable[[np.ndarray], np.ndarray]:
    """Random ReLU feature map φ with φ(x)·φ(x′) → ``relu_nngp(x, x′, depth=1)`` (unbiased).

    φ is the last hidden layer of a width-m one-hidden-layer network in the NTK parameterisation,
    scaled by its read-out weight: with w_j ~ N(0, I_d), b_j ~ N(0, 1) drawn once from ``seed``,

        φ_j(x) = σ_w/√m · ReLU(σ_w w_j·x/√d + σ_b b_j),   j = 1..m,

    so E[φ(x)·φ(x′)] = σ_w² E[ReLU(u) ReLU(v)] with (u, v) ~ N(0, Σ¹), the first term of the depth-1
    NNGP. When σ_b > 0 the read-out bias contributes the constant σ_b²: the **last** column is then the
    constant σ_b and m = num_features − 1 random columns are used (ΦΦᵀ is then exactly unbiased).
    Reference: Cho & Saul (2009); Rahimi & Recht (2007).

    The map holds its draws, so train and test inputs must go through the *same* map (or the same
    seed): ``phi = relu_feature_map(d, num_features=m, seed=0); phi(x_train), phi(x_test)``.

    Example:
        >>> phi = relu_feature_map(3, num_features=100, seed=0)
        >>> phi(np.ones((2, 3))).shape
        (2, 100)

    Args:
        input_dim: d >= 1.
        num_features: number of columns of Φ; >= 1 (>= 2 when ``bias_std > 0``).
        seed: integer seed of the numpy Generator; the same seed gives the same map.
        weight_std: σ_w >= 0.
        bias_std: σ_b >= 0.

    Returns:
        ``phi(x (n, input_dim)) -> (n, num_features)`` float64 features.

    Raises:
        ValueError: on bad sizes, negative standard deviations, or (from ``phi``) bad inputs.
    """
    input_dim = _check_count(input_dim, "input_dim")
    weight_std = _check_nonnegative(weight_std, "weight_std")
    bias_std = _check_nonnegative(bias_std, "bias_std")
    num_features = _check_count(num_features, "num_features", minimum=2 if bias_std > 0 else 1)
    num_random = num_features - 1 if bias_std > 0 else num_features
    rng = np.random.default_rng(_check_count(seed, "seed", minimum=0))
    weights = rng.standard_normal((input_dim, num_random))
    biases = rng.standard_normal(num_random)

    def phi(x) -> np.ndarray:
        x = _check_dim(_as_matrix(x, "x"), input_dim)
        pre_activation = weight_std * (x @ weights) / math.sqrt(input_dim) + bias_std * biases
        features = weight_std / math.sqrt(num_random) * np.maximum(pre_activation, 0.0)
        if bias_std > 0:
            features = np.concatenate([features, np.full((x.shape[0], 1), bias_std)], axis=1)
        return features

    return phi


def relu_random_features(
    x, *, num_features: int, seed: int, weight_std: float = 1.0, bias_std: float = 0.0
) -> np.ndarray:
    """Random ReLU features ``relu_feature_map(x.shape[1], ...)(x)``; see :func:`relu_feature_map`.

    Use the same ``seed`` for train and test inputs so both get the same map.

    Example:
        >>> x = np.ones((2, 3))
        >>> np.array_equal(relu_random_features(x, num_features=8, seed=1),
        ...                relu_random_features(x, num_features=8, seed=1))
        True

    Args:
        x: inputs ``(n, d)``.
        num_features, seed, weight_std, bias_std: as in :func:`relu_feature_map`.

    Returns:
        ``(n, num_features)`` float64 features Φ with ΦΦᵀ → ``relu_nngp(x, depth=1, ...)``.

    Raises:
        ValueError: as :func:`relu_feature_map`.
    """
    x = _as_matrix(x, "x")
    phi = relu_feature_map(
        x.shape[1], num_features=num_features, seed=seed, weight_std=weight_std, bias_std=bias_std
    )
    return phi(x)


def fourier_feature_map(
    input_dim: int, *, num_features: int, lengthscale: float, seed: int
) -> Callable[[np.ndarray], np.ndarray]:
    """Random Fourier feature map φ with φ(x)·φ(x′) → ``rbf(x, x′, lengthscale=ℓ)`` (unbiased).

    By Bochner's theorem exp(−‖δ‖²/(2ℓ²)) = E_ω[cos(ω·δ/ℓ)] with ω ~ N(0, I_d); with a random phase
    β ~ U[0, 2π) (Rahimi & Recht 2007),

        φ_j(x) = √(2/m) cos(ω_j·x/ℓ + β_j),   j = 1..m,   E[φ(x)·φ(x′)] = k(x, x′).

    Pass train and test inputs through the same map (or the same seed).

    Example:
        >>> phi = fourier_feature_map(3, num_features=50, lengthscale=1.0, seed=0)
        >>> phi(np.zeros((4, 3))).shape
        (4, 50)

    Args:
        input_dim: d >= 1.
        num_features: m >= 1.
        lengthscale: ℓ > 0.
        seed: integer seed of the numpy Generator; the same seed gives the same map.

    Returns:
        ``phi(x (n, input_dim)) -> (n, num_features)`` float64 features.

    Raises:
        ValueError: on bad sizes, a non-positive lengthscale, or (from ``phi``) bad inputs.
    """
    input_dim = _check_count(input_dim, "input_dim")
    num_features = _check_count(num_features, "num_features")
    lengthscale = _check_positive(lengthscale, "lengthscale")
    rng = np.random.default_rng(_check_count(seed, "seed", minimum=0))
    frequencies = rng.standard_normal((input_dim, num_features)) / lengthscale
    phases = rng.uniform(0.0, 2.0 * np.pi, size=num_features)

    def phi(x) -> np.ndarray:
        x = _check_dim(_as_matrix(x, "x"), input_dim)
        return math.sqrt(2.0 / num_features) * np.cos(x @ frequencies + phases)

    return phi


def random_fourier_features(x, *, num_features: int, lengthscale: float, seed: int) -> np.ndarray:
    """Random Fourier features ``fourier_feature_map(x.shape[1], ...)(x)``; see :func:`fourier_feature_map`.

    Example:
        >>> random_fourier_features(np.zeros((2, 3)), num_features=10, lengthscale=1.0, seed=0).shape
        (2, 10)

    Args:
        x: inputs ``(n, d)``.
        num_features, lengthscale, seed: as in :func:`fourier_feature_map`.

    Returns:
        ``(n, num_features)`` float64 features Φ with ΦΦᵀ → ``rbf(x, lengthscale=lengthscale)``.

    Raises:
        ValueError: as :func:`fourier_feature_map`.
    """
    x = _as_matrix(x, "x")
    phi = fourier_feature_map(x.shape[1], num_features=num_features, lengthscale=lengthscale, seed=seed)
    return phi(x)


def _check_dim(x: np.ndarray, input_dim: int) -> np.ndarray:
    if x.shape[1] != input_dim:
        raise ValueError(f"x must have {input_dim} features (the map's input_dim), got shape {x.shape}")
    return x
