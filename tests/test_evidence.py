"""The verdict rule of theory.evidence: every branch, intervals, exact values, NaN and empty groups, the JSON row."""
import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from theory.evidence import (VERDICTS, Claim, Criterion, Estimate, Exact, aggregate, at_least, at_most, combine,
                             greater_than, judge, less_than, paper_claim)

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
criteria = st.builds(Criterion, finite, st.sampled_from(["greater", "less"]), st.booleans())


# ------------------------------------------------------------------------------------------- point rule
@given(finite, finite)
def test_point_rule_is_the_comparison(value, null):
    assert judge(Estimate(value), greater_than(null)) == ("reproduced" if value > null else "not reproduced")
    assert judge(Estimate(value), less_than(null)) == ("reproduced" if value < null else "not reproduced")
    assert judge(Estimate(value), at_least(null)) == ("reproduced" if value >= null else "not reproduced")
    assert judge(Estimate(value), at_most(null)) == ("reproduced" if value <= null else "not reproduced")


def test_point_rule_at_the_null():
    assert judge(Estimate(1.0), greater_than(1.0)) == "not reproduced"
    assert judge(Estimate(1.0), at_least(1.0)) == "reproduced"
    assert judge(Estimate(0.0), less_than(0.0)) == "not reproduced"
    assert judge(Estimate(0.0), at_most(0.0)) == "reproduced"


# ------------------------------------------------------------------------------------------- intervals
@given(finite, finite, finite)
def test_interval_rule(a, b, null):
    low, high = min(a, b), max(a, b)
    verdict = judge(Estimate((low + high) / 2, low, high), greater_than(null))
    if low > null:
        assert verdict == "reproduced"
    elif high <= null:
        assert verdict == "not reproduced"
    else:
        assert verdict == "inconclusive"


@pytest.mark.parametrize("low, high, criterion, verdict", [
    (1.01, 1.2, greater_than(1.0), "reproduced"),
    (0.8, 0.99, greater_than(1.0), "not reproduced"),
    (0.8, 1.0, greater_than(1.0), "not reproduced"),  # excludes the claim "> 1"
    (0.9, 1.1, greater_than(1.0), "inconclusive"),
    (1.0, 1.1, at_least(1.0), "reproduced"),
    (-0.2, -0.1, less_than(0.0), "reproduced"),
    (0.1, 0.2, less_than(0.0), "not reproduced"),
    (-0.1, 0.1, less_than(0.0), "inconclusive"),
    (-0.1, 0.0, at_most(0.0), "reproduced"),
])
def test_interval_cases(low, high, criterion, verdict):
    assert judge(Estimate((low + high) / 2, low, high), criterion) == verdict


@given(finite, finite, st.floats(0, 1e3), st.floats(0, 1e3), criteria)
def test_a_wider_interval_never_flips_a_verdict(value, _, narrow, extra, criterion):
    inner = judge(Estimate(value, value - narrow, value + narrow), criterion)
    outer = judge(Estimate(value, value - narrow - extra, value + narrow + extra), criterion)
    if outer != "inconclusive":
        assert outer == inner


@given(finite, finite, st.booleans())
def test_less_is_the_mirror_of_greater(value, null, inclusive):
    assert (judge(Estimate(value), Criterion(null, "less", inclusive))
            == judge(Estimate(-value), Criterion(-null, "greater", inclusive)))


# ------------------------------------------------------------------------------------------- exact values
@given(finite, st.floats(0, 1e3), criteria)
def test_exact_is_the_interval_of_its_tolerance(value, tolerance, criterion):
    assert (judge(Exact(value, tolerance), criterion)
            == judge(Estimate(value, value - tolerance, value + tolerance), criterion))


def test_exact_branches():
    assert judge(Exact(2e-12, 1e-12), greater_than(0.0)) == "reproduced"
    assert judge(Exact(-2e-12, 1e-12), greater_than(0.0)) == "not reproduced"
    assert judge(Exact(5e-13, 1e-12), greater_than(0.0)) == "inconclusive"
    assert judge(Exact(0.5, 0.0), greater_than(0.0)) == "reproduced"


# ------------------------------------------------------------------------------------------- not run
@pytest.mark.parametrize("evidence", [
    Estimate(math.nan), Estimate(None), Estimate(np.float64("nan")), Exact(math.nan, 0.1),
    Estimate(1.0, math.nan, 2.0), Estimate.minimum([]), Estimate.maximum(np.array([])), Estimate.mean([]),
    Estimate.share(np.array([], dtype=bool)), Estimate.minimum([1.0, math.nan]),
])
@pytest.mark.parametrize("criterion", [greater_than(0.0), at_most(1.0)])
def test_missing_or_empty_is_not_run(evidence, criterion):
    assert judge(evidence, criterion) == "not run"


def test_group_summaries():
    assert Estimate.minimum([[3.0, -1.0], [2.0, 5.0]]).value == -1.0
    assert Estimate.maximum([3, 7, 1]).value == 7.0
    assert Estimate.mean([1.0, 2.0]).value == 1.5
    assert Estimate.share(np.array([True, False, True, True])).value == 0.75
    # "k of n matched points have deficit > 0, holds if ≥ 80 %"
    deficits = np.array([0.1, 0.2, -0.01, 0.3, 0.4])
    assert judge(Estimate.share(deficits > 0), at_least(0.8)) == "reproduced"
    assert judge(Estimate.share(deficits[:3] > 0), at_least(0.8)) == "not reproduced"
    with pytest.raises(ValueError, match="mask must be a boolean array"):
        Estimate.share([1, 0])


# ------------------------------------------------------------------------------------------- combining
@pytest.mark.parametrize("verdicts, expected", [
    (["reproduced", "reproduced"], "reproduced"),
    (["reproduced", "inconclusive"], "inconclusive"),
    (["inconclusive", "not reproduced"], "not reproduced"),
    (["not reproduced", "not run"], "not run"),
    ([], "not run"),
])
def test_combine(verdicts, expected):
    assert combine(verdicts) == expected


@pytest.mark.parametrize("verdicts, expected", [
    (["reproduced", "reproduced", "not run"], "reproduced"),
    (["not reproduced", "not reproduced"], "not reproduced"),
    (["inconclusive"], "inconclusive"),
    (["reproduced", "not reproduced", "inconclusive"], "partly reproduced (1/3 settings)"),
    (["not reproduced", "inconclusive"], "not reproduced (1/2 settings, the rest inconclusive)"),
    (["not run"], "not run"),
    ([], "not run"),
])
def test_aggregate(verdicts, expected):
    assert aggregate(verdicts) == expected


def test_aggregate_refuses_unknown_verdicts():
    with pytest.raises(ValueError, match="unknown verdicts"):
        aggregate(["reproduced", "maybe"])


# ------------------------------------------------------------------------------------------- claims
def _claim(**changes):
    values = dict(claim="C1 test τ=4", setting="digits", statement="slope > 1 and below on low points",
                  evidence=(Estimate(1.05), Estimate(0.7)), criterion=(greater_than(1.0), greater_than(0.5)),
                  measured="slope 1.050, low below 0.70", criterion_text="slope > 1 and low below > 0.5")
    values.update(changes)
    return Claim(**values)


def test_claim_verdict_is_derived_from_every_part():
    assert _claim().verdict == "reproduced"
    assert _claim(evidence=(Estimate(1.05), Estimate(0.4))).verdict == "not reproduced"
    assert _claim(evidence=(Estimate(1.05), Estimate(math.nan))).verdict == "not run"
    single = Claim(claim="closed form", setting="s", statement="t", evidence=Estimate(3e-16),
                   criterion=less_than(1e-8))
    assert single.verdict == "reproduced" and single.paper_claim is None
    assert single.measured == "3e-16" and single.criterion_text == "< 1e-08"


def test_claim_row_has_the_report_keys_and_round_trips():
    claim = _claim(evidence=(Estimate(1.05, 1.01, 1.09), Exact(math.nan, 0.01)))
    row = claim.to_dict()
    assert list(row)[:6] == ["claim", "setting", "statement", "measured", "criterion", "verdict"]
    assert row["verdict"] == "not run" and row["criterion"] == "slope > 1 and low below > 0.5"
    assert row["evidence"][0] == dict(kind="estimate", value=1.05, interval=[1.01, 1.09], tolerance=None, null=1.0,
                                      side="greater", inclusive=False, verdict="reproduced")
    assert row["evidence"][1]["value"] is None and row["evidence"][1]["tolerance"] == 0.01
    text = json.dumps(row, allow_nan=False)
    again = Claim.from_dict(json.loads(text))
    assert again.to_dict() == row and again.paper_claim == "C1"


@given(finite, st.one_of(st.none(), st.floats(0, 10)), criteria)
def test_row_verdict_matches_the_rule(value, width, criterion):
    evidence = Estimate(value) if width is None else Estimate(value, value - width, value + width)
    row = Claim(claim="C5", setting="s", statement="t", evidence=evidence, criterion=criterion).to_dict()
    assert row["verdict"] == judge(evidence, criterion) and row["verdict"] in VERDICTS
    assert Claim.from_dict(row).verdict == row["verdict"]


@pytest.mark.parametrize("make, message", [
    (lambda: Criterion(1.0, "above"), "side must be one of"),
    (lambda: Criterion(math.nan), "null must be a finite real number"),
    (lambda: Criterion(1.0, "greater", 1), "inclusive must be True or False"),
    (lambda: Exact(1.0, -0.1), "tolerance must be a finite real number >= 0"),
    (lambda: Estimate(1.0, low=0.5), "low and high must both be given"),
    (lambda: Estimate(1.0, 2.0, 0.5), "low must be <= high"),
    (lambda: Estimate("big"), "value must be a real numeric array"),
    (lambda: _claim(criterion=greater_than(1.0)), "criterion must give one Criterion per evidence"),
    (lambda: _claim(evidence=(1.05, 0.7)), "evidence must be an Estimate or an Exact"),
    (lambda: _claim(criterion=(greater_than(1.0), 0.5)), "criterion must be a Criterion"),
    (lambda: _claim(claim=None), "claim must be a string"),
])
def test_bad_arguments_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_paper_claim():
    assert [paper_claim(s) for s in ("C3 (network)", " C1", "C1x", "closed form", "C6")] == ["C3", "C1", None,
                                                                                                None, None]
