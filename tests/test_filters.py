"""Filters: closed forms against explicit loops, limits, composition, effective time, the exaggerated-bias theorem."""
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import theory as th

eigenvalue_arrays = st.lists(st.floats(0.0, 1.0), min_size=1, max_size=12).map(np.array)


def explicit_gd_factor(scaled, steps):
    """(1 − (1 − x)^t) by iterating the scalar GD recursion g ← g + x (1 − g) t times."""
    g = np.zeros_like(scaled)
    for _ in range(steps):
        g = g + scaled * (1.0 - g)
    return g


@given(eigenvalues=eigenvalue_arrays, rate=st.floats(0.01, 1.9), steps=st.integers(0, 60))
def test_gd_factor_equals_the_recursion(eigenvalues, rate, steps):
    learning_rate = rate / max(eigenvalues.max(), 1e-3)
    assume(learning_rate * eigenvalues.max() < 1.9)
    expected = explicit_gd_factor(learning_rate * eigenvalues, steps)
    np.testing.assert_allclose(th.gd(learning_rate, steps)(eigenvalues), expected, atol=1e-12)


@given(eigenvalues=eigenvalue_arrays, time=st.one_of(st.just(0.0), st.floats(1e-3, 50.0)), steps_exponent=st.integers(2, 5))
def test_gd_tends_to_flow_as_step_shrinks(eigenvalues, time, steps_exponent):
    steps = 10**steps_exponent
    gd = th.gd(learning_rate=time / steps if time > 0 else 1.0, steps=steps if time > 0 else 0)
    flow = th.flow(time)
    # |(1 − λt/N)^N − e^{−λt}| ≤ e^{−λt} (λt)²/(2N) (1 + o(1)): first-order in the step.
    bound = 0.6 * (eigenvalues * time) ** 2 / steps * np.exp(-eigenvalues * time) + 1e-12
    assert np.all(np.abs(gd(eigenvalues) - flow(eigenvalues)) <= bound)


@given(eigenvalues=eigenvalue_arrays, time=st.floats(0.0, 1e3))
def test_over_eigenvalue_is_factor_over_eigenvalue_and_finite_at_zero(eigenvalues, time):
    eigenvalues = np.concatenate([eigenvalues, [0.0, 1e-300]])
    for flt, limit in [
        (th.flow(time), time),
        (th.gd(0.5, int(time)), 0.5 * int(time)),
        (th.ridge(0.1 + time), 1.0 / (0.1 + time)),
    ]:
        over = flt.over_eigenvalue(eigenvalues)
        assert np.all(np.isfinite(over))
        assert over[-2] == pytest.approx(limit, rel=1e-12)
        assert over[-1] == pytest.approx(limit, rel=1e-9)
        big = eigenvalues > 1e-3
        np.testing.assert_allclose(over[big] * eigenvalues[big], flt(eigenvalues)[big], rtol=1e-12, atol=1e-300)


def test_complements_are_accurate_where_factor_is_one():
    eigenvalues = np.array([1.0, 0.5])
    np.testing.assert_allclose(th.flow(100.0).complement(eigenvalues), np.exp(-100.0 * eigenvalues), rtol=1e-14)
    np.testing.assert_allclose(th.gd(0.5, 200).complement(eigenvalues), (1 - 0.5 * eigenvalues) ** 200, rtol=1e-12)
    student = th.flow(60.0) * th.flow(60.0)
    expected = 2 * np.exp(-60 * eigenvalues) - np.exp(-120 * eigenvalues)  # 1 − (1 − a)², a = e^{−λt}
    np.testing.assert_allclose(student.complement(eigenvalues), expected, rtol=1e-13)


def test_trajectory_shapes_broadcast():
    eigenvalues = np.linspace(0, 1, 7)
    assert th.gd(0.5, np.arange(11))(eigenvalues).shape == (11, 7)
    assert th.flow(np.ones((2, 3)))(eigenvalues).shape == (2, 3, 7)
    student = th.gd(0.5, np.arange(5)[:, None]) * th.gd(0.5, np.arange(4))
    assert student.batch_shape == (5, 4) and student(eigenvalues).shape == (5, 4, 7)
    np.testing.assert_array_equal(th.gd(0.5, np.arange(11))(eigenvalues)[0], np.zeros(7))


@given(
    eigenvalues=eigenvalue_arrays,
    steps=st.lists(st.integers(0, 200), min_size=3, max_size=3),
    rate=st.floats(0.05, 1.0),
)
def test_composition_is_associative_and_stays_in_unit_interval(eigenvalues, steps, rate):
    a, b, c = (th.gd(rate, s) for s in steps)
    left, right = (a * b) * c, a * (b * c)
    np.testing.assert_allclose(left(eigenvalues), right(eigenvalues), atol=1e-15)
    np.testing.assert_allclose(left.over_eigenvalue(eigenvalues), right.over_eigenvalue(eigenvalues), rtol=1e-14)
    factors = left(eigenvalues)
    assert np.all((factors >= 0.0) & (factors <= 1.0))
    assert np.all((left.complement(eigenvalues) >= 0.0) & (left.complement(eigenvalues) <= 1.0))
    assert repr(left) == repr(right) == " * ".join(repr(f) for f in (a, b, c))


def test_interpolation_limit_and_ridge_limit():
    eigenvalues = np.array([4.0, 1.0, 1e-3, 0.0])
    np.testing.assert_array_equal(th.interpolate()(eigenvalues), [1, 1, 1, 0])
    np.testing.assert_allclose(th.gd(0.25, 100_000)(eigenvalues), [1, 1, 1, 0], atol=1e-10)  # (1 − 2.5e-4)^1e5 = e^{-25}
    np.testing.assert_allclose(th.ridge(1e-12)(eigenvalues), th.interpolate()(eigenvalues), atol=1e-8)
    np.testing.assert_allclose(th.interpolate().over_eigenvalue(eigenvalues), [0.25, 1.0, 1e3, 0.0])


def test_mix_and_its_composition():
    eigenvalues = np.linspace(0, 1, 5)
    teacher = th.flow(2.0)
    for xi in (0.0, 0.3, 1.0, 1.7, -0.5):
        mixed = th.mix(xi, teacher)
        np.testing.assert_allclose(mixed(eigenvalues), 1 - xi + xi * teacher(eigenvalues))
        student = th.flow(1.0) * mixed
        np.testing.assert_allclose(student(eigenvalues), th.flow(1.0)(eigenvalues) * mixed(eigenvalues))
        assert np.all(np.isfinite(student.over_eigenvalue(eigenvalues)))
    with pytest.raises(TypeError, match="target transform"):
        th.mix(0.5, teacher).over_eigenvalue(eigenvalues)


@given(
    eigenvalues=eigenvalue_arrays,
    steps=st.integers(0, 80),
    switch=st.integers(0, 80),
    teacher_steps=st.integers(0, 80),
)
def test_late_switch_equals_piecewise_recursion(eigenvalues, steps, switch, teacher_steps):
    rate = 0.9
    switch = min(switch, steps)  # a switch after the last step is refused (it would be th.gd)
    teacher = explicit_gd_factor(rate * eigenvalues, teacher_steps)
    g = np.zeros_like(eigenvalues)
    for t in range(steps):
        target = 1.0 if t < switch else teacher  # one-hot labels (coordinate 1), then the teacher's outputs
        g = g + rate * eigenvalues * (target - g)
    flt = th.late_switch(rate, steps, switch, th.gd(rate, teacher_steps))
    np.testing.assert_allclose(flt(eigenvalues), g, atol=1e-12)
    np.testing.assert_allclose(1.0 - flt.complement(eigenvalues), g, atol=1e-12)


# ----------------------------------------------------------------------------- effective time and the theorem
def test_effective_time_of_single_filters():
    eigenvalues = np.array([0.0, 1e-9, 0.3, 1.0])
    np.testing.assert_allclose(th.flow(3.0).effective_time(eigenvalues), 3.0, rtol=1e-12)
    np.testing.assert_allclose(th.gd(0.5, 70).effective_time(eigenvalues, learning_rate=0.5), 70.0, rtol=1e-12)
    # in GD steps a direction with ηλ ≥ 1 has no effective time (one step completes it)
    assert np.isnan(th.gd(1.0, 5).effective_time(np.array([1.0, 0.5]), learning_rate=1.0)[0])
    # stable where progress → 1: 1 − g = e^{−100} is below float64 resolution of g itself
    assert th.flow(100.0).effective_time(np.array([1.0]))[0] == pytest.approx(100.0, rel=1e-12)


flow_times = st.floats(0.01, 10.0)


@given(
    top=st.floats(0.05, 5.0),
    ratio=st.floats(0.01, 0.9),
    student_time=flow_times,
    teacher_time=flow_times,
)
def test_exaggerated_bias_theorem_gradient_flow(top, ratio, student_time, teacher_time):
    """Matched progress on the top direction ⇒ the student has strictly less progress on the bottom one."""
    bottom = top * ratio
    student = lambda lam: (1 - np.exp(-lam * student_time)) * (1 - np.exp(-lam * teacher_time))  # noqa: E731
    c_top = student(top)
    onehot_time = -np.log1p(-c_top) / top  # one-hot model with the same top progress
    onehot_bottom = 1 - np.exp(-bottom * onehot_time)
    # the gap closes as the teacher converges (T → ∞); keep it above float64 round-off
    # (and as the student converges); keep both unconverged on the bottom direction
    assume(onehot_bottom > 1e-9 and min(np.exp(-bottom * teacher_time), np.exp(-bottom * student_time)) > 1e-8)
    assert student(bottom) < onehot_bottom
    # the same statement through the toolkit: the student's effective time increases with λ
    tau = (th.flow(student_time) * th.flow(teacher_time)).effective_time(np.array([bottom, top]))
    assert tau[0] < tau[1]


@given(
    top=st.floats(0.05, 0.95),
    ratio=st.floats(0.01, 0.9),
    student_steps=st.integers(1, 300),
    teacher_steps=st.integers(1, 300),
)
def test_exaggerated_bias_theorem_gradient_descent(top, ratio, student_steps, teacher_steps):
    bottom = top * ratio  # ηλ values, learning rate 1
    student = th.gd(1.0, student_steps) * th.gd(1.0, teacher_steps)
    c_top, c_bottom = student(np.array([top, bottom]))
    assume(c_top < 1 - 1e-9)
    rho = lambda x: -np.log1p(-x)  # noqa: E731
    onehot_bottom = 1 - (1 - c_top) ** (rho(bottom) / rho(top))
    # neither teacher nor student converged on the bottom direction (the gap closes there)
    assume(onehot_bottom > 1e-9 and (1 - bottom) ** max(teacher_steps, student_steps) > 1e-8)
    assert c_bottom < onehot_bottom


def test_students_curve_approaches_onehot_curve_as_teacher_time_grows():
    """At matched top progress 0.5, the student's bottom-progress deficit shrinks as the teacher trains longer."""
    top, bottom, matched = 1.0, 0.1, 0.5
    onehot_bottom = 1 - (1 - matched) ** (bottom / top)
    deficits = []
    for teacher_time in (1.0, 3.0, 10.0, 100.0):
        student_time = -np.log1p(-matched / -np.expm1(-top * teacher_time)) / top  # solves c_top = 0.5
        c_top, c_bottom = (th.flow(student_time) * th.flow(teacher_time))(np.array([top, bottom]))
        assert c_top == pytest.approx(matched, rel=1e-12)
        deficits.append(onehot_bottom - c_bottom)
    assert np.all(np.diff(deficits) < 0) and deficits[-1] > 0 and deficits[-1] < 1e-3


# ----------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: th.gd(0.0, 10), "learning_rate"),
        (lambda: th.gd(0.1, -1), "steps"),
        (lambda: th.gd(0.1, 2.5), "whole numbers"),
        (lambda: th.flow(-1.0), "time"),
        (lambda: th.flow(np.nan), "finite"),
        (lambda: th.ridge(0.0), "strength"),
        (lambda: th.mix(np.nan, th.flow(1.0)), "teacher_weight"),
        (lambda: th.late_switch(0.1, 10, -2, th.gd(0.1, 5)), "switch_step"),
        (lambda: th.late_switch(0.1, 10, 20, th.gd(0.1, 5)),
         r"switch_step must be <= the last of steps = 10 \(a switch after the last step never takes effect"),
        (lambda: th.late_switch(0.1, [0, 5, 10], 11, th.gd(0.1, 5)), r"switch_step must be <= the last of steps = 10"),
        (lambda: th.late_switch(0.1, 10, [2, 3], th.gd(0.1, 5)), "switch_step must be a single"),
    ],
)
def test_bad_parameters_refused(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_late_switch_at_the_last_step_is_gd():
    """switch_step = the last step is allowed (the trajectory ends at the switch) and equals th.gd."""
    eigenvalues = np.array([0.0, 0.3, 1.0])
    for steps in (10, np.arange(11)):
        np.testing.assert_allclose(th.late_switch(0.5, steps, 10, th.gd(0.5, 4))(eigenvalues),
                                   th.gd(0.5, steps)(eigenvalues), atol=1e-15)


def test_unstable_learning_rate_and_bad_eigenvalues_refused():
    with pytest.raises(ValueError, match="unstable"):
        th.gd(1.0, 5)(np.array([2.0, 1.0]))
    with pytest.raises(ValueError, match=">= 0"):
        th.flow(1.0)(np.array([1.0, -0.5]))
    with pytest.raises(ValueError, match="NaN"):
        th.flow(1.0)(np.array([np.nan]))
    with pytest.raises(TypeError):
        th.mix(0.5, "teacher")
    with pytest.raises(TypeError):
        th.gd(0.1, 2) * 3


# ---------------------------------------------------------------------------------------------------
# filters are values: equality, hashing, a repr that evaluates back


def _evaluate(text):
    return eval(text, {"range": range, **vars(th)})  # noqa: S307 -- our own repr, in a test


@given(rate=st.floats(1e-6, 10.0), steps=st.lists(st.integers(0, 10**6), min_size=1, max_size=5),
       time=st.floats(0.0, 1e6), strength=st.floats(1e-9, 1e9), weight=st.floats(-3.0, 3.0))
def test_repr_evaluates_back_to_an_equal_filter(rate, steps, time, strength, weight):
    steps = steps[0] if len(steps) == 1 else np.array(steps)
    filters = [th.gd(rate, steps), th.flow(time), th.ridge(strength), th.interpolate(), th.interpolate(1e-3),
               th.mix(weight, th.gd(rate, steps)), th.late_switch(rate, steps, min(7, int(np.max(steps))), th.flow(time)),
               th.gd(rate, steps) * th.ridge(strength) * th.flow(time)]
    for f in filters:
        again = _evaluate(repr(f))
        assert again == f and hash(again) == hash(f)
        eigenvalues = np.array([0.0, 1e-3, 0.05]) / rate
        np.testing.assert_array_equal(again(eigenvalues), f(eigenvalues))


def test_filters_are_frozen_values():
    import dataclasses

    teacher = th.gd(0.1, 10)
    assert teacher == th.gd(learning_rate=0.1, steps=10) and teacher != th.gd(0.1, 11)
    assert teacher != th.flow(1.0) and len({teacher, th.gd(0.1, 10), th.flow(1.0)}) == 2
    assert th.gd(0.1, np.arange(0, 100, 10)) == th.gd(0.1, range(0, 100, 10))
    assert repr(th.gd(0.1, np.arange(0, 100, 10))) == "gd(learning_rate=0.1, steps=range(0, 100, 10))"
    with pytest.raises(dataclasses.FrozenInstanceError):
        teacher.steps = 5
    assert dataclasses.replace(teacher, steps=20) == th.gd(0.1, 20)
    with pytest.raises(ValueError, match="steps"):
        dataclasses.replace(teacher, steps=-1)
    assert (th.gd(0.1, 10) * th.flow(2.0)) * th.ridge(1.0) == th.gd(0.1, 10) * (th.flow(2.0) * th.ridge(1.0))
