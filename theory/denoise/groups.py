"""Hard and easy points: where the label noise a Bayes teacher removes is largest and smallest (docs/maths.md §5).

The per-point label noise E‖e_y − p*(x)‖² = 1 − ‖p*(x)‖² is zero on points with a certain class and largest
on ambiguous ones, so the results of ``theory.denoise`` are compared between the points with the lowest
confidence max_c p*_c(x) (hard) and the highest (easy): :func:`confidence_groups`.
"""
from __future__ import annotations

import numpy as np

from .._checks import as_probabilities, check_real

__all__ = ["confidence_groups"]


def confidence_groups(p_star, fraction: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks of the hard (lowest max_c p*) and easy (highest) ``fraction`` of the points.

    Ranks by max_c p*_c(x) with ties broken by index (a stable sort); each group has ⌊fraction · n⌋ points
    (at least 1).

    Args:
      p_star: ``(n, C)`` Bayes probabilities.
      fraction: in (0, 0.5].

    Returns:
      ``(hard (n,), easy (n,))`` disjoint boolean masks.

    Raises:
      ValueError: bad probabilities or ``fraction`` outside (0, 0.5].
    """
    p_star = as_probabilities(p_star, "p_star")
    fraction = check_real(fraction, "fraction", low=0.0, high=0.5, low_open=True)
    n = p_star.shape[0]
    size = max(1, int(np.floor(fraction * n)))
    order = np.argsort(np.max(p_star, axis=1), kind="stable")
    hard, easy = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    hard[order[:size]] = True
    easy[order[n - size:]] = True
    return hard, easy & ~hard
