"""Bootstrap intervals (theory.metrics.bootstrap): coverage, pairing, the seed level, Fieller, verdicts."""
import math

import numpy as np
import pytest

from theory.evidence import Estimate, at_least, greater_than, judge
from theory.metrics import bootstrap as bs


def test_ols_slopes_match_ols_line():
    from theory.metrics import ols_line

    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(3, 50)), rng.normal(size=(3, 50))
    for row in range(3):
        assert abs(bs.ols_slopes(x, y)[row] - ols_line(x[row], y[row])[0]) < 1e-12


def test_mean_interval_covers_the_true_mean_about_95_percent():
    rng = np.random.default_rng(0)
    trials, hits = 300, 0
    for trial in range(trials):
        sample = rng.exponential(size=80)  # skewed, true mean 1
        estimate = bs.mean_interval(sample, replicates=400, seed=trial)
        hits += estimate.low <= 1.0 <= estimate.high
    coverage = hits / trials
    assert 0.88 <= coverage <= 0.985, coverage  # percentile bootstrap, n = 80: close to 95 %


def test_slope_interval_covers_the_true_slope():
    rng = np.random.default_rng(3)
    trials, hits = 200, 0
    for trial in range(trials):
        x = rng.normal(size=100)
        y = 1.1 * x + rng.normal(scale=0.5, size=100)
        estimate = bs.slope_interval(x, y, replicates=400, seed=trial)
        hits += estimate.low <= 1.1 <= estimate.high
    assert 0.88 <= hits / trials <= 0.99, hits / trials


def test_intervals_are_reproducible_from_the_seed():
    x = np.random.default_rng(0).normal(size=60)
    assert bs.mean_interval(x, seed=5) == bs.mean_interval(x, seed=5)
    assert bs.mean_interval(x, seed=5) != bs.mean_interval(x, seed=6)


def test_paired_difference_is_narrower_than_unpaired():
    rng = np.random.default_rng(2)
    hard = rng.random(1000) < 0.3  # points both models get wrong: shared between-point noise
    first = ~hard & (rng.random(1000) < 0.95)
    second = ~hard & (rng.random(1000) < 0.9)
    paired = bs.difference_interval(first, second, seed=0)
    unpaired = bs.difference_interval(first, second, paired=False, seed=0)
    assert paired.value == pytest.approx(first.mean() - second.mean())
    assert (paired.high - paired.low) < 0.8 * (unpaired.high - unpaired.low)


def test_seed_level_is_resampled_from_five_seeds_only():
    rng = np.random.default_rng(4)
    offsets = [0.0, 0.3, -0.3, 0.6, -0.6]  # between-seed spread far above the within-seed one
    groups = [(rng.normal(loc=o, scale=0.1, size=200),) for o in offsets]
    mean = lambda a: a.mean(axis=-1)  # noqa: E731
    five = bs.hierarchical(mean, groups, seed=0)
    assert five.scheme == "seeds and points" and five.seeds == 5
    width = np.subtract(*np.quantile(five.replicates[:, 0], [0.975, 0.025]))
    assert width > 0.3  # the seed spread (std of the mean of 5 offsets ≈ 0.19) dominates
    three = bs.hierarchical(mean, groups[:3], seed=0)
    assert three.scheme == "points" and "seed level not resampled" in three.note
    assert np.subtract(*np.quantile(three.replicates[:, 0], [0.975, 0.025])) < 0.05  # points only


def test_combine_seeds_drops_nan_seeds_and_keeps_shapes():
    values = np.array([[1.0], [np.nan], [3.0]])
    replicates = np.ones((3, 10, 1))
    result = bs.combine_seeds(values, replicates)
    assert result.seeds == 2 and result.value[0] == 2.0 and result.replicates.shape == (10, 1)
    with pytest.raises(ValueError, match="replicates must be"):
        bs.combine_seeds(values, np.ones((2, 10, 1)))


def test_fieller_interval_and_not_judged():
    rng = np.random.default_rng(5)
    n = 2000
    control = rng.random(n) < 0.70
    student = control | (rng.random(n) < 0.10)  # a clear KD gain
    late = control | (rng.random(n) < 0.08)
    estimate = bs.ratio_interval(late, control, student, control, seed=0)
    assert estimate.low < estimate.value < estimate.high
    assert estimate.value == pytest.approx((late.mean() - control.mean()) / (student.mean() - control.mean()))
    # no gain: the denominator's interval contains 0 -> not judged (NaN, verdict "not run")
    noise = rng.random(n) < 0.7
    flat = bs.ratio_interval(late, control, noise, control, seed=0)
    assert math.isnan(flat.value) and judge(flat, at_least(0.5)) == "not run"


def test_fieller_matches_the_closed_form_for_independent_normals():
    rng = np.random.default_rng(6)
    a, b = rng.normal(2.0, 0.1, 5000), rng.normal(4.0, 0.2, 5000)
    estimate = bs.fieller_interval(2.0, 4.0, a, b)
    # Fieller with v_ab = 0: roots of (16 − z²·0.04)ρ² − 16ρ + (4 − z²·0.01) = 0
    z = 1.959963984540054
    va, vb = a.var(ddof=1), b.var(ddof=1)
    qa, qb, qc = 16 - z * z * vb, 8.0, 4 - z * z * va
    root = math.sqrt(qb * qb - qa * qc)
    assert estimate.low == pytest.approx((qb - root) / qa, abs=2e-3)
    assert estimate.high == pytest.approx((qb + root) / qa, abs=2e-3)


def test_verdicts_follow_the_interval():
    rng = np.random.default_rng(7)
    x = rng.normal(size=500)
    clear = bs.slope_interval(x, 1.3 * x + rng.normal(scale=0.2, size=500), seed=0)
    below = bs.slope_interval(x, 0.7 * x + rng.normal(scale=0.2, size=500), seed=0)
    noisy = bs.slope_interval(x[:20], 1.02 * x[:20] + rng.normal(scale=1.0, size=20), seed=0)
    assert judge(clear, greater_than(1.0)) == "reproduced"
    assert judge(below, greater_than(1.0)) == "not reproduced"
    assert judge(noisy, greater_than(1.0)) == "inconclusive"
    assert judge(Estimate(1.02), greater_than(1.0)) == "reproduced"  # what a point estimate alone would say


def test_point_replicates_refuse_ragged_arrays():
    with pytest.raises(ValueError, match="share their first"):
        bs.point_replicates(lambda a, b: a.mean(-1), (np.ones(3), np.ones(4)))


def test_large_n_is_chunked(monkeypatch):
    monkeypatch.setattr(bs, "CHUNK_ELEMENTS", 1000)
    value, replicates = bs.point_replicates(lambda a: a.mean(axis=-1), (np.arange(300.0),), replicates=50)
    assert replicates.shape == (50, 1) and value[0] == pytest.approx(149.5)


def test_batched_correlations_equal_corrcoef_per_row_and_are_nan_without_spread():
    """The one batched Pearson r (used by the linearised agreement and the regime map's bootstrap)."""
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(4, 30)), rng.normal(size=(4, 30))
    y[1] = 2 * x[1] + 0.1 * y[1]
    expected = [np.corrcoef(a, b)[0, 1] for a, b in zip(x, y)]
    np.testing.assert_allclose(bs.correlations(x, y), expected, rtol=1e-12)
    assert np.isnan(bs.correlations(np.ones(5), np.arange(5.0)))
