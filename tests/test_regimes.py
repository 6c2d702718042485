"""Tests of theory.regimes (kernel self-distillation maps) and of the two figures built on it."""
import numpy as np
import pytest
from scipy.spatial.distance import pdist

from theory import metrics
from theory.dynamics import kernel_ce_gd
from theory.metrics import softmax
from theory.regimes import confidence_diagnostics, kernel_task, median_lengthscale, regime_map


def test_median_lengthscale_is_the_median_pairwise_distance(rng):
    x = rng.normal(size=(40, 3))
    assert abs(median_lengthscale(x) - np.median(pdist(x))) < 1e-10
    with pytest.raises(ValueError, match="n >= 2"):
        median_lengthscale(np.ones((1, 3)))
    with pytest.raises(ValueError, match="median pairwise distance is 0"):
        median_lengthscale(np.zeros((5, 2)))


def test_confidence_diagnostics_is_reexported_from_metrics():
    """theory.regimes.confidence_diagnostics stays importable for one release (tests in test_metrics.py)."""
    assert confidence_diagnostics is metrics.confidence_diagnostics


@pytest.fixture(scope="module")
def small_map():
    task = kernel_task("mixture", n_train=120)
    result = regime_map(task, teacher_steps=[30, 60], student_steps=[15, 60], temperatures=[1.0, 3.0],
                        noise_rates=[0.0, 0.2], bottom=(20, 80), bins=8, keep_logits=True)
    return task, result


def test_regime_map_shapes_and_finite_numbers(small_map):
    _, result = small_map
    assert result.student["test_slope"].shape == (2, 2, 2, 2)
    assert result.teacher["test_accuracy"].shape == (2, 2)
    for group in (result.teacher, result.student):
        for key, value in group.items():
            if key.endswith("slope_unclipped") or key.endswith("slope_low") or key.endswith("slope_high"):
                continue  # NaN allowed when a group has fewer than two points
            assert np.all(np.isfinite(value)), key
    for key in ("test_accuracy", "train_accuracy_clean", "test_frac_low_below", "train_frac_below"):
        assert np.all((result.student[key] >= 0) & (result.student[key] <= 1))
    assert len(result.table()) == 16 and "test_slope" in result.table()[0]
    assert "grid(N, T, S, U)=(2, 2, 2, 2)" in repr(result)


def test_regime_map_equals_direct_simulations(small_map):
    """Checkpointed, vmapped runs equal single kernel_ce_gd runs of the teacher and of one student."""
    task, result = small_map
    noisy = task.data.with_label_noise(0.2, seed=0)
    teacher = kernel_ce_gd(task.k_train_train, noisy.one_hot_train(), learning_rate=task.learning_rate, steps=60,
                           record_every=30, k_train_test=task.k_train_test)
    logits = result.logits
    np.testing.assert_allclose(logits["teacher_train"][1], teacher.train[1:], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(logits["teacher_test"][1], teacher.test[1:], rtol=1e-9, atol=1e-9)
    student = kernel_ce_gd(task.k_train_train, softmax(teacher.train[2], 3.0), learning_rate=task.learning_rate,
                           steps=60, record_every=15, k_train_test=task.k_train_test, temperature=3.0,
                           targets_temperature=3.0, scale_by_temperature_squared=True)
    np.testing.assert_allclose(logits["student_train"][1, 1, 1, 0], student.train[1], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(logits["student_test"][1, 1, 1, 1], student.test[-1], rtol=1e-9, atol=1e-9)
    accuracy = metrics.accuracy(softmax(teacher.test[-1]), task.data.y_test)
    assert result.teacher["test_accuracy"][1, 1] == accuracy


def test_regime_map_rejects_bad_input(small_map):
    task, _ = small_map
    good = dict(teacher_steps=[10], student_steps=[10])
    for change, message in [
        (dict(teacher_steps=[20, 10]), "teacher_steps must be a non-empty increasing"),
        (dict(student_steps=[0]), "student_steps must be a non-empty increasing"),
        (dict(temperatures=[0.0]), "temperatures must be"),
        (dict(noise_rates=[1.0]), "noise_rates must be"),
        (dict(bottom=(20, 500)), "bottom must be an eigen-index range"),
    ]:
        with pytest.raises(ValueError, match=message):
            regime_map(task, **(good | change))
    with pytest.raises(ValueError, match="rate_fraction must lie in"):
        kernel_task("mixture", n_train=50, rate_fraction=1.0)
    with pytest.raises(ValueError, match="Unknown dataset"):
        kernel_task("nope")


def test_eigen_progress_is_reexported_from_metrics():
    from theory import spectral

    assert metrics.eigen_progress is spectral.progress and metrics.group_progress is spectral.group_progress


# ------------------------------------------------------------------------------ figures (quick modes)


def finite(value):
    if isinstance(value, dict):
        return all(finite(v) for v in value.values())
    if isinstance(value, (list, tuple, np.ndarray)):
        return all(finite(v) for v in np.asarray(value, dtype=object).ravel()) if len(value) else True
    if isinstance(value, (float, int, np.floating, np.integer)) and not isinstance(value, bool):
        return bool(np.isfinite(value))
    return True


@pytest.mark.parametrize("name", ["exaggeration_theory", "generalization"])
def test_figure_quick_mode_writes_finite_numbers_and_valid_verdicts(name):
    import importlib

    module = importlib.import_module(f"figures.{name}")
    data = module.compute(module.Config.quick())
    numbers = {key: value for key, value in data.items() if key not in ("config", "settings")}
    if name == "exaggeration_theory":  # slopes on halves may be NaN; the plotted numbers may not
        for panel in numbers["scatters"]:
            for split in ("train", "test"):
                assert finite({k: v for k, v in panel[split].items() if k in (
                    "phi_teacher", "phi_student", "bin_teacher", "bin_student", "slope", "intercept")})
        assert finite([{k: v for k, v in c.items() if "unclipped" not in k} for c in numbers["curves"]])
    else:
        assert finite(numbers)
    claims = [claim.to_dict() for claim in module.claims(data)]
    assert claims and {c["verdict"] for c in claims} <= {"reproduced", "not reproduced", "inconclusive", "not run"}
    for claim in claims:
        assert set(claim) == {"claim", "setting", "statement", "measured", "criterion", "verdict", "evidence"}
