"""Eigen progress: how far outputs have moved towards the targets along kernel eigendirections (docs/maths.md §3, §6).

* :func:`eigen_progress` (c_k per direction) and :func:`group_progress` (energy-weighted, per group of
  directions) of any outputs live with the eigendecomposition in :mod:`theory.spectral`; they are
  re-exported here so that every shared measurement is importable from :mod:`theory.metrics`;
* :func:`filter_group_progress`: the same group progress for a spectral *filter*, in closed form, without
  forming the outputs;
* :func:`matched_deficit`: the exaggerated-bias comparison (claim C3) of a student's progress curve with a
  one-hot model's, at equal progress on the top directions.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .._checks import as_array
from .._checks import check_same_shape
from ..spectral import group_progress
from ..spectral import progress as eigen_progress

__all__ = ["eigen_progress", "group_progress", "filter_group_progress", "matched_deficit"]


def filter_group_progress(filter, eigenvalues, energy, groups):
    """Energy-weighted group progress of a spectral filter g, in closed form.

        c_G = Σ_{k∈G} g(λ_k) e_k / Σ_{k∈G} e_k,    e_k = ‖u_kᵀ(Y − F₀)‖²,

    which equals :func:`group_progress` of the filter's outputs F = F₀ + g(K)(Y − F₀) (docs/maths.md §3): the
    outputs' coordinates are g(λ_k) u_kᵀ(Y − F₀), so the projection progress of each direction is g(λ_k).

    Example:
      >>> import theory as th
      >>> curves = filter_group_progress(th.flow([0.0, 1.0]), [2.0, 1.0, 0.5], [1.0, 1.0, 2.0],
      ...                                [np.arange(1), np.arange(1, 3)])
      >>> [c.round(4).tolist() for c in curves]
      [[0.0, 0.8647], [0.0, 0.473]]

    Args:
      filter: a spectral filter (a callable λ ``(n,)`` -> factors ``S + (n,)``, e.g. ``th.gd(η, steps)``).
      eigenvalues: ``(n,)`` eigenvalues λ_k of the training kernel (``Spectrum.eigenvalues``).
      energy: ``(n,)`` target energy e_k ≥ 0 per direction, e.g.
        ``np.sum(spectrum.coordinates(Y - F0) ** 2, axis=-1)``.
      groups: a sequence of groups, or a mapping name -> group; a group is an index array (or a boolean
        mask of length n) of eigendirections.

    Returns:
      the progress of each group, shape S (the filter's batch shape): a list for a sequence of groups,
      a dict with the same keys for a mapping.

    Raises:
      ValueError: eigenvalues or energy not finite ``(n,)`` arrays of one shape, negative energy, an empty
        group, or a group without energy (progress undefined).
    """
    eigenvalues = as_array(eigenvalues, "eigenvalues", ndim=1)
    energy = as_array(energy, "energy", ndim=1)
    check_same_shape(eigenvalues, "eigenvalues", energy, "energy")
    if np.any(energy < 0):
        raise ValueError(f"energy must be non-negative (squared norms), got minimum {energy.min():.3g}.")
    factors = filter(eigenvalues)

    def one(name, directions):
        index = np.arange(energy.size)[np.asarray(directions)]
        total = energy[index].sum()
        if index.size == 0 or not total > 0:
            raise ValueError(f"groups[{name!r}] must select eigendirections with target energy > 0, got "
                             f"{index.size} directions with energy {total:.3g}.")
        return factors[..., index] @ energy[index] / total

    if isinstance(groups, Mapping):
        return {name: one(name, directions) for name, directions in groups.items()}
    return [one(position, directions) for position, directions in enumerate(groups)]


def matched_deficit(onehot_top, onehot_bottom, student_top, student_bottom) -> np.ndarray:
    """Bottom-direction deficit of a student against a one-hot model at equal top-direction progress (C3).

    The exaggerated-bias theorem (docs/maths.md §3): if a one-hot model and a distilled student have made the
    same progress on the top eigendirections, the student has made strictly less progress on the bottom
    ones. With the one-hot model's progress curve c_bottom^onehot(c_top) and a student point
    (c_top^student, c_bottom^student),

        deficit = c_bottom^onehot(c_top^student) − c_bottom^student,

    and deficit > 0 means the student lags on the bottom directions at equal top progress.

    The one-hot curve c_bottom^onehot(·) is the piecewise-linear interpolant through the one-hot points
    *sorted by top progress* (so the order in which they are given does not matter; where several points
    share one top progress, their mean bottom progress is used). It is defined only on the one-hot range
    [min c_top^onehot, max c_top^onehot]: there is no extrapolation — student points outside that range are
    dropped, so the result holds only the matched points (possibly none).

    Example:
      >>> matched_deficit([1.0, 0.0, 0.5], [0.6, 0.0, 0.2], [0.25, 0.75, 2.0], [0.0, 0.5, 0.0]).round(6)
      array([ 0.1, -0.1])

    Args:
      onehot_top, onehot_bottom: ``(m,)`` progress of the one-hot model on the top and the bottom group at
        m ≥ 1 times (any order).
      student_top, student_bottom: ``(k,)`` progress of the student at k times.

    Returns:
      ``(j,)`` deficits at the student's points whose top progress lies within the one-hot range, in the
      student's order (j ≤ k; j = 0 when none is matched).

    Raises:
      ValueError: non-finite or non-1-D inputs, mismatched shapes within a model, or no one-hot point.
    """
    onehot_top = as_array(onehot_top, "onehot_top", ndim=1)
    onehot_bottom = as_array(onehot_bottom, "onehot_bottom", ndim=1)
    student_top = as_array(student_top, "student_top", ndim=1)
    student_bottom = as_array(student_bottom, "student_bottom", ndim=1)
    check_same_shape(onehot_top, "onehot_top", onehot_bottom, "onehot_bottom")
    check_same_shape(student_top, "student_top", student_bottom, "student_bottom")
    if onehot_top.size == 0:
        raise ValueError("onehot_top must hold at least one point of the one-hot curve, got none.")
    # lexicographic sort: the sorted points do not depend on the input order (np.interp needs increasing x)
    order = np.lexsort((onehot_bottom, onehot_top))
    top, bottom = onehot_top[order], onehot_bottom[order]
    top, where = np.unique(top, return_inverse=True)
    bottom = np.bincount(where, weights=bottom) / np.bincount(where)
    inside = (student_top >= top[0]) & (student_top <= top[-1])
    return np.interp(student_top[inside], top, bottom) - student_bottom[inside]
