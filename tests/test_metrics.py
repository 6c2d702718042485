"""Tests for theory.metrics: invariants (hypothesis), hand-worked values, independent references
(scipy, scikit-learn, explicit loops) and input validation."""
import dataclasses
import json
import math

import numpy as np
import pytest
import scipy.special
import scipy.stats
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import log_loss

from theory import metrics as m

seeds = st.integers(0, 2**32 - 1)


def dirichlet(seed, n, num_classes, alpha=1.0):
    return np.random.default_rng(seed).dirichlet(np.full(num_classes, alpha), size=n)


def teacher_student_with_logit_line(phi_teacher, slope, intercept, num_classes, seed):
    """Probabilities whose teacher top-1 log-odds are `phi_teacher` and whose student log-odds on that
    class are exactly slope * phi_teacher + intercept. The rest of each row's mass is spread evenly,
    so the teacher's top-1 class is unique whenever its probability exceeds 1 / num_classes."""
    rng = np.random.default_rng(seed)
    n = phi_teacher.size
    top = rng.integers(0, num_classes, size=n)
    rows = np.arange(n)

    def build(phi):
        prob = scipy.special.expit(phi)
        p = np.repeat(((1 - prob) / (num_classes - 1))[:, None], num_classes, axis=1)
        p[rows, top] = prob
        return p

    p_teacher = build(phi_teacher)
    assert np.all(p_teacher.argmax(axis=1) == top)  # the teacher's top-1 is identifiable
    return p_teacher, build(slope * phi_teacher + intercept)


# ---------------------------------------------------------------- softmax and friends


def test_softmax_matches_scipy_and_is_stable(rng):
    logits = rng.normal(size=(7, 5)) * 3
    np.testing.assert_allclose(m.softmax(logits), scipy.special.softmax(logits, axis=-1), rtol=1e-13)
    np.testing.assert_allclose(m.log_softmax(logits, temperature=2.5),
                               scipy.special.log_softmax(logits / 2.5, axis=-1), rtol=1e-13)
    np.testing.assert_allclose(m.softmax(logits, axis=0), scipy.special.softmax(logits, axis=0),
                               rtol=1e-13)
    huge = np.array([[1000.0, 0.0, -1000.0], [1e308, 1e308, 0.0]])
    p = m.softmax(huge)
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p, [[1, 0, 0], [0.5, 0.5, 0]], atol=1e-15)
    # adding a constant to every logit of a row changes nothing
    np.testing.assert_allclose(m.softmax(logits + 123.0), m.softmax(logits), rtol=1e-12)
    assert m.softmax(logits).dtype == np.float64


def test_logit_confidence_values_and_clip():
    p = np.array([0.1, 0.5, 0.75, 0.999])
    np.testing.assert_allclose(m.logit_confidence(p), scipy.special.logit(p), rtol=1e-12)
    bound = math.log((1 - 1e-7) / 1e-7)
    # 1 - 1e-7 is rounded in float64, so log1p(-(1 - 1e-7)) carries a ~1e-11 relative error
    np.testing.assert_allclose(m.logit_confidence([0.0, 1.0]), [-bound, bound], rtol=1e-9)
    np.testing.assert_allclose(m.logit_confidence([0.0, 1.0], clip=0.25), [-math.log(3), math.log(3)])


def test_check_probabilities_accepts_float32_softmax(rng):
    p32 = m.softmax(rng.normal(size=(50, 100))).astype(np.float32)
    out = m.check_probabilities(p32)
    assert out.dtype == np.float64 and out.shape == (50, 100)


# ---------------------------------------------------------------- exaggeration


@given(seed=seeds, n=st.integers(2, 60), num_classes=st.integers(2, 8),
       alpha=st.floats(0.5, 5.0))
def test_identical_student_has_slope_one_and_perfect_fidelity(seed, n, num_classes, alpha):
    p = dirichlet(seed, n, num_classes, alpha)
    result = m.exaggeration(p, p.copy(), bins=min(5, n))
    assert result.slope == pytest.approx(1.0, abs=1e-12)
    assert result.intercept == pytest.approx(0.0, abs=1e-12)
    assert not result.exaggerates
    # the student is never strictly below or above the teacher
    assert result.frac_low_below in (0.0,) or math.isnan(result.frac_low_below)
    assert result.frac_high_above in (0.0,) or math.isnan(result.frac_high_above)
    np.testing.assert_array_equal(result.phi_student, result.phi_teacher)
    fid = m.fidelity(p, p.copy())
    assert fid.agreement == 1.0 and fid.kl == 0.0


@given(seed=seeds, slope=st.floats(0.3, 3.0), intercept=st.floats(-1.0, 1.0),
       n=st.integers(3, 200))
def test_known_logit_line_is_recovered(seed, slope, intercept, n):
    # phi_teacher in [-3, 4] keeps the teacher's top class unique with 50 classes (needs phi > -3.89),
    # and |slope * phi + intercept| <= 13 stays inside the clip (|phi| <= 16.1).
    phi = np.random.default_rng(seed).uniform(-3.0, 4.0, size=n)
    p_teacher, p_student = teacher_student_with_logit_line(phi, slope, intercept, 50, seed)
    result = m.exaggeration(p_teacher, p_student, bins=3)
    assert result.slope == pytest.approx(slope, abs=1e-9)
    assert result.intercept == pytest.approx(intercept, abs=1e-9)
    assert result.exaggerates == (result.slope > 1)
    np.testing.assert_allclose(result.phi_teacher, phi, atol=1e-9)
    np.testing.assert_allclose(result.phi_student, slope * phi + intercept, atol=1e-9)


@pytest.mark.parametrize("slope", [0.5, 0.8, 1.5, 2.0])
def test_fractions_follow_the_slope(slope, rng):
    # With intercept 0: phi_s = slope * phi_t. Low-confidence points (phi_t < 0, split=0.5) move down
    # iff slope > 1 and high-confidence points (phi_t > 0) move up iff slope > 1.
    phi = np.concatenate([rng.uniform(-3.0, -0.1, 40), rng.uniform(0.1, 4.0, 60)])
    p_teacher, p_student = teacher_student_with_logit_line(phi, slope, 0.0, 50, 1)
    result = m.exaggeration(p_teacher, p_student, split=0.5, bins=10)
    expected = 1.0 if slope > 1 else 0.0
    assert result.frac_low_below == expected and result.frac_high_above == expected
    assert result.exaggerates == (slope > 1)
    assert result.threshold == 0.0


def test_fractions_hand_worked_median_split():
    # Teacher top-1 (class 0) probabilities 0.3, 0.45, 0.6, 0.9 (4 classes, rest spread evenly, so
    # class 0 is the top-1: 0.3 > 0.7 / 3).
    # phi_t = logit: -0.847, -0.201, 0.405, 2.197; median = (-0.201 + 0.405)/2 = 0.102.
    # Low points: #0, #1.  Student on class 0: 0.2 (< 0.3, below), 0.5 (> 0.45, not below) -> 1/2.
    # High points: #2, #3. Student: 0.7 (> 0.6, above), 0.85 (< 0.9, not above)      -> 1/2.
    def rows(top):
        top = np.array(top)
        return np.column_stack([top] + [(1 - top) / 3] * 3)

    result = m.exaggeration(rows([0.3, 0.45, 0.6, 0.9]), rows([0.2, 0.5, 0.7, 0.85]), bins=2)
    assert result.threshold == pytest.approx((math.log(0.45 / 0.55) + math.log(0.6 / 0.4)) / 2)
    assert result.frac_low_below == 0.5 and result.frac_high_above == 0.5
    # bins of two points each: means of the two lowest and the two highest phi_t
    np.testing.assert_allclose(result.bin_teacher, [(math.log(0.3 / 0.7) + math.log(0.45 / 0.55)) / 2,
                                                    (math.log(0.6 / 0.4) + math.log(0.9 / 0.1)) / 2])
    np.testing.assert_array_equal(result.bin_counts, [2, 2])


@given(seed=seeds, n=st.integers(2, 300), data=st.data())
def test_bins_are_equal_count_and_monotone(seed, n, data):
    bins = data.draw(st.integers(1, n))
    p_teacher, p_student = dirichlet(seed, n, 4), dirichlet(seed + 1, n, 4)
    result = m.exaggeration(p_teacher, p_student, bins=bins)
    counts = result.bin_counts
    assert counts.shape == (bins,) and counts.sum() == n
    assert set(counts.tolist()) <= {n // bins, n // bins + 1}
    assert np.all(np.diff(result.bin_teacher) >= -1e-12)
    # the bins partition the points: count-weighted means give back the totals
    assert counts @ result.bin_teacher == pytest.approx(result.phi_teacher.sum(), abs=1e-8)
    assert counts @ result.bin_student == pytest.approx(result.phi_student.sum(), abs=1e-8)


def test_true_class_uses_the_labels(rng):
    p_teacher, p_student = dirichlet(3, 30, 5), dirichlet(4, 30, 5)
    labels = rng.integers(0, 5, size=30)
    result = m.exaggeration(p_teacher, p_student, classes="true", labels=labels, bins=3)
    pick = np.arange(30), labels
    np.testing.assert_allclose(result.phi_teacher, scipy.special.logit(p_teacher[pick]), rtol=1e-10)
    np.testing.assert_allclose(result.phi_student, scipy.special.logit(p_student[pick]), rtol=1e-10)
    top1 = m.exaggeration(p_teacher, p_student, bins=3)
    np.testing.assert_allclose(top1.phi_teacher,
                               scipy.special.logit(p_teacher.max(axis=1)), rtol=1e-10)
    with pytest.raises(ValueError, match="needs labels"):
        m.exaggeration(p_teacher, p_student, classes="true")
    with pytest.raises(ValueError, match="labels"):
        m.exaggeration(p_teacher, p_student, labels=labels)
    with pytest.raises(ValueError, match="labels"):
        m.exaggeration(p_teacher, p_student, classes="true", labels=labels + 5)


def test_empty_side_of_the_split_gives_nan():
    # Two classes: the teacher's top-1 probability is >= 0.5, so no point has phi_t < phi(0.5) = 0.
    p = np.array([[0.6, 0.4], [0.3, 0.7], [0.9, 0.1]])
    result = m.exaggeration(p, p, split=0.5, bins=1)
    assert math.isnan(result.frac_low_below) and result.frac_high_above == 0.0


def test_exaggeration_object_is_readable_and_frozen(rng):
    p_teacher, p_student = dirichlet(0, 1000, 10), dirichlet(1, 1000, 10)
    result = m.exaggeration(p_teacher, p_student)
    text = repr(result)
    assert text.startswith("Exaggeration(slope=") and len(text) < 200 and "bins=20" in text
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.slope = 2.0
    with pytest.raises(ValueError):
        result.phi_teacher[0] = 0.0  # arrays are read-only
    summary = json.loads(json.dumps(result.as_dict()))
    assert summary["n"] == 1000 and summary["slope"] == result.slope


# ---------------------------------------------------------------- fidelity


@given(seed=seeds, n=st.integers(1, 40), num_classes=st.integers(2, 10),
       alpha=st.floats(1.0, 5.0))
def test_kl_matches_scipy_entropy_and_is_positive(seed, n, num_classes, alpha):
    p_teacher = dirichlet(seed, n, num_classes, alpha)
    p_student = dirichlet(seed + 1, n, num_classes, alpha)
    fid = m.fidelity(p_teacher, p_student)
    reference = np.mean([scipy.stats.entropy(t, s) for t, s in zip(p_teacher, p_student)])
    assert fid.kl == pytest.approx(reference, rel=1e-10, abs=1e-14)
    assert fid.kl > 0  # distinct continuous draws differ
    assert fid.agreement == np.mean(p_teacher.argmax(1) == p_student.argmax(1))


def test_kl_hand_worked_and_zero_handling():
    # KL([0.5, 0.5, 0] || [0.25, 0.75, 0]) = 0.5 log 2 + 0.5 log(2/3); the 0 * log 0 term is 0.
    fid = m.fidelity([[0.5, 0.5, 0.0]], [[0.25, 0.75, 0.0]])
    assert fid.kl == pytest.approx(0.5 * math.log(2) + 0.5 * math.log(2 / 3), rel=1e-14)
    # a student zero where the teacher has mass costs log(t / clip), not inf
    fid = m.fidelity([[0.5, 0.5]], [[1.0, 0.0]], clip=1e-12)
    assert fid.kl == pytest.approx(0.5 * math.log(0.5) + 0.5 * math.log(0.5 / 1e-12), rel=1e-12)
    assert fid.agreement == 1.0  # argmax ties go to the lowest index
    # equal inputs with entries below the clip still give exactly 0
    p = [[1 - 2e-15, 1e-15, 1e-15]]
    assert m.fidelity(p, p).kl == 0.0


# ---------------------------------------------------------------- accuracy, NLL, ECE

# Four points, three classes, hand-worked below.
HAND_P = np.array([[0.90, 0.05, 0.05],   # label 0: predicted 0, conf 0.90, correct
                   [0.70, 0.20, 0.10],   # label 1: predicted 0, conf 0.70, wrong
                   [0.10, 0.65, 0.25],   # label 1: predicted 1, conf 0.65, correct
                   [0.30, 0.25, 0.45]])  # label 0: predicted 2, conf 0.45, wrong
HAND_LABELS = np.array([0, 1, 1, 0])


def test_hand_worked_accuracy_nll_ece():
    # accuracy: 2 of 4 correct = 0.5
    assert m.accuracy(HAND_P, HAND_LABELS) == 0.5
    # NLL: probabilities of the true labels 0.9, 0.2, 0.65, 0.3
    expected_nll = -(math.log(0.9) + math.log(0.2) + math.log(0.65) + math.log(0.3)) / 4
    assert m.nll(HAND_P, HAND_LABELS) == pytest.approx(expected_nll, rel=1e-14)
    # ECE with 5 bins (0,.2] (.2,.4] (.4,.6] (.6,.8] (.8,1]:
    #   (.8,1]: point 0,    acc 1,   conf 0.9,   weight 1/4 -> |1 - 0.9| / 4       = 0.025
    #   (.6,.8]: points 1,2, acc 0.5, conf 0.675, weight 2/4 -> 2 * |0.5 - 0.675| / 4 = 0.0875
    #   (.4,.6]: point 3,    acc 0,   conf 0.45,  weight 1/4 -> |0 - 0.45| / 4      = 0.1125
    #   total 0.225
    assert m.expected_calibration_error(HAND_P, HAND_LABELS, bins=5) == pytest.approx(0.225, rel=1e-13)
    # one bin: |mean acc - mean conf| = |0.5 - (0.9 + 0.7 + 0.65 + 0.45)/4| = |0.5 - 0.675| = 0.175
    assert m.expected_calibration_error(HAND_P, HAND_LABELS, bins=1) == pytest.approx(0.175, rel=1e-13)
    report = m.classification_report(HAND_P, HAND_LABELS, bins=5)
    assert report == pytest.approx({"accuracy": 0.5, "nll": expected_nll, "ece": 0.225, "n": 4})
    json.dumps(report)


def ece_loop(p, labels, bins):
    """Independent ECE: an explicit loop over bins (lo, hi] and over points."""
    total = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        members = [i for i in range(len(p)) if lo < p[i].max() <= hi or (b == 0 and p[i].max() == 0)]
        if members:
            acc = sum(int(np.argmax(p[i]) == labels[i]) for i in members) / len(members)
            conf = sum(p[i].max() for i in members) / len(members)
            total += len(members) / len(p) * abs(acc - conf)
    return total


@given(seed=seeds, n=st.integers(1, 80), num_classes=st.integers(2, 6), bins=st.integers(1, 20))
def test_ece_matches_loop_and_nll_matches_sklearn(seed, n, num_classes, bins):
    p = dirichlet(seed, n, num_classes, 0.7)
    labels = np.random.default_rng(seed + 7).integers(0, num_classes, size=n)
    ece = m.expected_calibration_error(p, labels, bins=bins)
    assert ece == pytest.approx(ece_loop(p, labels, bins), abs=1e-12)
    assert 0.0 <= ece <= 1.0
    assert m.nll(p, labels) == pytest.approx(
        log_loss(labels, p, labels=np.arange(num_classes)), rel=1e-10)


def test_ece_of_calibrated_predictions_is_zero():
    # 20 points at each confidence q; exactly 20 q of them carry the predicted label.
    probs, labels = [], []
    for q, correct in [(0.55, 11), (0.65, 13), (0.75, 15), (0.85, 17), (0.95, 19)]:
        probs += [[q, 1 - q]] * 20
        labels += [0] * correct + [1] * (20 - correct)
    assert m.expected_calibration_error(probs, labels, bins=10) == pytest.approx(0.0, abs=1e-12)
    # labels drawn from the predicted probabilities: calibrated up to sampling noise
    rng = np.random.default_rng(0)
    p = dirichlet(1, 20000, 4)
    sampled = (rng.random(20000)[:, None] > p.cumsum(axis=1)).sum(axis=1)
    assert m.expected_calibration_error(p, sampled) < 0.02
    # an overconfident model is not
    sharp = m.softmax(3 * np.log(p))
    assert m.expected_calibration_error(sharp, sampled) > 0.05


# ---------------------------------------------------------------- validation


GOOD = np.array([[0.7, 0.3], [0.4, 0.6], [0.5, 0.5]])
LABELS = np.array([0, 1, 1])


@pytest.mark.parametrize("bad, message", [
    (np.array([0.5, 0.5]), "2-D"),
    (np.array([[0.7, 0.4], [0.4, 0.6], [0.5, 0.5]]), "sum to 1"),
    (np.array([[np.nan, 1.0], [0.4, 0.6], [0.5, 0.5]]), "NaN"),
    (np.array([[1.2, -0.2], [0.4, 0.6], [0.5, 0.5]]), "negative"),
])
def test_bad_probabilities_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        m.check_probabilities(bad, name="p_x")
    with pytest.raises(ValueError, match="p_teacher"):
        m.exaggeration(bad, GOOD, bins=1)
    with pytest.raises(ValueError, match="p_student"):
        m.fidelity(GOOD, bad)
    for metric in (m.accuracy, m.nll, m.expected_calibration_error):
        with pytest.raises(ValueError, match=message):
            metric(bad, LABELS)


@pytest.mark.parametrize("call, message", [
    (lambda: m.exaggeration(GOOD, GOOD[:2]), "shape"),
    (lambda: m.fidelity(GOOD, np.full((3, 3), 1 / 3)), "shape"),
    (lambda: m.exaggeration(GOOD, GOOD, bins=0), "bins"),
    (lambda: m.exaggeration(GOOD, GOOD, bins=4), "bins"),
    (lambda: m.exaggeration(GOOD, GOOD, bins=1, classes="argmax"), "classes"),
    (lambda: m.exaggeration(GOOD, GOOD, bins=1, split="mean"), "split"),
    (lambda: m.exaggeration(GOOD, GOOD, bins=1, split=1.5), "split"),
    (lambda: m.exaggeration(GOOD, GOOD, bins=1, clip=0.7), "clip"),
    (lambda: m.exaggeration(GOOD[:1], GOOD[:1], bins=1), "at least 2"),
    (lambda: m.exaggeration(np.array([[0.7, 0.3], [0.3, 0.7]]), GOOD[:2], bins=1), "identical"),
    (lambda: m.expected_calibration_error(GOOD, LABELS, bins=0), "bins"),
    (lambda: m.expected_calibration_error(GOOD, LABELS, bins=2.5), "bins"),
    (lambda: m.accuracy(GOOD, [0, 1, 2]), r"labels must lie in \[0, num_classes\) = \[0, 2\)"),
    (lambda: m.accuracy(GOOD, [0, -1, 1]), "labels must lie"),
    (lambda: m.nll(GOOD, [0, 1]), r"labels must have shape \(3,\)"),
    (lambda: m.nll(GOOD, [0.0, 1.0, 1.0]), "integer"),
    (lambda: m.nll(GOOD, LABELS, clip=0.0), "clip"),
    (lambda: m.softmax([[1.0, np.inf]]), "logits"),
    (lambda: m.softmax([[1.0, 2.0]], temperature=0.0), "temperature"),
    (lambda: m.logit_confidence([0.5, 1.5]), "p must"),
])
def test_bad_arguments_are_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---------------------------------------------------------------- OLS and confidence diagnostics


def binary(phi):
    """(n, 2) probabilities whose top-1 class has log-odds φ (φ > 0)."""
    p = 1 / (1 + np.exp(-np.asarray(phi, dtype=float)))
    return np.stack([p, 1 - p], axis=1)


def test_ols_line_hand_worked_and_degenerate():
    assert m.ols_line([0.0, 1.0, 2.0], [1.0, 3.0, 5.0]) == (2.0, 1.0)
    assert m.ols_line([1.0, 2.0, 4.0], [1.0, 2.0, 4.0]) == (1.0, 0.0)  # centred: exact on y == x
    for x, y in (([3.0], [1.0]), ([], []), ([2.0, 2.0, 2.0], [1.0, 2.0, 3.0])):
        assert all(math.isnan(v) for v in m.ols_line(x, y))  # fewer than two distinct x: no line
    with pytest.raises(ValueError, match="y must have the shape of x"):
        m.ols_line([0.0, 1.0], [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="x must be finite"):
        m.ols_line([0.0, np.nan], [0.0, 1.0])


@given(seed=seeds, n=st.integers(3, 100), slope=st.floats(-3.0, 3.0))
def test_ols_slope_is_correlation_times_spread_ratio(seed, n, slope):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n) * rng.uniform(0.1, 10.0)
    y = slope * x + rng.normal(size=n)
    fitted_slope, intercept = m.ols_line(x, y)
    identity = np.corrcoef(x, y)[0, 1] * np.std(y) / np.std(x)  # r · σ_y / σ_x
    assert fitted_slope == pytest.approx(identity, rel=1e-9, abs=1e-12)
    np.testing.assert_allclose([fitted_slope, intercept], np.polyfit(x, y, 1), rtol=1e-8, atol=1e-10)


@given(seed=seeds, n=st.integers(4, 80), num_classes=st.integers(2, 6))
def test_confidence_diagnostics_slope_is_correlation_times_spread_ratio(seed, n, num_classes):
    p_teacher, p_student = dirichlet(seed, n, num_classes), dirichlet(seed + 1, n, num_classes)
    result = m.confidence_diagnostics(p_teacher, p_student, bins=2)
    fit = m.exaggeration(p_teacher, p_student, bins=2)
    assert result["slope"] == fit.slope == m.ols_line(fit.phi_teacher, fit.phi_student)[0]
    assert result["slope"] == pytest.approx(result["correlation"] * result["spread_ratio"], rel=1e-9, abs=1e-12)


def test_confidence_diagnostics_on_known_stretches(rng):
    phi = rng.uniform(0.5, 4.0, size=60)
    same = m.confidence_diagnostics(binary(phi), binary(phi), bins=6)
    assert abs(same["slope"] - 1) < 1e-12 and abs(same["slope_binned"] - 1) < 1e-12
    assert same["frac_below"] == 0 and same["mean_gap"] == 0 and same["clipped_fraction"] == 0
    stretched = m.confidence_diagnostics(binary(phi), binary(2 * phi - 2.5), bins=6)  # y = 2x − 2.5
    for key in ("slope", "slope_binned", "slope_low", "slope_high", "slope_unclipped", "spread_ratio"):
        assert abs(stretched[key] - 2) < 1e-8, key
    assert abs(stretched["correlation"] - 1) < 1e-12
    assert abs(stretched["slope"] - stretched["correlation"] * stretched["spread_ratio"]) < 1e-12
    # below y = x exactly where x < 2.5
    assert stretched["frac_below"] == pytest.approx(np.mean(phi < 2.5))


def test_confidence_diagnostics_flags_clipped_points(rng):
    phi = rng.uniform(0.5, 4.0, size=20)
    student = binary(phi)
    student[:5] = [1.0, 0.0]  # saturated: φ sits at the clip
    result = m.confidence_diagnostics(binary(phi), student, bins=4)
    assert result["clipped_fraction"] == pytest.approx(0.25)
    assert abs(result["slope_unclipped"] - 1) < 1e-12 and result["slope"] != pytest.approx(1)
    with pytest.raises(ValueError, match="bins must be an integer >= 2"):
        m.confidence_diagnostics(binary(phi), student, bins=1)


# ---------------------------------------------------------------- eigen progress: filters and matched deficit


@given(seed=seeds, n=st.integers(4, 30), num_classes=st.integers(1, 4), rate=st.floats(0.1, 1.0),
       distilled=st.booleans())
def test_filter_group_progress_equals_group_progress_of_the_filters_outputs(seed, n, num_classes, rate,
                                                                           distilled):
    import theory as th
    from theory.spectral import Spectrum

    rng = np.random.default_rng(seed)
    spectrum = Spectrum.from_features(rng.normal(size=(n, n + 2)))
    targets, initial = rng.normal(size=(n, num_classes)), rng.normal(size=(n, num_classes))
    learning_rate = rate / spectrum.eigenvalues[0]
    flt = th.gd(learning_rate, [0, 1, 7, 40])
    if distilled:
        flt = flt * th.gd(learning_rate, 13)
    energy = np.sum(spectrum.coordinates(targets - initial) ** 2, axis=-1)
    groups = {"top": np.arange(0, n // 2), "bottom": np.arange(n // 2, n)}
    closed = m.filter_group_progress(flt, spectrum.eigenvalues, energy, groups)
    assert list(m.filter_group_progress(flt, spectrum.eigenvalues, energy, list(groups.values()))[0]) == \
        list(closed["top"])  # a sequence of groups gives a list in the same order
    outputs = th.predict(spectrum, targets, flt, f_train_0=initial).train  # (4, n, C)
    for name, directions in groups.items():
        measured = m.group_progress(spectrum, outputs, targets, directions, initial)
        np.testing.assert_allclose(closed[name], measured, rtol=1e-9, atol=1e-12)


def test_filter_group_progress_refuses_bad_input():
    import theory as th

    with pytest.raises(ValueError, match="energy must have the shape of eigenvalues"):
        m.filter_group_progress(th.flow(1.0), [2.0, 1.0], [1.0], [np.arange(1)])
    with pytest.raises(ValueError, match="energy must be non-negative"):
        m.filter_group_progress(th.flow(1.0), [2.0, 1.0], [1.0, -1.0], [np.arange(1)])
    with pytest.raises(ValueError, match=r"groups\['bottom'\] must select eigendirections with target energy"):
        m.filter_group_progress(th.flow(1.0), [2.0, 1.0], [1.0, 0.0], {"top": [0], "bottom": [1]})


def test_matched_deficit_hand_worked():
    # one-hot curve through (0, 0), (0.5, 0.2), (1, 0.6), given out of order
    onehot_top, onehot_bottom = [1.0, 0.0, 0.5], [0.6, 0.0, 0.2]
    student_top, student_bottom = [0.25, -0.1, 0.75, 1.0, 2.0], [0.0, 0.0, 0.5, 0.5, 0.0]
    deficit = m.matched_deficit(onehot_top, onehot_bottom, student_top, student_bottom)
    # at 0.25: 0.1 − 0; at 0.75: 0.4 − 0.5; at 1.0 (the end of the range): 0.6 − 0.5; −0.1 and 2.0 dropped
    np.testing.assert_allclose(deficit, [0.1, -0.1, 0.1], atol=1e-15)
    # points sharing a top progress enter with their mean bottom progress
    np.testing.assert_allclose(m.matched_deficit([0.0, 1.0, 1.0], [0.0, 0.4, 0.8], [0.5, 1.0], [0.0, 0.0]),
                               [0.3, 0.6])
    assert m.matched_deficit([0.2, 0.4], [0.1, 0.2], [0.0, 0.5], [0.0, 0.0]).shape == (0,)  # nothing matched


@given(seed=seeds, m_points=st.integers(1, 15), k_points=st.integers(0, 15), ties=st.booleans())
def test_matched_deficit_ignores_the_order_of_the_onehot_points(seed, m_points, k_points, ties):
    rng = np.random.default_rng(seed)
    # with ties, top progress takes few distinct values, so that several points share one
    onehot_top = rng.integers(0, 4, m_points) / 4.0 if ties else rng.uniform(0, 1, m_points)
    onehot_bottom = rng.uniform(0, 1, m_points)
    student_top, student_bottom = rng.uniform(-0.2, 1.2, k_points), rng.uniform(0, 1, k_points)
    expected = m.matched_deficit(onehot_top, onehot_bottom, student_top, student_bottom)
    order = rng.permutation(m_points)
    np.testing.assert_array_equal(
        m.matched_deficit(onehot_top[order], onehot_bottom[order], student_top, student_bottom), expected)


@given(seed=seeds, m_points=st.integers(1, 15), k_points=st.integers(0, 15))
def test_matched_deficit_never_extrapolates(seed, m_points, k_points):
    rng = np.random.default_rng(seed)
    onehot_top, onehot_bottom = rng.uniform(0.2, 0.8, m_points), rng.uniform(0, 1, m_points)
    student_top, student_bottom = rng.uniform(0, 1, k_points), rng.uniform(0, 1, k_points)
    deficit = m.matched_deficit(onehot_top, onehot_bottom, student_top, student_bottom)
    inside = (student_top >= onehot_top.min()) & (student_top <= onehot_top.max())
    assert deficit.shape == (int(inside.sum()),)  # exactly the student points within the one-hot range
    # the interpolated one-hot value stays within the one-hot bottom values (no extrapolated trend)
    matched = deficit + student_bottom[inside]
    assert np.all(matched >= onehot_bottom.min() - 1e-12) and np.all(matched <= onehot_bottom.max() + 1e-12)
    # student points outside the range change nothing
    outside_top = np.concatenate([student_top, [onehot_top.min() - 0.1, onehot_top.max() + 0.1]])
    outside_bottom = np.concatenate([student_bottom, [0.5, 0.5]])
    np.testing.assert_array_equal(m.matched_deficit(onehot_top, onehot_bottom, outside_top, outside_bottom), deficit)


def test_matched_deficit_of_the_closed_form_is_positive():
    """Exaggerated-bias theorem (docs/maths.md §3): gradient-flow student below the one-hot curve."""
    import theory as th

    eigenvalues, energy = np.array([4.0, 2.0, 0.5, 0.1]), np.ones(4)
    groups = [np.arange(2), np.arange(2, 4)]
    times = np.geomspace(0.01, 50.0, 60)
    onehot = m.filter_group_progress(th.flow(times), eigenvalues, energy, groups)
    student = m.filter_group_progress(th.flow(times) * th.flow(1.5), eigenvalues, energy, groups)
    deficit = m.matched_deficit(*onehot, *student)
    assert deficit.size > 30 and np.all(deficit > 0)


def test_matched_deficit_refuses_bad_input():
    with pytest.raises(ValueError, match="onehot_bottom must have the shape of onehot_top"):
        m.matched_deficit([0.0, 1.0], [0.0], [0.5], [0.1])
    with pytest.raises(ValueError, match="student_top must be finite"):
        m.matched_deficit([0.0, 1.0], [0.0, 1.0], [np.nan], [0.1])
    with pytest.raises(ValueError, match="onehot_top must hold at least one point"):
        m.matched_deficit([], [], [0.5], [0.1])


# ---------------------------------------------------------------- issue 11: degenerate teachers, batch axes


@pytest.mark.parametrize("teacher", [m.softmax(np.zeros((1347, 10))), np.full((30, 3), 1 / 3),
                                     m.softmax(np.tile([[0.3, -1.0, 2.0]], (50, 1)))],
                         ids=["initialised", "uniform", "same-row"])
def test_constant_confidence_teacher_is_refused(teacher):
    student = m.softmax(np.random.default_rng(0).normal(size=teacher.shape))
    for call in (lambda: m.exaggeration(teacher, student), lambda: m.confidence_diagnostics(teacher, student)):
        with pytest.raises(ValueError, match="p_teacher must have a teacher confidence φ_teacher that varies over "
                                             "the points, got an identical"):
            call()
    x = m.logit_confidence(teacher.max(axis=1))
    assert all(math.isnan(v) for v in m.ols_line(x, np.arange(x.size, dtype=float)))  # round-off spread: no line


def test_tiny_but_real_spread_is_kept():
    p = np.linspace(0.6, 0.6 + 1e-9, 40)
    teacher = np.stack([p, 1 - p], axis=1)
    assert np.isfinite(m.exaggeration(teacher, teacher, bins=2).slope)


def test_one_hot_teacher_is_refused():
    labels = np.arange(30) % 3
    teacher, student = np.eye(3)[labels], m.softmax(np.random.default_rng(1).normal(size=(30, 3)))
    with pytest.raises(ValueError, match=r"p_teacher must not be one-hot \(saturated\): every chosen probability is "
                                         "at the clip"):
        m.exaggeration(teacher, student)
    with pytest.raises(ValueError, match="p_teacher must not be one-hot"):
        m.exaggeration(teacher, student, classes="true", labels=(labels + 1) % 3)  # φ = −16.1 everywhere


def test_class_count_mismatch_names_the_shapes():
    teacher = m.softmax(np.random.default_rng(2).normal(size=(5, 3)))
    for call in (lambda: m.fidelity(teacher, teacher[:, :2]), lambda: m.exaggeration(teacher, teacher[:, :2]),
                 lambda: m.fidelity(teacher[:, :2], teacher)):
        with pytest.raises(ValueError, match=r"p_student must have the shape of p_teacher, \(5, [23]\), got shape "
                                             r"\(5, [23]\)"):
            call()


def test_agreement_metrics_accept_a_trajectory():
    rng = np.random.default_rng(3)
    trajectory = m.softmax(rng.normal(size=(4, 2, 25, 3)))  # (T, P, n, C)
    teacher, labels = m.softmax(rng.normal(size=(25, 3))), rng.integers(0, 3, 25)
    flat = trajectory.reshape(-1, 25, 3)
    for metric in (m.accuracy, m.nll, m.expected_calibration_error):
        values = metric(trajectory, labels)
        assert values.shape == (4, 2)
        np.testing.assert_array_equal(values.ravel(), [metric(p, labels) for p in flat])
    report = m.classification_report(trajectory, labels)
    assert report["n"] == 25 and report["accuracy"].shape == (4, 2)
    fidelity = m.fidelity(teacher, trajectory)  # the teacher broadcasts over the student's leading axes
    assert fidelity.kl.shape == fidelity.agreement.shape == (4, 2)
    np.testing.assert_array_equal(fidelity.kl.ravel(), [m.fidelity(teacher, p).kl for p in flat])
    np.testing.assert_array_equal(m.fidelity(trajectory, trajectory).kl, 0.0)
    assert isinstance(m.accuracy(flat[0], labels), float) and isinstance(m.fidelity(teacher, flat[0]).kl, float)
    with pytest.raises(ValueError, match="rows of p must sum to 1"):
        m.accuracy(trajectory * 1.1, labels)


def test_confidence_fits_refuse_a_trajectory_with_a_hint():
    rng = np.random.default_rng(4)
    teacher, trajectory = m.softmax(rng.normal(size=(25, 3))), m.softmax(rng.normal(size=(4, 25, 3)))
    for call in (lambda: m.exaggeration(teacher, trajectory), lambda: m.confidence_diagnostics(teacher, trajectory)):
        with pytest.raises(ValueError, match=r"p_student must be 2-D \(n, C\) here, got shape \(4, 25, 3\): .*loop "
                                             "over it"):
            call()
