"""Bootstrap intervals over test points of the ``generalization`` figure's claims (docs/uncertainty.md)."""
import copy
import json
from types import SimpleNamespace

import numpy as np
import pytest

from figures import generalization
from figures.output import to_jsonable
from theory.metrics import exaggeration, softmax
from theory.metrics.bootstrap import low_below_fractions


@pytest.fixture(scope="module")
def data():
    return generalization.compute(generalization.Config.quick())


def _stored(data):
    return json.loads(json.dumps(to_jsonable(data)))


def _claims(data):
    return {claim.claim: claim.to_dict() for claim in generalization.claims(data)}


def test_low_below_fractions_equal_the_exaggeration_point_values(rng):
    for _ in range(5):
        p_teacher, p_student = softmax(rng.normal(size=(60, 4)) * 2), softmax(rng.normal(size=(60, 4)) * 2)
        fit = exaggeration(p_teacher, p_student)
        batched = low_below_fractions(np.stack([fit.phi_teacher] * 2), np.stack([fit.phi_student] * 2))
        assert batched.tolist() == [fit.frac_low_below] * 2


def test_intervals_are_in_the_json_and_contain_the_point_values(data):
    stored = _stored(data)
    assert {"best_ci", "exaggeration_ci"} <= set(stored)
    best = np.asarray(stored["best_ci"]["gain"], dtype=float)
    difference = np.asarray(stored["best"]["student"]) - np.asarray(stored["best"]["teacher"])
    assert best.shape == (len(generalization.Config.quick().noise_rates), 2)
    assert np.all(best[:, 0] <= difference + 1e-12) and np.all(difference <= best[:, 1] + 1e-12)
    intervals = stored["exaggeration_ci"]
    share = generalization._exaggerating_share(stored)
    assert intervals["share_value"] == share  # the batched point value is the stored cells' share
    assert intervals["share"][0] <= share <= intervals["share"][1]
    slopes, bounds = np.asarray(stored["noise"]["test_slope"]), np.asarray(intervals["test_slope"])
    assert np.all(bounds[..., 0] <= slopes) and np.all(slopes <= bounds[..., 1])
    assert np.all(bounds[..., 1] - bounds[..., 0] > 0)


def test_claims_read_the_intervals_and_the_choice_of_budgets_is_said(data):
    claims = _claims(_stored(data))
    early = claims["C5 (early stop)"]
    bounds = np.asarray(data["best_ci"]["gain"])
    top = int(np.argmax(bounds[:, 0]))
    assert early["evidence"][0]["interval"] == pytest.approx(bounds[top].tolist())
    assert "same test points" in early["measured"] and "Bonferroni" in early["criterion"]
    assert claims["C1"]["evidence"][0]["interval"] == pytest.approx(data["exaggeration_ci"]["share"])
    assert "[" in claims["C1"]["measured"]


def test_verdicts_follow_the_interval_rule_on_constructed_data(data):
    made = _stored(data)
    rates = len(made["config"]["noise_rates"])
    made["best"]["student"] = (np.asarray(made["best"]["teacher"]) + 0.01).tolist()
    made["best_ci"]["gain"] = [[-0.01, 0.03]] * rates  # straddles 0
    made["exaggeration_ci"]["share"] = [0.3, 0.8]  # straddles 0.5
    claims = _claims(made)
    assert claims["C5 (early stop)"]["verdict"] == "inconclusive"
    assert claims["C1"]["verdict"] == "inconclusive"
    made["best_ci"]["gain"] = [[-0.01, 0.03]] * (rates - 1) + [[0.002, 0.03]]  # one noise rate above 0
    made["exaggeration_ci"]["share"] = [0.0, 0.3]
    claims = _claims(made)
    assert claims["C5 (early stop)"]["verdict"] == "reproduced"
    assert claims["C1"]["verdict"] == "not reproduced"
    made["best_ci"]["gain"] = [[-0.03, -0.001]] * rates
    assert _claims(made)["C5 (early stop)"]["verdict"] == "not reproduced"


def test_slope_difference_interval_is_paired_over_cells_and_contains_the_point():
    rng = np.random.default_rng(1)
    teacher = rng.normal(size=(2, 3, 80, 4)) * 2  # (noise, T, m, C)
    student = (teacher[:, :, None, None] * rng.uniform(0.8, 1.3, size=(2, 3, 1, 3, 1, 1))
               + rng.normal(scale=0.3, size=(2, 3, 1, 3, 80, 4)))  # (noise, T, τ, t̃, m, C)
    result = SimpleNamespace(logits=dict(teacher_test=teacher, student_test=student))
    gain = np.array([[0.05, 0.0, 0.05], [0.0, 0.0, 0.05]])  # the student wins (≥ 2 of 80 points) in three cells
    config = generalization.Config.quick(replicates=300)
    intervals = generalization._exaggeration_intervals(result, gain, 80, config)
    slopes = np.array([[exaggeration(softmax(teacher[i, t]), softmax(student[i, t, 0, t])).slope for t in range(3)]
                       for i in range(2)])
    wins = gain * 80 >= 2
    assert intervals["wins"].tolist() == wins.tolist()
    point = slopes[wins].mean() - slopes[~wins].mean()
    low, high = intervals["slope_difference"]
    assert low <= point <= high and low < high
    assert np.all(intervals["test_slope"][..., 0] <= slopes) and np.all(slopes <= intervals["test_slope"][..., 1])
    again = generalization._exaggeration_intervals(result, gain, 80, config)
    assert again["slope_difference"] == intervals["slope_difference"]  # reproducible for a seed


def test_a_json_stored_before_the_intervals_still_gives_claims(data):
    old = copy.deepcopy(_stored(data))
    del old["best_ci"], old["exaggeration_ci"]
    claims = _claims(old)
    assert set(claims) == {"C5", "C5 (early stop)", "C1", "C1 with C5"}
    assert "two test points" in claims["C5 (early stop)"]["criterion"]
    assert claims["C1"]["evidence"][0]["interval"] is None
    assert claims["C1"]["verdict"] in {"reproduced", "not reproduced"}
    generalization.plot(old)  # the figure is drawn without them too
