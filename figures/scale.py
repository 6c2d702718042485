"""The scale route of the figures that accept a size (``eigen``, ``ntk``, ``bias-nn``; docs/scale.md).

Above a switch point (``Config.scale_above``, default :data:`SWITCH` = 8,000 training points) a figure no
longer forms the n × n kernel and its full ``eigh`` (n = 8,000: 0.5 GB per matrix and about a minute; n =
50,000: 20 GB): it takes the top-k eigenpairs from a kernel operator (:meth:`theory.Spectrum.from_operator`,
blocks evaluated on the fly), with their residuals and a bound on λ_{k+1}, and computes from them what they
determine. What each number is, is written beside it in the figure's JSON (``scale`` entry) and on the plot:

* **exact** (to the residuals): quantities of the top-k directions — their eigenvalues, the filters' factors
  g(λ_j), group progress of groups inside the top k, the projections of the targets on them. Each eigenvalue
  is within its residual r_j of the spectrum (and θ_j ≤ λ_j); r_j ≤ ``tol``·λ_max is checked.
* **bounded**: whole outputs (train predictions, errors) from the top-k truncation, with the part the
  complement can add bounded by sup g on [0, λ_{k+1}] · ‖P_c Y‖ (:func:`theory.krylov.complement_bound`);
  test outputs involve g/λ, whose sup does not shrink with k, so only the truncation is given.
* **not run**: what needs a simulation or training (simulated GD markers, trained networks), or the full
  spectrum (Mobahi's ridge rounds, whose residual budget sums over every direction): the figure says so in a
  text panel and writes NaN / empty lists, which the claims read as "not run".
"""
from __future__ import annotations

import numpy as np

import theory as th
from theory import kernels

__all__ = ["SWITCH", "LENGTHSCALE_SAMPLE", "at_scale", "kernel_parameters", "top_spectrum", "symmetrised", "cross_kernel",
           "truncation_bound", "note_panel"]

#: Default switch point: above this many training points a figure takes the scale route.
SWITCH = 8000
#: The median-heuristic lengthscale is taken over at most this many training points at scale (seeded subset);
#: the exact median of all n²/2 distances (10 GB at n = 50,000) is out of reach, and below it nothing changes.
LENGTHSCALE_SAMPLE = 5000


def at_scale(n: int, scale_above: int | None) -> bool:
    """Whether n training points take the scale route (``scale_above`` None: never)."""
    return scale_above is not None and n > scale_above


def kernel_parameters(kernel: str, x: np.ndarray, seed: int = 0) -> dict:
    """The keyword parameters of a closed-form kernel on inputs ``x`` (RBF: the median lengthscale, over a
    seeded subset of :data:`LENGTHSCALE_SAMPLE` points when n is larger)."""
    if kernel == "rbf":
        return {"lengthscale": kernels.median_lengthscale(x, max_points=LENGTHSCALE_SAMPLE, seed=seed)}
    if kernel == "linear":
        return {}
    raise ValueError(f"`kernel` must be 'rbf' or 'linear', got {kernel!r}.")


def top_spectrum(op, k: int, tol: float, seed: int = 0):
    """``(spectrum, info)``: the top-k Spectrum of ``op`` and the JSON entry saying what it certifies."""
    spectrum = th.Spectrum.from_operator(op, min(k, op.shape[0]), tol=tol, seed=seed)
    top = float(spectrum.eigenvalues[0])
    info = dict(
        route="top-k", k=int(spectrum.eigenvalues.size), tol=tol, products=int(getattr(op, "products", -1)),
        max_residual_over_lambda_max=float(spectrum.residuals.max() / top),
        lambda_next_bound_over_lambda_max=float(spectrum.remainder_bound / top),
        exact="eigenvalues, factors g(λ_j) and group progress of the top-k directions (each eigenvalue within "
              "its residual of the spectrum)",
    )
    return spectrum, info


def symmetrised(matrix: np.ndarray, block: int = 2048) -> np.ndarray:
    """``matrix`` ← (matrix + matrixᵀ)/2 in place, by blocks (temporaries of block² entries, not n²)."""
    n = matrix.shape[0]
    for i in range(0, n, block):
        for j in range(i, n, block):
            mean = 0.5 * (matrix[i:i + block, j:j + block] + matrix[j:j + block, i:i + block].T)
            matrix[i:i + block, j:j + block] = mean
            matrix[j:j + block, i:i + block] = mean.T
    return matrix


def cross_kernel(kernel: str, x: np.ndarray, x_test: np.ndarray, params: dict, block: int = 1024) -> np.ndarray:
    """The ``(n, m)`` train–test kernel computed in blocks of test points (temporaries of n × block only)."""
    function = getattr(kernels, kernel)
    return np.concatenate([function(x, x_test[i:i + block], **params) for i in range(0, len(x_test), block)],
                          axis=1)


def truncation_bound(filter, spectrum, targets) -> np.ndarray:
    """Per budget of ``filter``: the bound on ‖P_c (F − F₀)‖_F that the top-k truncation leaves out, relative to
    ‖U_k g(Λ) U_kᵀ Y‖_F: sup_{[0, λ_{k+1}]} |g| · ‖P_c Y‖_F / ‖truncated outputs‖_F (NaN where no bound)."""
    coordinates = spectrum.coordinates(targets)
    leftover = np.sqrt(max(float(np.sum(targets**2) - np.sum(coordinates**2)), 0.0))
    sup = th.krylov.complement_bound(filter, spectrum.remainder_bound).value
    factors = filter(spectrum.eigenvalues)  # S + (k,)
    kept = np.sqrt(np.sum(factors[..., :, None] ** 2 * coordinates**2, axis=(-2, -1)))
    return sup * leftover / np.maximum(kept, np.finfo(float).tiny)


def note_panel(ax, title: str, lines) -> None:
    """A text panel in place of a plot: what the scale route did not run, and why."""
    import textwrap

    ax.set_axis_off()
    ax.set_title(title)
    text = "\n".join(textwrap.fill(line, width=48) for line in lines)
    ax.text(0.0, 1.0, text, va="top", ha="left", fontsize=7, transform=ax.transAxes)
