"""Where the label noise lives among the eigendirections of the training kernel (docs/maths.md §5).

With K = Σ_k λ_k u_k u_kᵀ (descending, docs/maths.md §2) and one-hot targets E = P* + ε, labels independent
across points, the noise coordinates u_kᵀε have covariance Σ_i u_ik² Σ_i (Σ_i = diag p*_i − p*_i p*_iᵀ), so
for a teacher Q

    E‖u_kᵀ(E − Q)‖² = Σ_i u_ik² (1 − ‖p*_i‖²)  +  ‖u_kᵀ(P* − Q)‖²      (label noise + teacher bias)

in target space (what a spectral filter F = g(K) Y acts on), and λ_k² times that in function space (the
kernel-GD step K(Q − E)). Since Σ_k u_ik² = 1 the noise is spread over all n directions, while a smooth p*
concentrates on the top ones. :func:`noise_per_direction` is the closed form,
:func:`monte_carlo_noise_per_direction` its Monte Carlo twin over label draws; see :class:`DirectionalNoise`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import as_matrix, as_probabilities, as_rng, check_choice, check_integer
from ..data import one_hot
from ..spectral import Spectrum
from ._common import resample_labels

__all__ = ["DirectionalNoise", "noise_per_direction", "monte_carlo_noise_per_direction"]



@dataclass(frozen=True, eq=False, repr=False)
class DirectionalNoise:
    """Label-noise energy per eigendirection of the training kernel (index 0 = top direction).

    Target space (what every spectral filter acts on, F = g(K) Y): the one-hot targets are E = P* + ε, so
    the coordinates of the noise are u_kᵀ(e_y − q), with expected energy

        E‖u_kᵀ(E − Q)‖² = Σ_i u_ik² (1 − ‖p*_i‖²)  +  ‖u_kᵀ(P* − Q)‖²      (``noise`` + ``bias``).

    Function space (the kernel-GD step K(Q − E)): coordinates λ_k u_kᵀ(q − e_y), energy λ_k² times the above.

    Attributes:
      eigenvalues: ``(n,)`` λ_k, descending.
      noise: ``(n,)`` Σ_i u_ik² (1 − ‖p*_i‖²): the zero-mean label noise a Bayes teacher removes.
      bias: ``(n,)`` ‖u_kᵀ(P* − Q)‖², the teacher's own error (zeros when the teacher is p*).
      signal: ``(n,)`` ‖u_kᵀ P*‖², the energy of the noise-free targets.
    """

    eigenvalues: np.ndarray
    noise: np.ndarray
    bias: np.ndarray
    signal: np.ndarray

    @property
    def target(self) -> np.ndarray:
        """``(n,)`` E‖u_kᵀ(E − Q)‖² = noise + bias (target space)."""
        return self.noise + self.bias

    @property
    def function(self) -> np.ndarray:
        """``(n,)`` E‖λ_k u_kᵀ(Q − E)‖² = λ_k² · target (function space, the gradient step)."""
        return self.eigenvalues**2 * self.target

    def share(self, directions, quantity: str = "noise") -> float:
        """Fraction of the total of ``quantity`` (noise, bias, signal, target, function) in ``directions``.

        Args:
          directions: a slice, integer indices or a boolean mask of length n (0 = top direction).
          quantity: ``"noise"`` (default), ``"bias"``, ``"signal"``, ``"target"`` or ``"function"``.

        Returns:
          a float in [0, 1] (NaN when the quantity is zero everywhere).
        """
        check_choice(quantity, "quantity", ("noise", "bias", "signal", "target", "function"))
        values = getattr(self, quantity)
        selected = values[directions if isinstance(directions, slice) else np.asarray(directions)]
        total = float(values.sum())
        return float(selected.sum() / total) if total > 0 else float("nan")

    def __repr__(self) -> str:
        top = max(1, self.eigenvalues.size // 10)
        return (f"DirectionalNoise(n={self.eigenvalues.size}, top-10% share: noise "
                f"{self.share(slice(0, top)):.3f}, signal {self.share(slice(0, top), 'signal'):.3f})")


def _spectrum_targets(spectrum, p_star, teacher):
    if not isinstance(spectrum, Spectrum):
        raise ValueError(f"spectrum must be a theory.Spectrum, got {type(spectrum).__name__}.")
    p_star = as_probabilities(p_star, "p_star", shape=(spectrum.n, None))
    teacher = p_star if teacher is None else as_matrix(teacher, "teacher", p_star.shape)
    return p_star, teacher


def noise_per_direction(spectrum: Spectrum, p_star, teacher=None) -> DirectionalNoise:
    """Expected label-noise energy per eigendirection, closed form (see :class:`DirectionalNoise`).

    Labels are independent across points, so E[(u_kᵀε)(u_kᵀε)ᵀ] = Σ_i u_ik² Σ_i and its trace is
    Σ_i u_ik² (1 − ‖p*_i‖²): each direction carries a u_ik²-weighted average of the per-point noise, so the
    noise is spread over all n directions (Σ_k u_ik² = 1) while a smooth p* concentrates on the top ones.

    Example:
      >>> spectrum = Spectrum.from_kernel(np.eye(2))
      >>> round(float(noise_per_direction(spectrum, np.array([[0.5, 0.5], [1.0, 0.0]])).noise.sum()), 12)
      0.5

    Args:
      spectrum: :class:`theory.Spectrum` of the training kernel ``(n, n)``.
      p_star: ``(n, C)`` Bayes probabilities.
      teacher: optional ``(n, C)`` teacher targets (default p*).

    Returns:
      :class:`DirectionalNoise`.

    Raises:
      ValueError: mismatched shapes or bad probabilities.
    """
    p_star, teacher = _spectrum_targets(spectrum, p_star, teacher)
    weights = spectrum.eigenvectors**2  # (i, k): u_ik²
    noise = weights.T @ (1.0 - np.sum(p_star**2, axis=1))
    bias = np.sum(spectrum.coordinates(p_star - teacher) ** 2, axis=1)
    signal = np.sum(spectrum.coordinates(p_star) ** 2, axis=1)
    return DirectionalNoise(spectrum.eigenvalues.copy(), noise, bias, signal)


def monte_carlo_noise_per_direction(spectrum: Spectrum, p_star, teacher=None, *, draws: int = 200, seed=0,
                                    chunk: int = 64):
    """Measured ‖u_kᵀ(E − Q)‖² per direction (target space), averaged over label draws y ~ p*.

    Args:
      spectrum: :class:`theory.Spectrum` of ``(n, n)``.
      p_star: ``(n, C)``.
      teacher: optional ``(n, C)`` (default p*).
      draws: label draws >= 2.
      seed: non-negative integer or ``np.random.Generator``.
      chunk: draws projected at once.

    Returns:
      ``(mean (n,), standard_error (n,))``; multiply by λ_k² for function space.

    Raises:
      ValueError: as :func:`noise_per_direction`, or ``draws < 2``.
    """
    p_star, teacher = _spectrum_targets(spectrum, p_star, teacher)
    draws, chunk = check_integer(draws, "draws", minimum=2), check_integer(chunk, "chunk", minimum=1)
    rng = as_rng(seed)
    energies = []
    for start in range(0, draws, chunk):
        labels = one_hot(resample_labels(p_star, rng, draws=min(chunk, draws - start)), p_star.shape[1])
        energies.append(np.sum(spectrum.coordinates(labels - teacher[None]) ** 2, axis=-1))  # (count, n)
    energies = np.concatenate(energies)
    return energies.mean(axis=0), energies.std(axis=0, ddof=1) / np.sqrt(draws)

