"""Tests for theory.data: containers, label noise, stratified subsets, standardisation, loaders."""
import doctest
import inspect
import random

import numpy as np
import pytest
import scipy.stats
from hypothesis import given
from hypothesis import strategies as st

from theory.data import dataset as dataset_module
from theory.data import embedded as embedded_module
from theory.data import features as features_module
from theory.data import labels as labels_module
from theory.data import registry as registry_module
from theory.data import (
    DATASETS,
    REGISTRY,
    Dataset,
    DatasetSpec,
    load_cifar10,
    load_dataset,
    load_digits,
    load_mnist1d,
    one_hot,
    standardize,
    stratified_indices,
    symmetric_label_noise,
)

# Small MNIST-1D in most tests: generation costs ~0.25 s per 1,000 samples and is cached per argument set.
SMALL_MNIST1D = dict(num_samples=1000)


@st.composite
def labelled(draw, max_n=400):
    """(labels (n,), num_classes) with 2 <= C <= 12."""
    num_classes = draw(st.integers(2, 12))
    n = draw(st.integers(1, max_n))
    labels = draw(st.lists(st.integers(0, num_classes - 1), min_size=n, max_size=n))
    return np.array(labels, dtype=np.int64), num_classes


rates = st.floats(0.0, 0.99, allow_nan=False)  # a fraction of the largest informative rate (C - 1) / C


def informative(fraction, num_classes):
    """The label-noise rate ``fraction · (C − 1)/C``: below the rate at which labels carry no information."""
    return fraction * (num_classes - 1) / num_classes
seeds = st.integers(0, 2**32 - 1)


# ------------------------------------------------------------------------------------------------
# one_hot


@given(labelled())
def test_one_hot_rows_are_basis_vectors(case):
    labels, num_classes = case
    encoded = one_hot(labels, num_classes)
    assert encoded.shape == (labels.shape[0], num_classes) and encoded.dtype == np.float64
    np.testing.assert_array_equal(encoded.sum(axis=1), 1.0)
    np.testing.assert_array_equal(encoded.argmax(axis=1), labels)


@pytest.mark.parametrize(
    "labels, num_classes, message",
    [
        (np.array([0, 3]), 3, r"\[0, 3\)"),
        (np.array([-1, 0]), 3, r"\[0, 3\)"),
        (np.array([0.0, 1.0]), 3, "integer"),
        (np.array([True, False]), 3, "integer"),
        (np.array([0, 1]), 0, "num_classes"),
    ],
)
def test_one_hot_rejects_bad_labels(labels, num_classes, message):
    with pytest.raises(ValueError, match=message):
        one_hot(labels, num_classes)


# ------------------------------------------------------------------------------------------------
# symmetric label noise: properties


@given(labelled(), rates, seeds)
def test_noise_changes_only_flipped_labels_to_a_different_valid_class(case, rate, seed):
    labels, num_classes = case
    rate = informative(rate, num_classes)
    original = labels.copy()
    noisy = symmetric_label_noise(labels, rate, num_classes, seed)
    assert noisy.shape == labels.shape and noisy.dtype == np.int64
    assert noisy.min() >= 0 and noisy.max() < num_classes
    np.testing.assert_array_equal(labels, original)  # input untouched
    # Reproducible from the seed.
    np.testing.assert_array_equal(noisy, symmetric_label_noise(labels, rate, num_classes, seed))


@given(labelled(), seeds)
def test_noise_rate_zero_is_identity(case, seed):
    labels, num_classes = case
    np.testing.assert_array_equal(symmetric_label_noise(labels, 0.0, num_classes, seed), labels)


@given(labelled(), rates, rates, seeds)
def test_noise_is_nested_in_rate(case, rate_a, rate_b, seed):
    """Same seed: points flipped at the smaller rate are flipped at the larger one, to the same class."""
    labels, num_classes = case
    low, high = sorted((informative(rate_a, num_classes), informative(rate_b, num_classes)))
    noisy_low = symmetric_label_noise(labels, low, num_classes, seed)
    noisy_high = symmetric_label_noise(labels, high, num_classes, seed)
    flipped_low = noisy_low != labels
    assert np.all((noisy_high != labels)[flipped_low])
    np.testing.assert_array_equal(noisy_high[flipped_low], noisy_low[flipped_low])


@given(st.integers(2, 20), st.floats(0.02, 0.99), seeds)
def test_noise_flip_count_is_within_binomial_band(num_classes, rate, seed):
    """The number of wrong labels is Binomial(n, rate); 5 standard errors (two-sided p ~ 6e-7)."""
    n = 5000
    rate = informative(rate, num_classes)
    labels = np.arange(n) % num_classes
    flipped = np.mean(symmetric_label_noise(labels, rate, num_classes, seed) != labels)
    assert abs(flipped - rate) <= 5 * np.sqrt(rate * (1 - rate) / n)


# ------------------------------------------------------------------------------------------------
# symmetric label noise: fixed-seed statistics


def test_noise_flip_rate_at_fixed_seed_within_four_standard_errors():
    n, rate, num_classes = 20_000, 0.3, 10
    labels = np.arange(n) % num_classes
    flipped = np.mean(symmetric_label_noise(labels, rate, num_classes, seed=0) != labels)
    assert abs(flipped - rate) <= 4 * np.sqrt(rate * (1 - rate) / n)


def test_noise_targets_are_uniform_over_the_other_classes():
    """Chi-square goodness of fit, per clean class, of where flipped labels land (fixed seed)."""
    n, rate, num_classes = 30_000, 0.5, 6
    labels = np.arange(n) % num_classes
    noisy = symmetric_label_noise(labels, rate, num_classes, seed=1)
    for clean_class in range(num_classes):
        landed = noisy[(labels == clean_class) & (noisy != labels)]
        counts = np.bincount(landed, minlength=num_classes)
        assert counts[clean_class] == 0
        other = np.delete(counts, clean_class)
        assert scipy.stats.chisquare(other).pvalue > 1e-3, (clean_class, other)


def test_noise_is_independent_of_the_clean_class():
    """The flip rate does not depend on the clean class (chi-square on the 2 × C contingency table)."""
    n, rate, num_classes = 30_000, 0.25, 5
    labels = np.arange(n) % num_classes
    flipped = symmetric_label_noise(labels, rate, num_classes, seed=2) != labels
    table = np.stack([np.bincount(labels[flipped], minlength=5), np.bincount(labels[~flipped], minlength=5)])
    assert scipy.stats.chi2_contingency(table).pvalue > 1e-3


def test_noise_differs_between_seeds():
    labels = np.arange(1000) % 10
    first = symmetric_label_noise(labels, 0.3, 10, seed=0)
    second = symmetric_label_noise(labels, 0.3, 10, seed=1)
    assert not np.array_equal(first, second)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(rate=1.0), "rate"),
        (dict(rate=-0.1), "rate"),
        (dict(rate=float("nan")), "rate"),
        (dict(labels=np.array([0, 10])), r"\[0, 10\)"),
        (dict(labels=np.array([0.0, 1.0])), "integer"),
        (dict(labels=np.zeros((2, 2), dtype=int)), "1-D"),
        (dict(labels=np.zeros(3, dtype=int), num_classes=1), "num_classes"),
        (dict(rate=0.9), r"rate must be < \(C − 1\)/C = 0\.9 for C = 10 classes"),
        (dict(rate=0.5, num_classes=2, labels=np.array([0, 1, 1])), r"rate must be < \(C − 1\)/C = 0\.5 for C = 2"),
        (dict(seed=None), "seed"),
        (dict(seed=-1), "seed"),
    ],
)
def test_noise_rejects_bad_arguments(change, message):
    arguments = dict(labels=np.array([0, 1, 2]), rate=0.2, num_classes=10, seed=0) | change
    with pytest.raises(ValueError, match=message):
        symmetric_label_noise(**arguments)


# ------------------------------------------------------------------------------------------------
# stratified subsets


@given(labelled(max_n=300), st.data(), seeds)
def test_stratified_indices_are_proportional_and_distinct(case, data, seed):
    labels, num_classes = case
    size = data.draw(st.integers(0, labels.shape[0]))
    index = stratified_indices(labels, size, seed)
    assert index.shape == (size,) and index.dtype == np.int64
    assert np.all(np.diff(index) > 0)  # sorted and distinct
    chosen = np.bincount(labels[index], minlength=num_classes)
    expected = size * np.bincount(labels, minlength=num_classes) / labels.shape[0]
    assert np.all(np.abs(chosen - expected) < 1)
    np.testing.assert_array_equal(index, stratified_indices(labels, size, seed))


def test_stratified_indices_rejects_size_above_available():
    with pytest.raises(ValueError, match="size"):
        stratified_indices(np.array([0, 1, 1]), 4, seed=0)


# ------------------------------------------------------------------------------------------------
# standardisation


def test_standardize_is_fit_on_train_only(rng):
    x_train = rng.normal(3.0, 2.0, size=(50, 4))
    x_test = rng.normal(-5.0, 7.0, size=(20, 4))
    train_std, test_std = standardize(x_train, x_test)
    np.testing.assert_allclose(train_std.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(np.mean(train_std**2), 1.0, rtol=1e-12)
    _, test_std_other = standardize(x_train, x_test + 100.0)
    np.testing.assert_allclose(test_std_other - test_std, 100.0 / np.sqrt(np.mean((x_train - x_train.mean(0)) ** 2)))
    # The training features do not depend on the test set.
    np.testing.assert_array_equal(standardize(x_train, x_test[:3])[0], train_std)


def test_standardize_constant_features_give_zero_not_nan():
    x_train = np.array([[1.0, 5.0], [3.0, 5.0]])
    train_std, test_std = standardize(x_train, np.array([[2.0, 6.0]]))
    np.testing.assert_array_equal(train_std[:, 1], 0.0)
    assert np.all(np.isfinite(test_std))
    all_constant, _ = standardize(np.ones((3, 2)), np.ones((1, 2)))
    np.testing.assert_array_equal(all_constant, 0.0)


@pytest.mark.parametrize(
    "x_train, x_test, message",
    [
        (np.array([[np.nan, 1.0]]), np.zeros((1, 2)), "x_train.*NaN"),
        (np.zeros((2, 2)), np.zeros((1, 3)), "features"),
        (np.zeros(3), np.zeros((1, 3)), "2-D"),
        (np.zeros((0, 3)), np.zeros((1, 3)), "at least one row"),
    ],
)
def test_standardize_rejects_bad_input(x_train, x_test, message):
    with pytest.raises(ValueError, match=message):
        standardize(x_train, x_test)


# ------------------------------------------------------------------------------------------------
# Dataset container


def small_dataset(n_train=60, n_test=30, num_classes=3, seed=0):
    generator = np.random.default_rng(seed)
    return Dataset(
        "toy",
        generator.normal(size=(n_train, 5)),
        np.arange(n_train) % num_classes,
        generator.normal(size=(n_test, 5)),
        np.arange(n_test) % num_classes,
        num_classes,
    )


def test_dataset_properties_and_repr():
    dataset = small_dataset()
    assert (dataset.n_train, dataset.n_test, dataset.input_dim) == (60, 30, 5)
    assert dataset.y_train.dtype == np.int64 and dataset.x_train.dtype == np.float64
    np.testing.assert_array_equal(dataset.y_train_clean, dataset.y_train)
    assert not dataset.noisy_mask.any()
    assert dataset.one_hot_train().shape == (60, 3) and dataset.one_hot_test().shape == (30, 3)
    text = repr(dataset)
    for piece in ("'toy'", "n_train=60", "n_test=30", "input_dim=5", "num_classes=3", "noise_rate=0"):
        assert piece in text
    noisy = dataset.with_label_noise(0.5, seed=0)
    assert "noise_rate=0.5 (realised" in repr(noisy)


def test_dataset_is_frozen():
    with pytest.raises(AttributeError):
        small_dataset().name = "other"


def test_with_label_noise_does_not_stack_and_keeps_clean_labels():
    dataset = small_dataset(n_train=500)
    once = dataset.with_label_noise(0.4, seed=3)
    twice = once.with_label_noise(0.4, seed=3)
    np.testing.assert_array_equal(once.y_train, twice.y_train)
    np.testing.assert_array_equal(once.y_train_clean, dataset.y_train)
    np.testing.assert_array_equal(once.noisy_mask, once.y_train != dataset.y_train)
    assert once.noise_rate == 0.4 and 0.3 < once.realised_noise_rate < 0.5
    np.testing.assert_array_equal(once.with_label_noise(0.0).y_train, dataset.y_train)
    np.testing.assert_array_equal(dataset.y_train, np.arange(500) % 3)  # the original is untouched
    with pytest.raises(ValueError, match="rate"):
        dataset.with_label_noise(1.5)


@pytest.mark.parametrize("num_classes", [2, 3, 10])
def test_label_noise_at_or_above_the_uninformative_rate_is_refused(num_classes):
    """At r = (C − 1)/C the noisy label is independent of the clean one: P(ỹ = c | y) = 1/C for every c."""
    bound = (num_classes - 1) / num_classes
    dataset = small_dataset(num_classes=num_classes)
    assert dataset.with_label_noise(np.nextafter(bound, 0), seed=0).noise_rate < bound
    for rate in (bound, (bound + 1) / 2):
        with pytest.raises(ValueError, match=r"rate must be < \(C − 1\)/C"):
            dataset.with_label_noise(rate, seed=0)
        with pytest.raises(ValueError, match=r"rate must be < \(C − 1\)/C"):
            symmetric_label_noise(dataset.y_train, rate, num_classes, seed=0)


@pytest.mark.parametrize("loader, options", [
    (load_digits, {}), (load_mnist1d, SMALL_MNIST1D), ("gaussian-mixture", dict(num_classes=2)),
    ("logistic", dict(num_classes=4)),
])
def test_loaders_refuse_uninformative_label_noise(loader, options):
    load = (lambda **kw: load_dataset(loader, **kw)) if isinstance(loader, str) else loader
    classes = load(**options, n_train=40).num_classes
    with pytest.raises(ValueError, match=r"label_noise must be < \(C − 1\)/C"):
        load(**options, n_train=40, label_noise=(classes - 1) / classes)


def test_subset_to_a_single_class_is_refused():
    with pytest.raises(ValueError, match="at least 2 classes"):
        small_dataset().subset(n_train=1, seed=0)


def test_subset_keeps_noisy_and_clean_labels_paired():
    dataset = small_dataset(n_train=300, n_test=90).with_label_noise(0.3, seed=1)
    part = dataset.subset(n_train=60, n_test=30, seed=4)
    assert (part.n_train, part.n_test, part.noise_rate) == (60, 30, 0.3)
    np.testing.assert_array_equal(np.bincount(part.y_train_clean), [20, 20, 20])
    np.testing.assert_array_equal(np.bincount(part.y_test), [10, 10, 10])
    # Every kept row is a row of the original, with its own noisy and clean label.
    rows = np.array([np.flatnonzero((dataset.x_train == row).all(axis=1))[0] for row in part.x_train])
    np.testing.assert_array_equal(part.y_train, dataset.y_train[rows])
    np.testing.assert_array_equal(part.y_train_clean, dataset.y_train_clean[rows])
    # Seeded; the test subset does not depend on n_train.
    np.testing.assert_array_equal(part.x_train, dataset.subset(60, 30, seed=4).x_train)
    assert not np.array_equal(part.x_train, dataset.subset(60, 30, seed=5).x_train)
    np.testing.assert_array_equal(dataset.subset(n_test=30, seed=4).x_test, part.x_test)
    assert dataset.subset().n_train == 300


@pytest.mark.parametrize(
    "kwargs, message",
    [(dict(n_train=301), "n_train"), (dict(n_train=0), "n_train"), (dict(n_test=2.5), "n_test")],
)
def test_subset_rejects_bad_sizes(kwargs, message):
    with pytest.raises(ValueError, match=message):
        small_dataset(n_train=300).subset(**kwargs)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(y_train=np.arange(60) % 4), "y_train"),
        (dict(y_train=np.zeros(59, dtype=int)), "y_train must have shape"),
        (dict(x_test=np.zeros((30, 6))), "x_test"),
        (dict(y_train_clean=np.zeros(10, dtype=int)), "y_train_clean"),
        (dict(noise_rate=1.0), "noise_rate"),
        (dict(x_train=np.full((60, 5), np.nan)), "NaN"),
        (dict(x_train=np.zeros((0, 5)), y_train=np.zeros(0, int)), r"x_train must hold at least one point, got shape \(0, 5\)"),
        (dict(x_test=np.zeros((0, 5)), y_test=np.zeros(0, int)), r"x_test must hold at least one point, got shape \(0, 5\)"),
        (dict(num_classes=1, y_train=np.zeros(60, int), y_test=np.zeros(30, int)), "num_classes must be an integer >= 2"),
        (dict(y_train=np.full(60, 2)), "y_train must hold at least 2 classes, got only class 2"),
        (dict(y_train_clean=np.zeros(60, int)), "y_train_clean must hold at least 2 classes, got only class 0"),
        (dict(noise_rate=2 / 3), r"noise_rate must be < \(C − 1\)/C = 0\.6667 for C = 3"),
    ],
)
def test_dataset_validates_on_construction(change, message):
    dataset = small_dataset()
    fields = dict(
        name=dataset.name, x_train=dataset.x_train, y_train=dataset.y_train, x_test=dataset.x_test,
        y_test=dataset.y_test, num_classes=dataset.num_classes,
    ) | change
    with pytest.raises(ValueError, match=message):
        Dataset(**fields)


# ------------------------------------------------------------------------------------------------
# per-point fields and input shapes


def tagged_dataset(n_train=60, n_test=30):
    """small_dataset with per-point fields that name their row: train "row" i, test "row" -i, and (n, 2) pairs."""
    base = small_dataset(n_train=n_train, n_test=n_test)
    return Dataset(base.name, base.x_train, base.y_train, base.x_test, base.y_test, base.num_classes,
                   train_fields={"row": np.arange(n_train), "pair": np.c_[np.arange(n_train), -np.arange(n_train)]},
                   test_fields={"row": -np.arange(n_test)})


def test_per_point_fields_survive_subset_select_and_label_noise():
    dataset = tagged_dataset()
    part = dataset.subset(n_train=20, n_test=10, seed=3)
    plain = small_dataset().subset(n_train=20, n_test=10, seed=3)
    np.testing.assert_array_equal(part.x_train, plain.x_train)  # fields do not change the draw
    rows = part.train_fields["row"]
    np.testing.assert_array_equal(part.x_train, dataset.x_train[rows])
    np.testing.assert_array_equal(part.train_fields["pair"], np.c_[rows, -rows])
    np.testing.assert_array_equal(part.x_test, dataset.x_test[-part.test_fields["row"]])
    noisy = part.with_label_noise(0.4, seed=1)
    assert noisy.train_fields["row"] is part.train_fields["row"] and noisy.test_fields["row"] is part.test_fields["row"]
    again = noisy.subset(n_train=5, seed=0).with_label_noise(0.0)
    np.testing.assert_array_equal(again.x_train, dataset.x_train[again.train_fields["row"]])
    chosen = dataset.select(train=[4, 0], test=np.arange(30) < 3)  # two classes: a single one is refused
    assert chosen.train_fields["row"].tolist() == [4, 0] and chosen.test_fields["row"].tolist() == [0, -1, -2]
    assert dataset.subset().train_fields.keys() == {"row", "pair"}


def test_per_point_fields_and_input_shape_are_validated():
    base = small_dataset()
    arguments = (base.name, base.x_train, base.y_train, base.x_test, base.y_test, base.num_classes)
    with pytest.raises(ValueError, match=r"train_fields\['w'\] must have 60 rows"):
        Dataset(*arguments, train_fields={"w": np.ones(59)})
    with pytest.raises(ValueError, match=r"test_fields\['w'\] must have 30 rows"):
        Dataset(*arguments, test_fields={"w": 1.0})
    with pytest.raises(ValueError, match="input_shape"):
        Dataset(*arguments, input_shape=(2, 3))
    assert base.input_shape == (5,) and Dataset(*arguments, input_shape=[5, 1]).input_shape == (5, 1)


# ------------------------------------------------------------------------------------------------
# digits


def test_digits_shapes_dtypes_and_stratification():
    dataset = load_digits()
    assert (dataset.n_train, dataset.n_test, dataset.input_dim, dataset.num_classes) == (1347, 450, 64, 10)
    assert dataset.x_train.dtype == np.float64 and dataset.y_train.dtype == np.int64
    assert set(np.unique(dataset.y_train)) == set(range(10)) == set(np.unique(dataset.y_test))
    total = np.bincount(dataset.y_train) + np.bincount(dataset.y_test)
    assert np.all(np.abs(np.bincount(dataset.y_test) - 0.25 * total) <= 1)


def test_digits_is_deterministic_and_seed_changes_split():
    first, again, other = load_digits(seed=0), load_digits(seed=0), load_digits(seed=1)
    np.testing.assert_array_equal(first.x_train, again.x_train)
    np.testing.assert_array_equal(first.y_test, again.y_test)
    assert not np.array_equal(first.y_train, other.y_train)


def test_digits_standardisation_is_fit_on_train_only():
    raw = load_digits(standardize=False)
    assert raw.x_train.min() == 0.0 and raw.x_train.max() == 16.0
    expected_train, expected_test = standardize(raw.x_train, raw.x_test)
    scaled = load_digits()
    np.testing.assert_allclose(scaled.x_train, expected_train, rtol=0, atol=1e-12)
    np.testing.assert_allclose(scaled.x_test, expected_test, rtol=0, atol=1e-12)
    assert np.all(np.isfinite(scaled.x_train)) and np.all(np.isfinite(scaled.x_test))
    np.testing.assert_allclose(scaled.x_train.mean(axis=0), 0.0, atol=1e-12)
    assert np.abs(scaled.x_test.mean(axis=0)).max() > 1e-3  # not refit on the test set


def test_digits_n_train_and_label_noise():
    dataset = load_digits(n_train=200, label_noise=0.2, noise_seed=5)
    assert dataset.n_train == 200 and dataset.n_test == 450
    assert np.all(np.abs(np.bincount(dataset.y_train_clean) - 20) <= 1)
    np.testing.assert_allclose(dataset.x_train.mean(axis=0), 0.0, atol=1e-12)  # fit on the kept points
    clean = load_digits(n_train=200)
    np.testing.assert_array_equal(dataset.y_train_clean, clean.y_train)
    np.testing.assert_array_equal(dataset.y_train, clean.with_label_noise(0.2, seed=5).y_train)
    assert dataset.noisy_mask.any() and dataset.noise_rate == 0.2


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(test_fraction=0.0), "test_fraction"),
        (dict(test_fraction=1.0), "test_fraction"),
        (dict(test_fraction=0.001), "test_fraction"),
        (dict(n_train=1348), "n_train"),
        (dict(label_noise=1.0), "label_noise"),
        (dict(seed=-3), "seed"),
        (dict(noise_seed=None), "noise_seed"),
    ],
)
def test_digits_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_digits(**kwargs)


# ------------------------------------------------------------------------------------------------
# MNIST-1D


def test_mnist1d_default_shapes_and_classes():
    dataset = load_mnist1d()
    assert (dataset.n_train, dataset.n_test, dataset.input_dim, dataset.num_classes) == (3200, 800, 40, 10)
    assert dataset.x_train.dtype == np.float64 and dataset.y_train.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(dataset.y_train) + np.bincount(dataset.y_test), 400)
    assert np.all(np.isfinite(dataset.x_train)) and np.all(np.isfinite(dataset.x_test))


def test_mnist1d_is_deterministic_and_returns_copies():
    first = load_mnist1d(**SMALL_MNIST1D)
    first.x_train[:] = 0.0  # must not reach the cache
    again = load_mnist1d(**SMALL_MNIST1D)
    assert np.abs(again.x_train).max() > 0
    np.testing.assert_array_equal(again.x_train, load_mnist1d(**SMALL_MNIST1D).x_train)
    other = load_mnist1d(**SMALL_MNIST1D, seed=7)
    assert not np.array_equal(again.x_train, other.x_train)


def test_mnist1d_leaves_global_random_states_unchanged():
    np.random.seed(123)
    random.seed(456)
    numpy_before, python_before = np.random.get_state(), random.getstate()
    load_mnist1d(num_samples=200, seed=987_654)  # arguments no other test uses: not cached
    numpy_after = np.random.get_state()
    assert numpy_before[0] == numpy_after[0]
    np.testing.assert_array_equal(numpy_before[1], numpy_after[1])
    assert numpy_before[2:] == numpy_after[2:]
    assert random.getstate() == python_before


def test_mnist1d_standardisation_and_label_noise():
    raw = load_mnist1d(**SMALL_MNIST1D, standardize=False)
    scaled = load_mnist1d(**SMALL_MNIST1D)
    expected_train, expected_test = standardize(raw.x_train, raw.x_test)
    np.testing.assert_allclose(scaled.x_train, expected_train, rtol=0, atol=1e-12)
    np.testing.assert_allclose(scaled.x_test, expected_test, rtol=0, atol=1e-12)
    noisy = load_mnist1d(**SMALL_MNIST1D, label_noise=0.3, n_train=400)
    proportional = 400 * np.bincount(raw.y_train) / raw.n_train  # the generated split is not balanced
    assert noisy.n_train == 400 and np.all(np.abs(np.bincount(noisy.y_train_clean) - proportional) < 1)
    assert abs(noisy.realised_noise_rate - 0.3) <= 4 * np.sqrt(0.3 * 0.7 / 400)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(num_samples=1005), "multiple of 10"),
        (dict(num_samples=0), "num_samples"),
        (dict(train_split=1.0), "train_split"),
        (dict(num_samples=10, train_split=0.05), "train_split"),
        (dict(n_train=801), "n_train"),
        (dict(label_noise=-0.5), "label_noise"),
    ],
)
def test_mnist1d_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_mnist1d(**(SMALL_MNIST1D | kwargs))


def test_mnist1d_samples_for_covers_n_train_and_keeps_the_default():
    assert embedded_module.mnist1d_samples_for(1) == embedded_module.mnist1d_samples_for(3200) == 4000
    for n_train, split in [(3201, 0.8), (50_000, 0.8), (50_001, 0.8), (12_345, 0.7), (60_000, 0.9)]:
        samples = embedded_module.mnist1d_samples_for(n_train, split)
        assert samples % 10 == 0 and int(samples * split) >= n_train > int((samples - 10) * split)
    assert embedded_module.mnist1d_samples_for(50_000) == 62_500
    with pytest.raises(ValueError, match="n_train"):
        embedded_module.mnist1d_samples_for(0)


def test_mnist1d_n_train_beyond_the_default_generates_enough_points():
    data = load_mnist1d(n_train=3300)  # more than the 3,200 training points of the default 4,000
    assert (data.n_train, data.n_test) == (3300, 4130 - 3304)
    np.testing.assert_array_equal(data.x_train, load_mnist1d(num_samples=4130, n_train=3300).x_train)
    default = load_mnist1d(num_samples=4000, n_train=3200).x_train
    np.testing.assert_array_equal(load_mnist1d(n_train=3200).x_train, default)
    with pytest.raises(ValueError, match="n_train"):
        load_mnist1d(num_samples=4000, n_train=3300)  # an explicit num_samples is respected


@pytest.mark.slow
def test_mnist1d_at_cifar_size():
    data = load_mnist1d(n_train=50_000)
    assert (data.n_train, data.n_test, data.input_dim) == (50_000, 12_500, 40)
    assert np.all(np.abs(np.bincount(data.y_train) - 5000) < 300)
    assert np.all(np.isfinite(data.x_train)) and abs(data.x_train.mean()) < 1e-10


# ------------------------------------------------------------------------------------------------
# registry and docstrings


def test_registry_loads_by_name():
    assert set(DATASETS) >= {"digits", "mnist1d"}
    dataset = load_dataset("digits", n_train=100, seed=2)
    np.testing.assert_array_equal(dataset.x_train, load_digits(n_train=100, seed=2).x_train)
    assert load_dataset("mnist1d", **SMALL_MNIST1D).name == "mnist1d"


def test_registry_lists_every_dataset_with_its_kind_and_input_shape():
    expected = {
        "digits": ("embedded", (8, 8, 1)), "mnist1d": ("embedded", (40, 1)),
        "gaussian-mixture": ("synthetic", None), "logistic": ("synthetic", None),
        "cifar10": ("files", (32, 32, 3)), "cifar100": ("files", (32, 32, 3)), "npz": ("files", None),
    }
    assert {name: (spec.kind, spec.input_shape) for name, spec in REGISTRY.items()} == expected
    for name, spec in REGISTRY.items():
        assert isinstance(spec, DatasetSpec) and spec.name == name and DATASETS[name] is spec.loader
        parameters = set(inspect.signature(spec.loader).parameters)
        assert {"seed", "n_train", "label_noise", "noise_seed"} <= parameters, name
        if spec.kind == "files":
            assert {"data_dir", "n_test"} <= parameters, name
    assert load_dataset("digits", n_train=50).input_shape == REGISTRY["digits"].input_shape
    assert load_dataset("mnist1d", **SMALL_MNIST1D).input_shape == REGISTRY["mnist1d"].input_shape
    assert DATASETS["cifar10"] is load_cifar10
    with pytest.raises(TypeError):
        REGISTRY["mine"] = REGISTRY["digits"]  # explicit, filled in one place: no registration by side effect
    with pytest.raises(ValueError, match="kind"):
        DatasetSpec("mine", load_digits, None, "downloaded")


def test_synthetic_shim_warns_and_reexports():
    import importlib
    import sys

    import theory.data as data_package

    sys.modules.pop("theory.synthetic", None)
    with pytest.warns(DeprecationWarning, match="theory.synthetic is deprecated"):
        shim = importlib.import_module("theory.synthetic")
    for name in shim.__all__:
        assert getattr(shim, name) is getattr(data_package, name), name


def test_unknown_dataset_lists_known_names():
    with pytest.raises(ValueError, match=r"cifar.*known datasets: .*'digits'.*'mnist1d'"):
        load_dataset("cifar")


@pytest.mark.parametrize("module", [dataset_module, embedded_module, features_module, labels_module,
                                    registry_module])
def test_docstring_examples_run(module):
    failures, attempted = doctest.testmod(module, extraglobs={"np": np})[:2]
    assert attempted > 0 and failures == 0
