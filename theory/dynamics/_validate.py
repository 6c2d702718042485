"""Checks shared by the simulators of ``theory.dynamics``: stability, divergence, per-run arguments.

Generic checks come from ``theory._checks``; what lives here is specific to simulated gradient descent:

* stability: GD on a loss that is h-smooth per unit of K (h = 1 for the squared loss, the curvature bound
  of ``theory.dynamics.cross_entropy`` for softmax cross-entropy) decreases it when η λ_max(K) h < 2
  (docs/maths.md §2). λ_max is estimated by Lanczos (``scipy.sparse.linalg.eigsh``, O(n²) per iteration; a
  dense ``eigvalsh`` only when the matrix side is ≤ 256); Ritz values never exceed λ_max, so nothing
  stable is refused;
* divergence: minibatch SGD can diverge even when η λ_max < 2 (a batch of b points, scaled by n/b, has a
  larger top eigenvalue), so non-finite recorded states raise ``FloatingPointError`` after a run;
* per-run arguments of a sweep: a scalar (or one array) shared by every run, or a leading run axis P.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.linalg
import scipy.sparse.linalg

from .._checks import (as_array, as_kernel, as_probabilities, check_flag, check_integer, check_nonempty,
                       check_positive, check_psd)

_DENSE_EIGEN_LIMIT = 256  # below this size a dense eigvalsh is cheaper than Lanczos
SEED_RANGE = dict(minimum=-(2**63), maximum=2**63 - 1)  # any int64 seed


# --------------------------------------------------------------------------------------------------
# Stability and divergence.


def largest_eigenvalue(dense: Callable[[], np.ndarray], apply: Callable, dimension: int) -> float:
    """λ_max of a PSD operator: dense ``eigvalsh`` when small, else Lanczos (a lower bound on λ_max)."""
    if dimension <= _DENSE_EIGEN_LIMIT:
        if dimension == 0:
            return 0.0
        return float(scipy.linalg.eigvalsh(dense(), subset_by_index=[dimension - 1, dimension - 1])[0])
    operator = scipy.sparse.linalg.LinearOperator((dimension, dimension), matvec=apply, dtype=np.float64)
    start = np.random.default_rng(0).standard_normal(dimension)  # seeded: same answer every call
    try:
        return float(scipy.sparse.linalg.eigsh(operator, k=1, which="LA", tol=1e-6, v0=start,
                                               return_eigenvectors=False)[0])
    except scipy.sparse.linalg.ArpackNoConvergence as error:
        return float(np.max(error.eigenvalues, initial=0.0))


def as_training_kernel(value, name: str = "k_train_train") -> np.ndarray:
    """The training kernel K: finite, square, symmetric (``as_kernel``), n ≥ 1 and positive semi-definite.

    The PSD check (``theory._checks.check_psd``: one Cholesky factorisation on a PSD kernel) runs before the
    learning-rate check, so a non-PSD K is refused for what it is, not blamed on the learning rate.
    """
    kernel = as_kernel(value, name)
    check_nonempty(kernel, name, what="training point")
    check_psd(kernel, name)
    return kernel


def kernel_largest_eigenvalue(kernel: np.ndarray) -> float:
    """λ_max(K) of an (n, n) kernel."""
    return largest_eigenvalue(lambda: kernel, lambda v: kernel @ v, kernel.shape[0])


def gram_largest_eigenvalue(features: np.ndarray) -> float:
    """λ_max(ΦΦᵀ) = λ_max(ΦᵀΦ) of (n, p) features, computed on the smaller side."""
    n, p = features.shape
    if p <= n:
        return largest_eigenvalue(lambda: features.T @ features, lambda v: features.T @ (features @ v), p)
    return largest_eigenvalue(lambda: features @ features.T, lambda v: features @ (features.T @ v), n)


def check_stable(learning_rate, largest: float, matrix: str, *, curvature=None,
                 describe_run: Callable[[int], str] | None = None) -> None:
    """Refuse η λ_max h ≥ 2 (``curvature`` h per run; None: the squared loss, h = 1).

    ``learning_rate`` and ``curvature`` are scalars or (P,) arrays; the message names the worst run and
    the largest stable learning rate; ``describe_run(run)`` describes that run's loss (e.g. its temperature).
    """
    rates = np.atleast_1d(np.asarray(learning_rate, dtype=np.float64))
    if curvature is None:
        rate = float(rates.max())
        if rate * largest >= 2:
            raise ValueError(
                f"learning_rate={rate:g} is unstable: η·λ_max = {rate * largest:.4g} with λ_max ≈ "
                f"{largest:.6g} of {matrix}; gradient descent needs η·λ_max < 2, so use learning_rate < "
                f"{2 / largest:.6g} (≤ {1 / largest:.6g} for monotone progress)")
        return
    curvature = np.broadcast_to(np.asarray(curvature, dtype=np.float64), rates.shape)
    products = rates * largest * curvature
    if np.any(products >= 2):
        run = int(np.argmax(products))
        loss = describe_run(run) if describe_run else ""
        raise ValueError(
            f"learning_rate={rates[run]:g} (run {run}) is unsafe for cross-entropy: η·λ_max·h = "
            f"{products[run]:.4g} with λ_max ≈ {largest:.6g} of {matrix} and curvature bound h = "
            f"{curvature[run]:.4g}{loss}; gradient descent is guaranteed to decrease the "
            f"loss only for η·λ_max·h < 2, so use learning_rate < {2 / (largest * curvature[run]):.6g}")


def check_finite(learning_rate, *arrays) -> None:
    """Raise ``FloatingPointError`` if any recorded array (None skipped) has a non-finite entry."""
    if not all(np.all(np.isfinite(array)) for array in arrays if array is not None):
        rate = float(np.max(learning_rate))
        raise FloatingPointError(
            f"the simulation diverged (non-finite outputs) with learning_rate={rate:g}: gradient descent "
            "needs η·λ_max < 2 (η·λ_max·h < 2 for cross-entropy) for the matrix each step applies (for SGD "
            "the batch matrix, scaled by n/batch_size); lower learning_rate")


# --------------------------------------------------------------------------------------------------
# Shared arguments.


def as_cross_kernel(k_train_test, n: int, f_test_0) -> np.ndarray | None:
    """The train–test kernel K_* as a finite (n, m) array, or None; ``f_test_0`` needs it."""
    cross = as_array(k_train_test, "k_train_test", shape=(n, None), allow_none=True,
                     what=f"(n, m) with n = {n} rows like k_train_train")
    if f_test_0 is not None and cross is None:
        raise ValueError("f_test_0 was given without k_train_test; pass k_train_test (n, m) as well")
    return cross


def as_test_features(features_test, p: int) -> np.ndarray | None:
    """Test features Φ_test as a finite (m, p) array, or None."""
    return as_array(features_test, "features_test", shape=(None, p), allow_none=True,
                    what=f"(m, p) with p = {p} columns like features_train")


# --------------------------------------------------------------------------------------------------
# Per-run arguments of a sweep: shared (no run axis) or with a leading run axis P.


def per_run(value, name: str, check: Callable) -> tuple[np.ndarray, int | None]:
    """A scalar or a (P,) array whose every entry passes ``check(entry, name)``; returns (values, P or None)."""
    array = as_array(value, name, ndim=(0, 1), dtype=None, finite=False,
                     what="a scalar, or one value per run")
    values = [check(entry, name) for entry in np.ravel(array).tolist()]
    converted = np.array(values).reshape(array.shape)
    return converted, (None if array.ndim == 0 else array.shape[0])


def per_run_rows(value, name: str, rows: int, columns: int | None = None, *,
                 probabilities: bool = False) -> tuple[np.ndarray | None, int | None]:
    """(rows, C) or (P, rows, C), finite (probability rows if asked); returns (array, P or None). None stays."""
    if value is None:
        return None, None
    array = as_array(value, name, ndim=(2, 3), what="(rows, C), or (P, rows, C) with a run axis")
    wanted = (None,) * (array.ndim - 2) + (rows, columns)
    as_array(array, name, shape=wanted, what=f"{rows} rows" + ("" if columns is None else f", {columns} classes"))
    if probabilities:
        as_probabilities(array.reshape(-1, array.shape[-1]), name)
    return array, (None if array.ndim == 2 else array.shape[0])


@dataclass(frozen=True, eq=False)
class Runs:
    """The validated arguments of P runs, each broadcast to the leading run axis P.

    Attributes:
        count: the number of runs P.
        learning_rate: (P,) float64 learning rates η.
        seed: (P,) int64 seeds of the batch draws.
        values: every other per-run argument by name, broadcast to (P, ...) (``None`` stays ``None``).
        batch_size: None (full batch) or b in [1, n].
        replace: draw batches with replacement.
    """

    count: int
    learning_rate: np.ndarray
    seed: np.ndarray
    values: dict
    batch_size: int | None
    replace: bool


def prepare_runs(rows: int, *, learning_rate, seed, batch_size, replace, **batched) -> Runs:
    """Validate what every sweep shares and broadcast the ``batched`` arguments to the common P.

    ``batched`` maps a name to ``(array or None, P or None)`` as returned by :func:`per_run` /
    :func:`per_run_rows`; arguments without a run axis are shared by every run.
    """
    rates, rates_runs = per_run(learning_rate, "learning_rate", check_positive)
    seeds, seeds_runs = per_run(seed, "seed", lambda value, name: check_integer(value, name, **SEED_RANGE))
    counts = {"learning_rate": rates_runs, "seed": seeds_runs}
    counts.update({name: runs for name, (_, runs) in batched.items()})
    given = {name: count for name, count in counts.items() if count is not None}
    if len(set(given.values())) > 1:
        listed = ", ".join(f"{name}: {count}" for name, count in given.items())
        raise ValueError(f"per-run arguments disagree on the number of runs P ({listed}); give each either "
                         "unbatched or with the same leading length P")
    count = next(iter(given.values()), 1)

    def broadcast(array, runs):
        if array is None:
            return None
        with_axis = array if runs is not None else array[None]
        return np.broadcast_to(with_axis, (count,) + with_axis.shape[1:])

    return Runs(
        count=count,
        learning_rate=broadcast(rates.astype(np.float64), rates_runs),
        seed=broadcast(seeds.astype(np.int64), seeds_runs),
        values={name: broadcast(array, runs) for name, (array, runs) in batched.items()},
        batch_size=check_integer(batch_size, "batch_size", minimum=1, maximum=rows, allow_none=True),
        replace=check_flag(replace, "replace"),
    )

