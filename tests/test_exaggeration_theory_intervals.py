"""Bootstrap intervals over test points of the ``exaggeration-theory`` budget claim (docs/uncertainty.md)."""
import copy
import json

import numpy as np
import pytest

from figures import exaggeration_theory
from figures.output import to_jsonable


@pytest.fixture(scope="module")
def data():
    return json.loads(json.dumps(to_jsonable(exaggeration_theory.compute(exaggeration_theory.Config.quick()))))


def _budget(data):
    return next(c.to_dict() for c in exaggeration_theory.claims(data) if c.claim == "C1 budget")


def test_budget_intervals_are_stored_and_contain_the_point_values(data):
    for curve in data["curves"]:
        slopes, bounds = np.asarray(curve["test_slope"]), np.asarray(curve["test_slope_ci"])
        assert np.all(bounds[:, 0] <= slopes) and np.all(slopes <= bounds[:, 1])
        half = exaggeration_theory._first_half(len(slopes))
        top, step = slopes.max(), np.diff(slopes[:half]).min()
        assert curve["max_slope_ci"][0] <= top <= curve["max_slope_ci"][1]
        assert curve["min_step_ci"][0] <= step <= curve["min_step_ci"][1]
        assert curve["ci_replicates"] == exaggeration_theory.Config.quick().replicates


def test_steps_are_paired_one_bootstrap_for_every_student(data):
    # the same resampled test points for every t̃: a step's interval is narrower than the slopes' own intervals
    curve = data["curves"][0]
    bounds = np.asarray(curve["test_slope_ci"])
    width = curve["min_step_ci"][1] - curve["min_step_ci"][0]
    assert width < (bounds[:2, 1] - bounds[:2, 0]).sum()


def test_the_claim_reads_the_intervals(data):
    claim = _budget(data)
    first = data["curves"][0]
    assert [e["interval"] for e in claim["evidence"]] == [pytest.approx(first["max_slope_ci"]),
                                                          pytest.approx(first["min_step_ci"])]
    assert "largest slope" in claim["measured"] and "[" in claim["measured"]


def test_verdicts_follow_the_interval_rule_on_constructed_data(data):
    made = copy.deepcopy(data)
    first = made["curves"][0]
    first["test_slope"] = [0.9, 0.98, 1.02]
    first["min_step_ci"] = [0.01, 0.1]
    first["max_slope_ci"] = [0.99, 1.05]  # straddles 1
    assert _budget(made)["verdict"] == "inconclusive"
    first["max_slope_ci"] = [1.001, 1.05]
    assert _budget(made)["verdict"] == "reproduced"
    first["min_step_ci"] = [-0.02, -0.001]
    assert _budget(made)["verdict"] == "not reproduced"


def test_a_json_stored_before_the_intervals_still_gives_claims(data):
    old = copy.deepcopy(data)
    for curve in old["curves"]:
        for key in ("test_slope_ci", "max_slope_ci", "min_step_ci", "ci_level", "ci_replicates"):
            del curve[key]
    claim = _budget(old)
    assert [e["interval"] for e in claim["evidence"]] == [None, None]
    assert claim["verdict"] in {"reproduced", "not reproduced"}
    exaggeration_theory.plot(old)
