"""Regime variables (theory.metrics.regime): slope = r·σ_S/σ_T, exact φ from logits, saturation, clipping."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory.metrics import exaggeration, fidelity, logit_confidence, phi_from_logits, regime, softmax


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(3, 60), classes=st.integers(2, 6), scale=st.floats(0.1, 5.0))
def test_slope_is_correlation_times_spread_ratio(seed, n, classes, scale):
    rng = np.random.default_rng(seed)
    teacher = scale * rng.normal(size=(n, classes))
    student = 0.8 * teacher + rng.normal(size=(n, classes))
    r = regime(teacher, student)
    if np.isfinite(r.slope) and np.isfinite(r.correlation):
        assert abs(r.slope - r.correlation * r.spread_ratio) <= 1e-12 * max(1.0, abs(r.slope))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), classes=st.integers(2, 8), scale=st.floats(0.01, 3.0))
def test_exact_phi_equals_the_clipped_form_where_clipping_is_inactive(seed, classes, scale):
    z = scale * np.random.default_rng(seed).normal(size=(20, classes))  # |φ| far below the clip's 16.1
    p = softmax(z)
    top = np.argmax(z, axis=1)
    clipped = logit_confidence(p[np.arange(20), top])
    np.testing.assert_allclose(phi_from_logits(z), clipped, rtol=1e-9, atol=1e-9)
    other = (top + 1) % classes
    np.testing.assert_allclose(phi_from_logits(z, other), logit_confidence(p[np.arange(20), other]),
                               rtol=1e-9, atol=1e-9)


def test_exact_phi_differs_from_the_clipped_form_when_saturated():
    z = np.array([[40.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 25.0, 0.0]])
    exact = phi_from_logits(z)
    np.testing.assert_allclose(exact[[0, 2]], [40.0 - np.log(2.0), 25.0 - np.log(2.0)], rtol=1e-14)
    clipped = logit_confidence(softmax(z).max(axis=1))
    assert abs(clipped[0]) < 16.2 and exact[0] > 39  # the clip caps φ at log((1 − 1e-7)/1e-7) ≈ 16.1
    r = regime(z, 1.1 * z)
    assert r.clip_moved == pytest.approx(2 / 3)


def test_regime_variables_against_their_definitions():
    rng = np.random.default_rng(0)
    teacher = 4.0 * rng.normal(size=(200, 5))
    student = 0.5 * teacher + rng.normal(size=(200, 5))
    r = regime(teacher, student, temperature=2.0)
    targets = softmax(teacher / 2.0)
    assert r.saturation == pytest.approx(np.mean(targets.max(axis=1) > 1 - 1e-3))
    assert r.teacher_entropy == pytest.approx(np.mean(-np.sum(targets * np.log(targets), axis=1)), rel=1e-12)
    fid = fidelity(softmax(teacher), softmax(student))
    assert (r.kl, r.agreement) == (pytest.approx(fid.kl), pytest.approx(fid.agreement))
    # where nothing is clipped, the exact slope is the toolkit's exaggeration slope
    if r.clip_moved == 0:
        assert r.slope == pytest.approx(exaggeration(softmax(teacher), softmax(student)).slope, rel=1e-9)
    assert r.slope_clipped == pytest.approx(exaggeration(softmax(teacher), softmax(student)).slope, rel=1e-9)


def test_saturated_teacher_is_counted():
    teacher = np.array([[20.0, 0.0], [0.1, 0.0], [-15.0, 0.0], [1.0, 0.0]])
    assert regime(teacher, teacher).saturation == 0.5
    assert regime(teacher, teacher, temperature=10.0).saturation == 0.0  # soft targets at τ = 10


def test_regime_refuses_bad_input():
    with pytest.raises(ValueError, match="student_logits must have the shape"):
        regime(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="at least 2 classes"):
        phi_from_logits(np.zeros((3, 1)))
    with pytest.raises(ValueError, match="temperature"):
        regime(np.ones((3, 2)), np.ones((3, 2)), temperature=0.0)
