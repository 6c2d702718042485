"""Paired bootstrap intervals over test points of the ``eigen`` figure's C5 claims (docs/uncertainty.md)."""
import copy
import json

import numpy as np
import pytest

from figures import eigen
from figures.output import to_jsonable


@pytest.fixture(scope="module")
def data():
    config = eigen.Config.quick(n_train=200, bottom=(15, 40), time_points=12, markers=2)
    return json.loads(json.dumps(to_jsonable(eigen.compute(config))))


def _claims(data):
    return {claim.claim: claim.to_dict() for claim in eigen.claims(data)}


def test_error_difference_intervals_are_stored_and_contain_the_point_values(data):
    c = data["c"]
    ci = c["test_error_difference_ci"]
    teacher, student = np.asarray(c["teacher_test_error"]), np.asarray(c["student_test_error"])
    final = student[-1] - teacher[-1]
    best = student[1:].min() - teacher[1:].min()
    assert ci["final"][0] <= final <= ci["final"][1] and ci["final"][0] < ci["final"][1]
    assert ci["best"][0] <= best <= ci["best"][1] and ci["best"][0] < ci["best"][1]
    assert teacher[ci["best_index"][0]] == teacher[1:].min() and student[ci["best_index"][1]] == student[1:].min()


def test_c5_claims_carry_the_intervals(data):
    claims = _claims(data)
    ci = data["c"]["test_error_difference_ci"]
    assert claims["C5"]["evidence"][0]["interval"] == pytest.approx(ci["final"])
    assert claims["C5 (early stop)"]["evidence"][0]["interval"] == pytest.approx(ci["best"])
    assert "same test points" in claims["C5 (early stop)"]["measured"]
    assert "[" in claims["C5"]["measured"]


def test_verdicts_follow_the_interval_rule_on_constructed_data(data):
    made = copy.deepcopy(data)
    ci = made["c"]["test_error_difference_ci"]
    for bounds, verdict in (([-0.02, 0.01], "inconclusive"), ([-0.02, -0.001], "reproduced"),
                            ([0.001, 0.02], "not reproduced")):
        ci["final"] = ci["best"] = bounds
        claims = _claims(made)
        assert claims["C5"]["verdict"] == claims["C5 (early stop)"]["verdict"] == verdict


def test_a_json_stored_before_the_intervals_still_gives_claims(data):
    old = copy.deepcopy(data)
    del old["c"]["test_error_difference_ci"]
    claims = _claims(old)
    assert claims["C5"]["evidence"][0]["interval"] is None
    assert claims["C5"]["verdict"] in {"reproduced", "not reproduced"}
    eigen.plot(old)


def test_the_scale_route_stores_the_same_intervals_on_its_test_points():
    config = eigen.Config.quick(n_train=300, top_k=100, scale_tol=1e-10, scale_above=200, scale_test_points=150)
    data = eigen.compute(config)
    c, ci = data["c"], data["c"]["test_error_difference_ci"]
    assert c["test_points"] == 150
    final, best = eigen._c5_estimates(c)
    for estimate, bounds in ((final, ci["final"]), (best, ci["best"])):
        assert bounds[0] <= estimate.value <= bounds[1]
    claims = {claim.claim: claim for claim in eigen.claims(data)}
    assert claims["C5"].evidence.interval == tuple(ci["final"])
    assert claims["C5 (early stop)"].evidence.interval == tuple(ci["best"])
