"""Tests for theory.data's synthetic datasets: generators with known Bayes probabilities, label draws, the dataset container."""
import dataclasses
import doctest

import numpy as np
import pytest
import scipy.special
import scipy.stats
from hypothesis import given
from hypothesis import strategies as st

from theory.data import DATASETS, Dataset, load_dataset, symmetric_label_noise
from theory.data import generative
from theory.data import labels as labels_module
from theory.data import synthetic
from theory.data import (
    GaussianMixture,
    LogisticModel,
    SyntheticDataset,
    flip_probabilities,
    gaussian_mixture,
    load_gaussian_mixture,
    load_logistic,
    logistic_model,
    resample_labels,
)


@pytest.mark.parametrize("module", [generative, synthetic, labels_module])
def test_doctests(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


# ------------------------------------------------------------------------------------------------
# generators: p* is the Bayes posterior, computed independently


@st.composite
def mixtures(draw):
    num_classes = draw(st.integers(1, 6))
    dim = draw(st.integers(max(1, num_classes - 1), 8))
    raw_priors = np.array(draw(st.lists(st.floats(0.05, 1.0), min_size=num_classes, max_size=num_classes)))
    return gaussian_mixture(num_classes=num_classes, dim=dim, separation=draw(st.floats(0.0, 8.0)),
                            sigma=draw(st.floats(0.2, 3.0)), priors=raw_priors / raw_priors.sum(),
                            seed=draw(st.integers(0, 2**31)))


@given(mixtures(), st.integers(0, 2**31))
def test_mixture_probabilities_are_bayes_rule(model, seed):
    x, labels, p_star = model.sample(50, seed)
    assert x.shape == (50, model.input_dim) and labels.shape == (50,) and labels.dtype == np.int64
    np.testing.assert_allclose(p_star.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(p_star >= 0)
    # Bayes' rule with the Gaussian densities of scipy: π_c N(x; μ_c, σ²I) / Σ_c' π_c' N(x; μ_c', σ²I)
    log_joint = np.stack([np.log(model.priors[c]) + scipy.stats.multivariate_normal(
        model.means[c], model.sigma**2 * np.eye(model.input_dim)).logpdf(x).reshape(-1)
        for c in range(model.num_classes)], axis=1)
    np.testing.assert_allclose(p_star, scipy.special.softmax(log_joint, axis=1), atol=1e-10)


@given(st.integers(2, 7), st.floats(0.1, 6.0), st.floats(0.3, 2.0), st.integers(0, 2**31))
def test_mixture_means_form_a_centred_regular_simplex(num_classes, separation, sigma, seed):
    model = gaussian_mixture(num_classes=num_classes, dim=num_classes + 2, separation=separation, sigma=sigma,
                             seed=seed)
    distances = np.linalg.norm(model.means[:, None] - model.means[None], axis=-1)
    off_diagonal = distances[~np.eye(num_classes, dtype=bool)]
    np.testing.assert_allclose(off_diagonal, separation * sigma, rtol=1e-10)
    np.testing.assert_allclose(model.means.sum(axis=0), 0.0, atol=1e-10 * max(separation * sigma, 1))


@given(st.integers(1, 6), st.integers(1, 8), st.floats(0.0, 6.0), st.integers(0, 2**31))
def test_logistic_probabilities_are_the_softmax_of_the_logits(num_classes, dim, separation, seed):
    model = logistic_model(num_classes=num_classes, dim=dim, separation=separation, seed=seed)
    np.testing.assert_allclose(np.linalg.norm(model.weights, axis=1), separation, atol=1e-12)
    x, labels, p_star = model.sample(40, seed)
    np.testing.assert_allclose(p_star, scipy.special.softmax(x @ model.weights.T + model.bias, axis=1), atol=1e-12)
    np.testing.assert_allclose(p_star.sum(axis=1), 1.0, atol=1e-12)
    assert labels.min() >= 0 and labels.max() < num_classes


def test_sampling_is_seeded():
    model = gaussian_mixture(seed=1)
    first, second = model.sample(30, 5), model.sample(30, 5)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(model.sample(30, 6)[0], first[0])
    assert model.sample(0, 0)[0].shape == (0, model.input_dim)
    assert logistic_model().sample(0, 0)[1].shape == (0,)


# ------------------------------------------------------------------------------------------------
# sampled labels follow p*: chi-square at fixed seeds


def test_resampled_label_frequencies_match_p_star():
    p_star = np.array([[0.7, 0.2, 0.1], [0.05, 0.05, 0.9], [1 / 3, 1 / 3, 1 / 3], [0.0, 1.0, 0.0]])
    draws = 20_000
    labels = resample_labels(p_star, 0, draws=draws)
    assert labels.shape == (draws, 4) and labels.dtype == np.int64
    for i, row in enumerate(p_star):
        counts = np.bincount(labels[:, i], minlength=3)
        support = row > 0
        assert np.all(counts[~support] == 0)  # a zero-probability class is never drawn
        if support.sum() > 1:
            assert scipy.stats.chisquare(counts[support], draws * row[support]).pvalue > 1e-3


@pytest.mark.parametrize("loader", [load_gaussian_mixture, load_logistic])
def test_generated_labels_are_calibrated_to_p_star(loader):
    """Given x the label is drawn from p*(x): per bin of p*, label counts match Σ p* (Pearson, summed over bins)."""
    data = loader(n_train=20_000, n_test=10, num_classes=3, dim=3, separation=2.0, seed=3)
    p_star, labels = data.p_star_train, data.y_train
    bins = np.array_split(np.lexsort((p_star.max(axis=1), p_star.argmax(axis=1))), 20)
    statistic = 0.0
    for group in bins:
        observed = np.bincount(labels[group], minlength=3)
        expected = p_star[group].sum(axis=0)
        statistic += scipy.stats.chisquare(observed, expected).statistic
    # independent non-identical categorical draws: Pearson's statistic is at most chi-square(C − 1) per bin
    assert scipy.stats.chi2.sf(statistic, df=20 * 2) > 1e-3


def test_two_class_bayes_accuracy_matches_the_normal_cdf():
    """Two equiprobable Gaussians at distance s·σ: the Bayes accuracy is Φ(s/2)."""
    separation = 2.0
    data = load_gaussian_mixture(n_train=10, n_test=40_000, num_classes=2, dim=3, separation=separation, seed=4)
    expected = scipy.stats.norm.cdf(separation / 2)
    realised = np.mean(data.p_star_test.argmax(axis=1) == data.y_test)
    standard_error = np.sqrt(expected * (1 - expected) / data.n_test)
    assert abs(realised - expected) < 4 * standard_error
    assert abs(data.bayes_accuracy - expected) < 4 * standard_error  # E max p* has a smaller spread


def test_flip_probabilities_match_symmetric_label_noise():
    p_star = np.array([[0.6, 0.3, 0.1]])
    rate, draws = 0.3, 30_000
    clean = resample_labels(np.repeat(p_star, draws, axis=0), 1)
    noisy = symmetric_label_noise(clean, rate, 3, seed=2)
    expected = flip_probabilities(p_star, rate)[0]
    np.testing.assert_allclose(expected.sum(), 1.0)
    assert scipy.stats.chisquare(np.bincount(noisy, minlength=3), draws * expected).pvalue > 1e-3
    np.testing.assert_array_equal(flip_probabilities(p_star, 0.0), p_star)


# ------------------------------------------------------------------------------------------------
# the dataset and the loaders


def test_loaders_return_synthetic_datasets_with_matching_p_star():
    data = load_gaussian_mixture(n_train=120, n_test=80, num_classes=4, dim=5, seed=2)
    assert isinstance(data, SyntheticDataset) and isinstance(data, Dataset)
    assert data.x_train.shape == (120, 5) and data.p_star_test.shape == (80, 4)
    np.testing.assert_allclose(data.model.probabilities(data.x_train), data.p_star_train)
    np.testing.assert_allclose(data.model.probabilities(data.x_test), data.p_star_test)
    assert repr(data).startswith("SyntheticDataset(name='gaussian-mixture'") and "bayes_accuracy" in repr(data)
    assert load_gaussian_mixture().n_train == 1000  # n_train=None: the default size
    logistic = load_logistic(n_train=50, n_test=20)
    assert isinstance(logistic.model, LogisticModel) and logistic.name == "logistic"


def test_loaders_are_registered_and_seeded():
    assert DATASETS["gaussian-mixture"] is load_gaussian_mixture and DATASETS["logistic"] is load_logistic
    first = load_dataset("gaussian-mixture", seed=3, n_train=40)
    second = load_dataset("gaussian-mixture", seed=3, n_train=40)
    np.testing.assert_array_equal(first.x_train, second.x_train)
    np.testing.assert_array_equal(first.y_train, second.y_train)
    assert not np.array_equal(load_dataset("gaussian-mixture", seed=4, n_train=40).x_train, first.x_train)
    bigger = load_dataset("gaussian-mixture", seed=3, n_train=80)
    np.testing.assert_array_equal(bigger.x_test, first.x_test)  # the test set does not depend on n_train


def test_label_noise_keeps_p_star_and_reports_the_noisy_distribution():
    clean = load_logistic(n_train=300, n_test=50, seed=1)
    noisy = load_logistic(n_train=300, n_test=50, seed=1, label_noise=0.4, noise_seed=3)
    np.testing.assert_array_equal(noisy.y_train_clean, clean.y_train)
    np.testing.assert_array_equal(noisy.p_star_train, clean.p_star_train)
    assert noisy.noise_rate == 0.4 and 0.3 < noisy.realised_noise_rate < 0.5
    np.testing.assert_allclose(noisy.label_probabilities_train, flip_probabilities(clean.p_star_train, 0.4))
    np.testing.assert_array_equal(clean.label_probabilities_train, clean.p_star_train)
    assert isinstance(noisy.with_label_noise(0.0), SyntheticDataset)


def test_p_star_is_a_per_point_field_carried_with_other_fields():
    data = load_gaussian_mixture(n_train=90, n_test=40, num_classes=3, dim=3)
    assert data.train_fields["p_star"] is data.p_star_train and data.test_fields["p_star"] is data.p_star_test
    tagged = dataclasses.replace(data, train_fields=dict(data.train_fields, row=np.arange(90)))
    part = tagged.with_label_noise(0.2, seed=1).subset(n_train=30, n_test=20, seed=5)
    assert isinstance(part, SyntheticDataset) and part.model is data.model and part.noise_rate == 0.2
    rows = part.train_fields["row"]
    np.testing.assert_array_equal(part.p_star_train, data.p_star_train[rows])
    np.testing.assert_array_equal(part.x_train, data.x_train[rows])


def test_subset_keeps_p_star_paired_and_matches_the_parent_draw():
    data = load_gaussian_mixture(n_train=200, n_test=100, seed=5)
    subset = data.subset(n_train=60, n_test=30, seed=2)
    assert isinstance(subset, SyntheticDataset) and subset.n_train == 60 and subset.n_test == 30
    np.testing.assert_allclose(subset.model.probabilities(subset.x_train), subset.p_star_train)
    np.testing.assert_allclose(subset.model.probabilities(subset.x_test), subset.p_star_test)
    plain = Dataset(data.name, data.x_train, data.y_train, data.x_test, data.y_test, data.num_classes)
    reference = plain.subset(n_train=60, n_test=30, seed=2)
    np.testing.assert_array_equal(subset.x_train, reference.x_train)
    np.testing.assert_array_equal(subset.y_test, reference.y_test)


# ------------------------------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_classes=0), "num_classes"),
    (dict(num_classes=5, dim=3), "dim"),
    (dict(separation=-1.0), "separation"),
    (dict(sigma=0.0), "sigma"),
    (dict(priors=[0.5, 0.5]), "priors"),
    (dict(priors=[0.5, 0.4, 0.2]), "priors"),
    (dict(priors=[1.2, -0.1, -0.1]), "priors"),
    (dict(seed=-1), "seed"),
    (dict(n_train=0), "n_train"),
    (dict(n_test=0), "n_test"),
    (dict(label_noise=1.0), "label_noise"),
    (dict(noise_seed=1.5), "noise_seed"),
])
def test_loader_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_gaussian_mixture(**kwargs)


def test_other_bad_inputs():
    with pytest.raises(ValueError, match="p_star"):
        resample_labels(np.array([[0.5, 0.6]]), 0)
    with pytest.raises(ValueError, match="draws"):
        resample_labels(np.array([[0.5, 0.5]]), 0, draws=0)
    with pytest.raises(ValueError, match="seed"):
        resample_labels(np.array([[0.5, 0.5]]), -3)
    with pytest.raises(ValueError, match="rate"):
        flip_probabilities(np.array([[0.5, 0.5]]), 1.5)
    with pytest.raises(ValueError, match="x"):
        gaussian_mixture().probabilities(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="sigma"):
        GaussianMixture(means=np.zeros((2, 2)), sigma=-1.0, priors=np.array([0.5, 0.5]))
    with pytest.raises(ValueError, match="bias"):
        LogisticModel(weights=np.zeros((2, 2)), bias=np.zeros(3))
    with pytest.raises(ValueError, match="separation"):
        load_logistic(separation=float("nan"))
    data = load_gaussian_mixture(n_train=20, n_test=10)
    with pytest.raises(ValueError, match="p_star_train"):
        SyntheticDataset("x", data.x_train, data.y_train, data.x_test, data.y_test, data.num_classes)
    with pytest.raises(ValueError, match="p_star_test"):
        SyntheticDataset("x", data.x_train, data.y_train, data.x_test, data.y_test, data.num_classes,
                         p_star_train=data.p_star_train, p_star_test=data.p_star_train)
