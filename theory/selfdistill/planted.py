"""A planted regression model and the exact excess risk of any filter (any distillation chain) in it.

Fixed design (docs/selfdistill.md §1): training labels Y = f* + ε on n points with ε ~ N(0, σ² I), a training
kernel K = U diag(λ) Uᵀ, and a *readout* — the evaluation points' kernel K_* = ``k_train_test`` (n, m), their
true values f*_test and a weight w. A filter G (for a chain, G_r of :func:`theory.distill.chain_filters`)
predicts F_test = K_*ᵀ U diag(G(λ)/λ) Uᵀ Y (docs/maths.md §3), so with r = G/λ, z = Uᵀf* and T = K_*ᵀU (m, n)
the excess risk w·E‖F_test − f*_test‖² splits exactly into

    bias     = w ‖T (r ⊙ z) − f*_test‖²,
    variance = w σ² Σ_k r_k² ‖T e_k‖²        (the label noise in eigen-coordinates, Uᵀε, is N(0, σ² I)).

Three readouts, one formula:

* in-sample (fixed design, the risk of Das & Sanghavi and of Pareek, Du & Oh): K_* = K, f*_test = f*, w = 1/n,
  so that bias = (1/n) Σ_k (1 − G_k)² z_k², variance = (σ²/n) Σ_k G_k²;
* a held-out set: K_* and f*_test of m test points, w = 1/m;
* a linear model's population risk (β̂ − β*)ᵀ Σ (β̂ − β*): K_* = Φ Σ^{1/2}, f*_test = Σ^{1/2} β*, w = 1, since
  gradient descent and ridge give β̂ = Φᵀ U diag(G/λ) Uᵀ Y.

:func:`monte_carlo_risk` estimates the same risk by training the chain (:func:`theory.chain`) on noisy labels.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._checks import as_array, as_matrix, as_rng, check_integer, check_nonnegative, check_positive
from ..distill import chain, chain_filters
from ..filters import Filter
from ..spectral import Spectrum

__all__ = ["PlantedModel", "Risk", "MonteCarloRisk", "risk", "risk_of_ratio", "chain_risk", "monte_carlo_risk"]


@dataclass(frozen=True, repr=False, eq=False)
class PlantedModel:
    """Fixed-design regression with a planted target and Gaussian label noise; build it with a ``from_*``.

    Attributes:
        spectrum: the training kernel's :class:`~theory.spectral.Spectrum` (n points).
        f_train: ``(n,)`` true values f* on the training points (the labels are f* + ε).
        noise_variance: σ² ≥ 0 of the label noise ε ~ N(0, σ² I).
        k_train_test: ``(n, m)`` kernel between training and evaluation points (the readout).
        f_test: ``(m,)`` true values on the evaluation points.
        weight: w > 0, the risk is w·E‖F_test − f_test‖² (1/m for a mean over points).
        readout: ``"in-sample"``, ``"held-out"`` or ``"population"`` (a name for reports).
        signal: ``(n,)`` z = Uᵀ f* (derived).
        basis: ``(m, n)`` T = K_*ᵀ U (derived).
    """

    spectrum: Spectrum
    f_train: np.ndarray
    noise_variance: float
    k_train_test: np.ndarray
    f_test: np.ndarray
    weight: float
    readout: str = "held-out"
    signal: np.ndarray = field(init=False)
    basis: np.ndarray = field(init=False)

    def __post_init__(self):
        if not isinstance(self.spectrum, Spectrum):
            raise TypeError(f"spectrum must be a theory.Spectrum, got {type(self.spectrum).__name__}.")
        n = self.spectrum.n
        f_train = as_array(self.f_train, "f_train", shape=(n,), what="one value per training point")
        cross = as_matrix(self.k_train_test, "k_train_test", shape=(n, None), what=f"n = {n} training points")
        f_test = as_array(self.f_test, "f_test", shape=(cross.shape[1],), what="one per column of k_train_test")
        object.__setattr__(self, "f_train", f_train)
        object.__setattr__(self, "k_train_test", cross)
        object.__setattr__(self, "f_test", f_test)
        object.__setattr__(self, "noise_variance", check_nonnegative(self.noise_variance, "noise_variance"))
        object.__setattr__(self, "weight", check_positive(self.weight, "weight"))
        object.__setattr__(self, "signal", self.spectrum.coordinates(f_train))
        object.__setattr__(self, "basis", cross.T @ self.spectrum.eigenvectors)

    # --------------------------------------------------------------------------------------- builders
    @classmethod
    def from_kernel(cls, k_train_train, f_train, noise_variance, *, k_train_test=None, f_test=None):
        """A kernel model: risk on held-out points (``k_train_test`` (n, m), ``f_test`` (m,)), or in-sample
        (the training points themselves, w = 1/n) when both are None."""
        spectrum = Spectrum.from_kernel(k_train_train)
        if (k_train_test is None) != (f_test is None):
            raise ValueError("pass both k_train_test and f_test (a held-out readout) or neither (in-sample).")
        if k_train_test is None:
            return cls._in_sample(spectrum, f_train, noise_variance)
        m = np.shape(k_train_test)[1] if np.ndim(k_train_test) == 2 else 0
        return cls(spectrum, f_train, noise_variance, k_train_test, f_test, 1.0 / max(m, 1), "held-out")

    @classmethod
    def from_features(cls, features, beta, noise_variance, *, covariance=None):
        """A linear model f*(x) = φ(x)ᵀβ* on features Φ (n, p): the population risk (β̂ − β*)ᵀΣ(β̂ − β*) for a
        ``covariance`` Σ (p, p), or the in-sample risk (Σ = ΦᵀΦ/n) when None."""
        phi = as_matrix(features, "features")
        beta = as_array(beta, "beta", shape=(phi.shape[1],), what="one coefficient per feature")
        spectrum = Spectrum.from_features(phi)
        if covariance is None:
            return cls._in_sample(spectrum, phi @ beta, noise_variance)
        root = _square_root(covariance, phi.shape[1])
        return cls(spectrum, phi @ beta, noise_variance, phi @ root, root @ beta, 1.0, "population")

    @classmethod
    def from_spectrum(cls, eigenvalues, signal, noise_variance):
        """A diagonal design K = diag(λ) (U = I) with signal z = f* in eigen-coordinates; in-sample risk
        (1/n)Σ_k [(1 − G_k)² z_k² + σ² G_k²]. The pairs (λ_k, z_k) are sorted by descending λ (the Spectrum
        convention)."""
        eigenvalues = as_array(eigenvalues, "eigenvalues", ndim=1)
        if eigenvalues.size == 0 or np.any(eigenvalues < 0):
            raise ValueError("eigenvalues must be a non-empty array of values >= 0 (a PSD kernel).")
        signal = as_array(signal, "signal", shape=eigenvalues.shape, what="one per eigenvalue")
        order = np.argsort(-eigenvalues, kind="stable")
        eigenvalues, signal = eigenvalues[order], signal[order]
        spectrum = Spectrum(eigenvalues=eigenvalues, eigenvectors=np.eye(eigenvalues.size))
        return cls._in_sample(spectrum, signal, noise_variance)

    @classmethod
    def _in_sample(cls, spectrum, f_train, noise_variance):
        kernel = (spectrum.eigenvectors * spectrum.eigenvalues) @ spectrum.eigenvectors.T
        return cls(spectrum, f_train, noise_variance, kernel, f_train, 1.0 / spectrum.n, "in-sample")

    def with_noise(self, noise_variance) -> "PlantedModel":
        """The same design and target with another label-noise variance σ²."""
        return PlantedModel(self.spectrum, self.f_train, noise_variance, self.k_train_test, self.f_test,
                            self.weight, self.readout)

    @property
    def column_norms(self) -> np.ndarray:
        """``(n,)`` ‖T e_k‖²: how much label noise in direction k reaches the readout per unit r_k²."""
        return np.sum(self.basis**2, axis=0)

    def __repr__(self):
        return (f"PlantedModel(n={self.spectrum.n}, m={self.f_test.size}, readout={self.readout!r}, "
                f"noise_variance={self.noise_variance:g})")


def _square_root(covariance, p: int) -> np.ndarray:
    """Σ^{1/2} of a PSD ``covariance`` (p, p), through the toolkit's one eigendecomposition (Spectrum)."""
    covariance = as_matrix(covariance, "covariance", shape=(p, p), what="one row per feature")
    spectrum = Spectrum.from_kernel(covariance)
    return (spectrum.eigenvectors * np.sqrt(spectrum.eigenvalues)) @ spectrum.eigenvectors.T


@dataclass(frozen=True)
class Risk:
    """Exact expected excess risk over label-noise draws, ``bias + variance`` (arrays of the filter's batch
    shape S, floats for a scalar filter)."""

    bias: np.ndarray | float
    variance: np.ndarray | float

    @property
    def total(self):
        """bias + variance."""
        return self.bias + self.variance


def risk(model: PlantedModel, filter: Filter) -> Risk:
    """The exact excess risk of the model trained by ``filter`` on the labels (docs/selfdistill.md §1).

    Example:
        >>> import numpy as np, theory as th
        >>> model = th.selfdistill.PlantedModel.from_spectrum([4.0, 1.0], [2.0, 1.0], noise_variance=0.5)
        >>> r = th.selfdistill.risk(model, th.ridge(1.0))  # G = (0.8, 0.5)
        >>> float(r.bias), float(r.variance)  # ((0.2·2)² + (0.5·1)²)/2, 0.5·(0.8² + 0.5²)/2
        (0.205, 0.2225)

    Args:
        model: a :class:`PlantedModel`.
        filter: a trained-model filter of batch shape S (a chain: ``chain_filters(...)[-1]``).

    Returns:
        :class:`Risk` with ``bias`` and ``variance`` of shape S.
    """
    if not isinstance(filter, Filter) or not filter.trains:
        raise TypeError(f"filter must be a trained-model filter (th.gd, th.ridge, a chain), got {filter!r}.")
    return risk_of_ratio(model, filter.over_eigenvalue(model.spectrum.eigenvalues))


def risk_of_ratio(model: PlantedModel, ratio) -> Risk:
    """The exact risk of the linear smoother with factors G = λ·r, given r = G/λ ``S + (n,)`` directly (for
    combinations of filters that are not one filter, e.g. the coefficient expansion of a chain)."""
    ratio = as_array(ratio, "ratio")
    mean = (ratio * model.signal) @ model.basis.T  # S + (m,)
    bias = model.weight * np.sum((mean - model.f_test) ** 2, axis=-1)
    variance = model.weight * model.noise_variance * np.sum(ratio**2 * model.column_norms, axis=-1)
    if np.ndim(bias) == 0:
        bias, variance = float(bias), float(variance)
    return Risk(bias=bias, variance=variance)


def chain_risk(model: PlantedModel, filters, teacher_weights=1.0) -> Risk:
    """The exact risk of the last round of a chain (round j trains ``filters[j]`` on (1 − ξ_j)Y + ξ_j F_{j−1})."""
    return risk(model, chain_filters(filters, teacher_weights)[-1])


@dataclass(frozen=True)
class MonteCarloRisk:
    """A Monte Carlo estimate of the excess risk: ``mean`` over ``draws`` and its ``standard_error``."""

    mean: float
    standard_error: float
    draws: int


def monte_carlo_risk(model: PlantedModel, filters, teacher_weights=1.0, *, draws: int = 2000, seed=0,
                     chunk: int = 500) -> MonteCarloRisk:
    """Estimate the excess risk of a chain by training it on ``draws`` independent noisy label vectors.

    Every draw Y = f* + ε (ε ~ N(0, σ² I)) is one output column of :func:`theory.chain`, which trains round by
    round on the actual targets (1 − ξ_j)Y + ξ_j F_{j−1}; the loss w‖F_test − f*_test‖² of the last round is
    averaged. Independent of :func:`risk` except for the eigendecomposition: an honest check of it.

    Args:
        model: a :class:`PlantedModel`.
        filters, teacher_weights: the chain, as for :func:`theory.chain`.
        draws: number of label-noise draws.
        seed: seed of the draws.
        chunk: draws trained at once (memory: ``(n + m) × chunk`` floats per round).

    Returns:
        :class:`MonteCarloRisk`.
    """
    draws = check_integer(draws, "draws", minimum=2)
    chunk = check_integer(chunk, "chunk", minimum=1)
    rng = as_rng(seed)
    sigma = np.sqrt(model.noise_variance)
    losses = []
    for start in range(0, draws, chunk):
        size = min(chunk, draws - start)
        labels = model.f_train[:, None] + sigma * rng.standard_normal((model.spectrum.n, size))
        rounds = chain(model.spectrum, labels, filters, teacher_weights=teacher_weights,
                       k_train_test=model.k_train_test)
        losses.append(model.weight * np.sum((rounds[-1].test - model.f_test[:, None]) ** 2, axis=0))
    losses = np.concatenate(losses)
    return MonteCarloRisk(mean=float(losses.mean()), standard_error=float(losses.std(ddof=1) / np.sqrt(draws)),
                          draws=draws)
