"""Bootstrap confidence intervals for the measured claims: over points, over seeds, paired (docs/uncertainty.md).

Every measured verdict rests on an interval (:func:`theory.evidence.judge`): "reproduced" when the 95 % interval
excludes the null on the claim's side, "not reproduced" when it excludes the claim, "inconclusive" otherwise.

* **Over points** (one seed): the n points (test images, training points, matched points) are resampled with
  replacement B times, as one ``(B, n)`` integer index array (in chunks, never a Python loop over replicates),
  and the statistic is computed batched over the replicates (:func:`point_replicates`).
* **Paired**: every per-point array of one call is indexed by the *same* resampled indices — the same test
  points for every model compared, so an accuracy gain's interval does not carry the between-test-set noise
  that is common to both models (:func:`difference_interval`).
* **Hierarchical** (several seeds): resample the seeds, then points within each chosen seed
  (:func:`combine_seeds`). The statistic of a replicate is the mean over the chosen seeds of their per-seed
  replicates. **Few seeds:** with fewer than :data:`MIN_SEEDS` seeds the seed level is *not* resampled (three
  seeds give only ten distinct resamples): the interval is over points only, with the seeds held fixed, and
  the result says so (``scheme == "points"``, :attr:`Bootstrap.note`). Seeds whose value is NaN are dropped.
* **Percentile** intervals: the α/2 and 1 − α/2 quantiles of the replicates (level 95 % by default).
* **Ratios** (a recovered fraction (late − control) / (KD − control)): Fieller's interval from the bootstrap
  means and covariance of numerator and denominator (:meth:`Bootstrap.ratio`); "not judged" (NaN, verdict
  "not run") when the denominator's interval contains 0 or Fieller's set is unbounded.

Exact results (closed forms) keep their tolerance (:class:`theory.evidence.Exact`), never an interval.

Example:
  >>> from theory.evidence import greater_than, judge
  >>> rng = np.random.default_rng(0)
  >>> x = rng.normal(size=400); y = 1.2 * x + rng.normal(scale=0.3, size=400)
  >>> estimate = slope_interval(x, y, seed=0)
  >>> estimate.low < 1.2 < estimate.high, judge(estimate, greater_than(1.0))
  (True, 'reproduced')
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import stats

from .._checks import as_array, as_rng, check_fraction, check_integer
from ..evidence import Estimate

__all__ = ["LEVEL", "REPLICATES", "MIN_SEEDS", "Bootstrap", "resample_indices", "point_replicates",
           "combine_seeds", "hierarchical", "percentile_interval", "fieller_interval", "ols_slopes", "correlations",
           "low_below_fractions",
           "slope_interval", "mean_interval", "difference_interval", "ratio_interval", "split_replicates"]

#: the confidence level of every interval.
LEVEL = 0.95
#: bootstrap replicates by default.
REPLICATES = 2000
#: fewest seeds whose level is resampled; below it the interval is over points with the seeds held fixed.
MIN_SEEDS = 5
#: largest number of index entries (replicates × points) held at once.
CHUNK_ELEMENTS = 1 << 22


def resample_indices(n: int, replicates: int, rng) -> np.ndarray:
    """``(replicates, n)`` indices drawn uniformly with replacement from ``range(n)``."""
    return as_rng(rng, "rng").integers(0, n, size=(replicates, n))


def ols_slopes(x, y) -> np.ndarray:
    """OLS slopes of y on x along the last axis, batched: Σ(x − x̄)(y − ȳ) / Σ(x − x̄)² (NaN for no spread).

    The same line as :func:`theory.metrics.ols_line` for each leading index.

    Example:
      >>> ols_slopes(np.array([[0.0, 1.0, 2.0]]), np.array([[1.0, 3.0, 5.0]])).tolist()
      [2.0]
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    xc = x - x.mean(axis=-1, keepdims=True)
    yc = y - y.mean(axis=-1, keepdims=True)
    spread = np.einsum("...i,...i->...", xc, xc)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(spread > 0, np.einsum("...i,...i->...", xc, yc) / spread, np.nan)


def correlations(x, y) -> np.ndarray:
    """Pearson r of y and x along the last axis, batched (NaN where either has no spread).

    Example:
      >>> correlations(np.array([[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]]), np.array([[1.0, 3.0, 5.0], [2.0, 1.0, 0.0]]))
      array([ 1., -1.])
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    xc = x - x.mean(axis=-1, keepdims=True)
    yc = y - y.mean(axis=-1, keepdims=True)
    scale = np.sqrt(np.einsum("...i,...i->...", xc, xc) * np.einsum("...i,...i->...", yc, yc))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(scale > 0, np.einsum("...i,...i->...", xc, yc) / scale, np.nan)


def low_below_fractions(x, y) -> np.ndarray:
    """Among the points with x below the median of x, the fraction with y < x, batched along the last axis.

    The ``frac_low_below`` of :func:`theory.metrics.exaggeration` (median split, x = φ_teacher, y = φ_student)
    for each leading index (NaN where no point lies below the median).

    Example:
      >>> low_below_fractions(np.array([[0.0, 1.0, 2.0, 3.0]]), np.array([[-1.0, 2.0, 0.0, 0.0]])).tolist()
      [0.5]
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    low = x < np.median(x, axis=-1, keepdims=True)
    count = low.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, (low & (y < x)).sum(axis=-1) / count, np.nan)


def _columns(values) -> np.ndarray:
    """A statistic's output as ``(m, k)``."""
    values = np.asarray(values, dtype=np.float64)
    return values[:, None] if values.ndim == 1 else values


def point_replicates(statistic: Callable, arrays, *, replicates: int = REPLICATES, seed=0) -> tuple:
    """The statistic on the data and on ``replicates`` paired resamples of its points.

    Args:
      statistic: ``statistic(*batched)`` with each array of ``arrays`` given as ``(m, n, ...)`` (m resamples)
        returns ``(m,)`` or ``(m, k)``; it must be vectorised over the leading axis.
      arrays: a tuple of per-point arrays ``(n, ...)`` sharing n; all are indexed by the same resample (paired),
        in chunks of at most :data:`CHUNK_ELEMENTS` resampled values per array.
      replicates: B ≥ 1. seed: an int or a numpy Generator.

    Returns:
      ``(value (k,), replicates (B, k))`` float64.
    """
    arrays = tuple(np.asarray(a) for a in arrays)
    if not arrays:
        raise ValueError("arrays must hold at least one per-point array, got none.")
    n = arrays[0].shape[0] if arrays[0].ndim else 0
    for array in arrays:
        if array.ndim == 0 or array.shape[0] != n:
            raise ValueError(f"arrays must share their first (point) axis of length {n}, got shapes "
                             f"{[a.shape for a in arrays]}.")
    if n < 1:
        raise ValueError("arrays must hold at least one point to resample, got 0.")
    replicates = check_integer(replicates, "replicates", minimum=1)
    rng = as_rng(seed)
    value = _columns(statistic(*(a[None] for a in arrays)))[0]
    # at most CHUNK_ELEMENTS resampled values per array at once (a point may carry many: (n, cells), (n, C), …);
    # the draws do not depend on the chunking (one stream of indices)
    chunk = max(1, CHUNK_ELEMENTS // (n * max(int(np.prod(a.shape[1:])) for a in arrays)))
    blocks = []
    for start in range(0, replicates, chunk):
        index = resample_indices(n, min(chunk, replicates - start), rng)
        blocks.append(_columns(statistic(*(a[index] for a in arrays))))
    return value, np.concatenate(blocks, axis=0)


@dataclass(frozen=True, eq=False)
class Bootstrap:
    """Bootstrap replicates of k statistics (means over seeds) and how they were drawn.

    Attributes:
      value: ``(k,)`` the statistics on the data (mean over the seeds used).
      replicates: ``(B, k)``.
      seeds: number of seeds used (finite values). scheme: ``"points"`` (seeds held fixed) or
        ``"seeds and points"`` (hierarchical).
    """

    value: np.ndarray
    replicates: np.ndarray
    seeds: int
    scheme: str

    @property
    def note(self) -> str:
        """The scheme in words, for a claim's setting text."""
        if self.scheme == "points":
            fewer = f" (< {MIN_SEEDS} seeds: seed level not resampled)" if self.seeds > 1 else ""
            return f"95% bootstrap CI over points, {self.seeds} seed(s) held fixed{fewer}"
        return f"95% hierarchical bootstrap CI (seeds, then points), {self.seeds} seeds"

    def estimate(self, component: int = 0, level: float = LEVEL) -> Estimate:
        """The percentile interval of statistic ``component`` as an :class:`~theory.evidence.Estimate`."""
        return percentile_interval(self.value[component], self.replicates[:, component], level)

    def difference(self, first: int, second: int, level: float = LEVEL) -> Estimate:
        """Paired difference of two statistics (same resamples): statistic ``first`` − statistic ``second``."""
        return percentile_interval(self.value[first] - self.value[second],
                                   self.replicates[:, first] - self.replicates[:, second], level)

    def ratio(self, numerator: int, denominator: int, level: float = LEVEL) -> Estimate:
        """Fieller's interval of value[numerator] / value[denominator]; NaN (not judged) when the
        denominator's percentile interval contains 0 (see :func:`fieller_interval`)."""
        return fieller_interval(self.value[numerator], self.value[denominator], self.replicates[:, numerator],
                                self.replicates[:, denominator], level)


def combine_seeds(values, replicates, *, seed=0, min_seeds: int = MIN_SEEDS) -> Bootstrap:
    """Replicates of the mean over seeds from per-seed values and per-seed point replicates.

    With S ≥ ``min_seeds`` finite seeds (hierarchical): replicate b picks S seeds with replacement and, for each
    pick, one of that seed's point replicates at random; it is the mean of the picked replicates. With fewer
    seeds: replicate b is the mean over the seeds of their b-th point replicates (the seeds held fixed).

    Args:
      values: ``(S, k)`` (or ``(S,)``) per-seed statistics; a seed with any NaN value is dropped.
      replicates: ``(S, B, k)`` (or ``(S, B)``) per-seed point replicates.
      seed: an int or a numpy Generator. min_seeds: ≥ 2.

    Returns:
      :class:`Bootstrap` (NaN value and replicates when no seed is finite).
    """
    values = np.asarray(values, dtype=np.float64)
    replicates = np.asarray(replicates, dtype=np.float64)
    if values.ndim == 1:
        values, replicates = values[:, None], replicates[..., None]
    if replicates.ndim != 3 or replicates.shape[0] != values.shape[0] or replicates.shape[2] != values.shape[1]:
        raise ValueError(f"replicates must be (S, B, k) for values (S, k) = {values.shape}, got shape "
                         f"{replicates.shape}.")
    min_seeds = check_integer(min_seeds, "min_seeds", minimum=2)
    keep = np.all(np.isfinite(values), axis=1)
    values, replicates = values[keep], replicates[keep]
    count, draws = values.shape[0], replicates.shape[1]
    if count == 0:
        k = values.shape[1]
        return Bootstrap(np.full(k, np.nan), np.full((draws, k), np.nan), 0, "points")
    if count < min_seeds:
        return Bootstrap(values.mean(axis=0), replicates.mean(axis=0), count, "points")
    rng = as_rng(seed)
    chosen = rng.integers(0, count, size=(draws, count))
    picked = rng.integers(0, draws, size=(draws, count))
    return Bootstrap(values.mean(axis=0), replicates[chosen, picked].mean(axis=1), count, "seeds and points")


def hierarchical(statistic: Callable, groups, *, replicates: int = REPLICATES, seed=0,
                 min_seeds: int = MIN_SEEDS) -> Bootstrap:
    """Bootstrap of a statistic averaged over seeds: points resampled within each seed (paired across the
    arrays of a seed), seeds resampled when there are at least ``min_seeds`` (:func:`combine_seeds`).

    Args:
      statistic: as :func:`point_replicates`.
      groups: one tuple of per-point arrays per seed (a single tuple of arrays is one seed).
    """
    if isinstance(groups, tuple) and groups and not isinstance(groups[0], (tuple, list)):
        groups = [groups]
    rng = as_rng(seed)
    values, draws = [], []
    for arrays in groups:
        value, reps = point_replicates(statistic, arrays, replicates=replicates, seed=rng)
        values.append(value)
        draws.append(reps)
    if not values:
        raise ValueError("groups must hold at least one seed's arrays, got none.")
    return combine_seeds(np.array(values), np.array(draws), seed=rng, min_seeds=min_seeds)


def percentile_interval(value, replicates, level: float = LEVEL) -> Estimate:
    """``Estimate(value, q_{α/2}, q_{1−α/2})`` from bootstrap ``replicates`` (NaN replicates ignored; a NaN
    interval when more than 1 − level of them are NaN)."""
    level = check_fraction(level, "level", closed_low=False)
    replicates = as_array(replicates, "replicates", ndim=1, finite=False)
    finite = replicates[np.isfinite(replicates)]
    value = float(value)
    if math.isnan(value) or finite.size == 0 or finite.size < level * replicates.size:
        return Estimate(value, math.nan, math.nan) if not math.isnan(value) else Estimate(math.nan)
    low, high = np.quantile(finite, [(1 - level) / 2, (1 + level) / 2])
    return Estimate(value, float(low), float(high))


def fieller_interval(numerator: float, denominator: float, numerator_replicates, denominator_replicates,
                     level: float = LEVEL) -> Estimate:
    """Fieller's interval for a ratio a / b from the bootstrap (co)variances of a and b.

    The set {ρ : (a − ρ b)² ≤ z² (v_aa − 2ρ v_ab + ρ² v_bb)}, z the normal quantile of ``level``; it is a
    bounded interval iff b² > z² v_bb. Returns ``Estimate(a / b, low, high)``, or ``Estimate(NaN)`` (verdict
    "not run": the ratio is not judged) when the denominator's percentile interval contains 0 or the set is
    unbounded.
    """
    a, b = float(numerator), float(denominator)
    ra = as_array(numerator_replicates, "numerator_replicates", ndim=1, finite=False)
    rb = as_array(denominator_replicates, "denominator_replicates", ndim=1, finite=False)
    keep = np.isfinite(ra) & np.isfinite(rb)
    if not (math.isfinite(a) and math.isfinite(b)) or keep.sum() < 3:
        return Estimate(math.nan)
    low, high = percentile_interval(b, rb, level).bounds()
    if not low > 0 and not high < 0:
        return Estimate(math.nan)
    z = float(stats.norm.ppf((1 + level) / 2))
    (vaa, vab), (_, vbb) = np.cov(ra[keep], rb[keep])
    quadratic = b * b - z * z * vbb
    linear = a * b - z * z * vab
    constant = a * a - z * z * vaa
    discriminant = linear * linear - quadratic * constant
    if quadratic <= 0 or discriminant < 0:
        return Estimate(math.nan)
    root = math.sqrt(discriminant)
    return Estimate(a / b, (linear - root) / quadratic, (linear + root) / quadratic)


# ------------------------------------------------------------------------------------------ common intervals
def _groups(*per_seed) -> list:
    """Per-seed tuples from arguments that are each one array (one seed) or a list of arrays (one per seed)."""
    if isinstance(per_seed[0], (list, tuple)):
        if any(len(p) != len(per_seed[0]) for p in per_seed):
            raise ValueError(f"every argument must give the same number of seeds, got {[len(p) for p in per_seed]}.")
        return [tuple(np.asarray(p[s]) for p in per_seed) for s in range(len(per_seed[0]))]
    return [tuple(np.asarray(p) for p in per_seed)]


def slope_interval(x, y, *, replicates: int = REPLICATES, level: float = LEVEL, seed=0,
                   min_seeds: int = MIN_SEEDS) -> Estimate:
    """Interval of the OLS slope of y on x (φ_student on φ_teacher): ``x, y`` ``(n,)`` arrays, or lists of
    them, one per seed (the mean slope over seeds, hierarchical at ≥ ``min_seeds`` seeds)."""
    return hierarchical(ols_slopes, _groups(x, y), replicates=replicates, seed=seed,
                        min_seeds=min_seeds).estimate(0, level)


def _means(*arrays):
    return np.stack([np.asarray(a, dtype=np.float64).mean(axis=-1) for a in arrays], axis=-1)


def mean_interval(values, *, replicates: int = REPLICATES, level: float = LEVEL, seed=0,
                  min_seeds: int = MIN_SEEDS) -> Estimate:
    """Interval of a mean over points (e.g. a fraction of matched points with deficit > 0, from a boolean
    array): ``(n,)`` or a list of per-seed arrays."""
    return hierarchical(_means, _groups(values), replicates=replicates, seed=seed,
                        min_seeds=min_seeds).estimate(0, level)


def difference_interval(first, second, *, paired: bool = True, replicates: int = REPLICATES,
                        level: float = LEVEL, seed=0, min_seeds: int = MIN_SEEDS) -> Estimate:
    """Interval of mean(first) − mean(second) over points (an accuracy gain from per-point correctness).

    ``paired=True`` (the default, for two models on the same test points): one resample of the points for
    both. ``paired=False``: independent resamples (two independent samples), wider when the two are
    positively correlated.
    """
    groups = _groups(first, second)
    if paired:
        return hierarchical(_means, groups, replicates=replicates, seed=seed,
                            min_seeds=min_seeds).difference(0, 1, level)
    rng = as_rng(seed)
    one = hierarchical(_means, [(g[0],) for g in groups], replicates=replicates, seed=rng, min_seeds=min_seeds)
    two = hierarchical(_means, [(g[1],) for g in groups], replicates=replicates, seed=rng, min_seeds=min_seeds)
    return percentile_interval(one.value[0] - two.value[0], one.replicates[:, 0] - two.replicates[:, 0], level)


def ratio_interval(numerator_first, numerator_second, denominator_first, denominator_second, *,
                   replicates: int = REPLICATES, level: float = LEVEL, seed=0,
                   min_seeds: int = MIN_SEEDS) -> Estimate:
    """Fieller's interval of (mean a − mean b) / (mean c − mean d) over the same points, e.g. the recovered
    fraction (acc_late − acc_control) / (acc_KD − acc_control) from per-point correctness; NaN (not judged)
    when the denominator's interval contains 0."""
    boot = hierarchical(_means, _groups(numerator_first, numerator_second, denominator_first, denominator_second),
                        replicates=replicates, seed=seed, min_seeds=min_seeds)
    reps = boot.replicates
    value = boot.value
    return fieller_interval(value[0] - value[1], value[2] - value[3], reps[:, 0] - reps[:, 1],
                            reps[:, 2] - reps[:, 3], level)


def split_replicates(split: str, phi_teacher, phis: dict, correct: dict, *, replicates: int = REPLICATES,
                     seed=0) -> tuple:
    """One seed's point replicates of a split's slopes and accuracies, paired (one resample for all models).

    Names: ``{split}_slope`` for the role ``"student"`` and ``{role}_{split}_slope`` for the others (OLS slope of
    their φ on ``phi_teacher``), ``{role}_{split}_accuracy`` for every role of ``correct`` (mean of a boolean
    per-point correctness).

    Args:
      split: a name ("train", "test"). phi_teacher: ``(n,)``. phis: ``{role: (n,) φ}``. correct: ``{role: (n,)
        bool}``. replicates, seed: as :func:`point_replicates`.

    Returns:
      ``(names, value (k,), replicates (B, k))``.
    """
    roles, scored = list(phis), list(correct)
    names = ([f"{split}_slope" if role == "student" else f"{role}_{split}_slope" for role in roles]
             + [f"{role}_{split}_accuracy" for role in scored])

    def statistic(x, *arrays):
        columns = [ols_slopes(x, y) for y in arrays[:len(roles)]]
        columns += [np.asarray(a, dtype=np.float64).mean(axis=-1) for a in arrays[len(roles):]]
        return np.stack(columns, axis=-1)

    arrays = (phi_teacher, *(phis[r] for r in roles), *(correct[r] for r in scored))
    value, reps = point_replicates(statistic, arrays, replicates=replicates, seed=seed)
    return names, value, reps
