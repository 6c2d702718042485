"""The median heuristic: the default RBF lengthscale of the toolkit, in one place."""
from __future__ import annotations

import numpy as np
from scipy.spatial.distance import pdist

from .._checks import as_matrix, as_rng, check_integer

__all__ = ["median_lengthscale"]


def median_lengthscale(x, *, max_points: int | None = None, seed=0) -> float:
    """The median of the pairwise Euclidean distances between the rows of ``x`` (the median heuristic).

        ℓ = median { ‖x_i − x_j‖ : 1 ≤ i < j ≤ n },

    over the n(n − 1)/2 pairs of distinct indices (the zero self-distances are left out; repeated rows
    count, at distance 0). For an even number of pairs numpy's median averages the two middle *distances*.
    On x = [[0], [1], [3], [4]] the distances are 1, 1, 2, 3, 3, 4 and ℓ = (2 + 3)/2 = 2.5.

    Why this formula: it is the usual median heuristic for the bandwidth of exp(−‖x − x′‖²/(2ℓ²))
    (Schölkopf & Smola 2002; Gretton et al. 2012, "A kernel two-sample test"; Garreau, Jitkrittum &
    Kanagawa 2017, "Large sample analysis of the median heuristic"), and what
    ``np.median(scipy.spatial.distance.pdist(x))`` gives, so a lengthscale quoted from the literature or
    computed with scipy is the one used here. As a statistic of the distances alone it is invariant to
    permutations and translations of the rows and scales with them (ℓ(c x) = |c| ℓ(x)), like the kernel it
    sets. The variant √(median of the squared distances) has the same invariances and agrees with it when
    the number of pairs is odd (the median is then one of the distances, and √ is increasing), but not when
    it is even: it then averages the two middle *squared* distances (√6.5 ≈ 2.55 on the example above).
    Both lie between the two middle distances; we keep the standard one (``theory.nets.tracking`` used the
    variant before it called this function).

    Distances are computed from the differences x_i − x_j (``scipy.spatial.distance.pdist``), each to
    relative round-off, not as ‖a‖² + ‖b‖² − 2a·b, whose cancellation costs relative accuracy
    ε·‖x‖²/‖x_i − x_j‖² on close points. Memory is n(n − 1)/2 floats (n = 50,000: 10 GB): with
    ``max_points`` m < n the median is over the pairs of a seeded uniform subset of m rows (an estimate of
    the same median; m = 5,000: 100 MB, used by the scale route of the figures, docs/scale.md).

    Example:
        >>> median_lengthscale([[0.0], [1.0], [3.0], [4.0]])
        2.5

    Args:
        x: inputs ``(n, d)``, n ≥ 2, finite.
        max_points: at most this many rows enter (a seeded subset when n is larger); None: all.
        seed: seed of that subset.

    Returns:
        float ℓ > 0.

    Raises:
        ValueError: if ``x`` is not a finite 2-D array, has fewer than two rows, or its median pairwise
            distance is 0 (most rows are equal).
    """
    x = as_matrix(x, "x")
    if max_points is not None and x.shape[0] > check_integer(max_points, "max_points", minimum=2):
        x = x[np.sort(as_rng(seed).choice(x.shape[0], max_points, replace=False))]
    if x.shape[0] < 2:
        raise ValueError(f"x must have n >= 2 rows (a pair of points), got shape {x.shape}.")
    lengthscale = float(np.median(pdist(x)))
    if lengthscale <= 0:
        raise ValueError("x must have mostly distinct rows (an RBF lengthscale needs a positive median "
                         "distance), got rows whose median pairwise distance is 0.")
    return lengthscale
