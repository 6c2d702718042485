"""Spectrum: eigendecomposition conventions, clipping, refusal of bad kernels, coordinates and progress."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import theory as th


def features(seed, n, p):
    return np.random.default_rng(seed).normal(size=(n, p))


@given(seed=st.integers(0, 10_000), n=st.integers(1, 25), p=st.integers(1, 30))
def test_from_kernel_and_from_features_agree_and_reconstruct(seed, n, p):
    phi = features(seed, n, p)
    kernel = phi @ phi.T
    by_kernel = th.Spectrum.from_kernel(kernel)
    by_features = th.Spectrum.from_features(phi)
    scale = np.abs(kernel).max()
    for spectrum in (by_kernel, by_features):
        assert spectrum.eigenvalues.shape == (n,) and spectrum.eigenvectors.shape == (n, n)
        assert np.all(np.diff(spectrum.eigenvalues) <= 0), "eigenvalues must be descending"
        assert np.all(spectrum.eigenvalues >= 0)
        np.testing.assert_allclose(spectrum.eigenvectors.T @ spectrum.eigenvectors, np.eye(n), atol=1e-12)
        rebuilt = (spectrum.eigenvectors * spectrum.eigenvalues) @ spectrum.eigenvectors.T
        np.testing.assert_allclose(rebuilt, kernel, atol=1e-11 * scale)
    np.testing.assert_allclose(by_kernel.eigenvalues, by_features.eigenvalues, atol=1e-11 * scale)
    assert by_features.rank == min(n, p)


def test_round_off_negatives_clipped_to_zero():
    phi = features(0, 40, 3)
    kernel = phi @ phi.T  # rank 3: 37 eigenvalues are round-off around 0, some negative
    raw = np.linalg.eigvalsh(kernel)
    assert raw.min() < 0, "the test needs a kernel whose round-off produces negative eigenvalues"
    spectrum = th.Spectrum.from_kernel(kernel)
    assert spectrum.eigenvalues.min() == 0.0
    assert spectrum.rank == 3


def test_clearly_negative_eigenvalue_refused():
    kernel = np.diag([3.0, 1.0, -1e-3])
    with pytest.raises(ValueError, match="not positive semi-definite"):
        th.Spectrum.from_kernel(kernel)
    # the same matrix is accepted with a tolerance that calls it round-off
    assert th.Spectrum.from_kernel(kernel, psd_rtol=1e-3).eigenvalues[-1] == 0.0


@pytest.mark.parametrize(
    "kernel, message",
    [
        (np.array([[1.0, 0.5], [0.4, 1.0]]), "must be symmetric"),
        (np.array([[1.0, np.nan], [np.nan, 1.0]]), "NaN"),
        (np.ones((2, 3)), "square"),
        (np.ones(3), "2-D"),
    ],
)
def test_bad_kernels_refused(kernel, message):
    with pytest.raises(ValueError, match=message):
        th.Spectrum.from_kernel(kernel)


def test_bad_features_refused():
    with pytest.raises(ValueError, match="NaN"):
        th.Spectrum.from_features(np.array([[1.0, np.inf]]))


def test_coordinates_roundtrip_and_batch_axes(rng):
    spectrum = th.Spectrum.from_features(rng.normal(size=(12, 5)))
    outputs = rng.normal(size=(4, 12, 3))
    coordinates = spectrum.coordinates(outputs)
    assert coordinates.shape == (4, 12, 3)
    np.testing.assert_allclose(coordinates[2], spectrum.eigenvectors.T @ outputs[2], atol=1e-13)
    np.testing.assert_allclose(spectrum.reconstruct(coordinates), outputs, atol=1e-13)
    with pytest.raises(ValueError, match="rows"):
        spectrum.coordinates(np.ones((11, 3)))


@given(seed=st.integers(0, 10_000), columns=st.integers(1, 4))
def test_progress_of_a_filter_is_its_factor(seed, columns):
    rng = np.random.default_rng(seed)
    phi = rng.normal(size=(15, 6))
    spectrum = th.Spectrum.from_features(phi)
    y = rng.normal(size=(15, columns))
    start = rng.normal(size=(15, columns))
    flt = th.gd(learning_rate=0.5 / spectrum.eigenvalues[0], steps=[3, 40])
    outputs = th.predict(spectrum, y, flt, f_train_0=start).train
    measured = spectrum.progress(outputs, y, start)
    np.testing.assert_allclose(measured, flt(spectrum.eigenvalues), atol=1e-9)
    per_column = th.eigen_progress(spectrum, outputs, y, start, aggregate="none")
    assert per_column.shape == (2, 15, columns)
    np.testing.assert_allclose(per_column, np.repeat(flt(spectrum.eigenvalues)[..., None], columns, -1), atol=1e-8)
    top = spectrum.group_progress(outputs, y, np.arange(3), start)
    assert top.shape == (2,) and np.all((top >= 0) & (top <= 1))


def test_progress_undefined_direction_is_nan_and_group_refuses_empty():
    spectrum = th.Spectrum.from_kernel(np.diag([2.0, 1.0]))
    y = np.array([1.0, 0.0])  # no target energy on direction 1
    c = spectrum.progress(np.array([0.5, 0.0]), y)
    assert c[0] == pytest.approx(0.5) and np.isnan(c[1])
    with pytest.raises(ValueError, match="no component"):
        spectrum.group_progress(np.array([0.5, 0.0]), y, [1])
    with pytest.raises(ValueError, match="aggregate"):
        spectrum.progress(y, y, aggregate="mean")


def test_repr_is_readable():
    text = repr(th.Spectrum.from_kernel(np.diag([2.0, 1.0, 0.0])))
    assert text.startswith("Spectrum(n=3, rank=2")
