"""Random features: maps φ with φ(x)·φ(x′) an unbiased estimate of a closed-form kernel.

``relu_feature_map`` / ``relu_random_features`` approximate :func:`theory.kernels.relu_nngp` at depth 1,
``fourier_feature_map`` / ``random_fourier_features`` approximate :func:`theory.kernels.rbf`. A map holds its
random draws (fixed by ``seed``), so train and test inputs go through the same map. Features are
``phi (n, num_features)`` float64 arrays with ``phi @ phi.T`` → the kernel as ``num_features`` grows
(docs/maths.md §2: K = ΦΦᵀ).
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .._checks import as_matrix, check_integer, check_nonnegative, check_positive, check_seed

from ._inputs import map_inputs

__all__ = ["relu_feature_map", "relu_random_features", "fourier_feature_map", "random_fourier_features"]


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
    input_dim = check_integer(input_dim, "input_dim", minimum=1)
    weight_std = check_nonnegative(weight_std, "weight_std")
    bias_std = check_nonnegative(bias_std, "bias_std")
    num_features = check_integer(num_features, "num_features", minimum=2 if bias_std > 0 else 1)
    num_random = num_features - 1 if bias_std > 0 else num_features
    rng = np.random.default_rng(check_seed(seed))
    weights = rng.standard_normal((input_dim, num_random))
    biases = rng.standard_normal(num_random)

    def phi(x) -> np.ndarray:
        x = map_inputs(x, input_dim)
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
    x = as_matrix(x, "x")
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
    input_dim = check_integer(input_dim, "input_dim", minimum=1)
    num_features = check_integer(num_features, "num_features", minimum=1)
    lengthscale = check_positive(lengthscale, "lengthscale")
    rng = np.random.default_rng(check_seed(seed))
    frequencies = rng.standard_normal((input_dim, num_features)) / lengthscale
    phases = rng.uniform(0.0, 2.0 * np.pi, size=num_features)

    def phi(x) -> np.ndarray:
        x = map_inputs(x, input_dim)
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
    x = as_matrix(x, "x")
    phi = fourier_feature_map(x.shape[1], num_features=num_features, lengthscale=lengthscale, seed=seed)
    return phi(x)
