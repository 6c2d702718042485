"""Tests for theory.denoise (the gradient-denoiser view, claim C4) and the ``denoise`` figure.

Monte Carlo checks run at fixed seeds; their tolerance is 4 standard errors of the Monte Carlo estimate (a
two-sided normal tail of 6e-5 per comparison), computed from the same draws.
"""
import doctest
import itertools
import json

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import paper_figs
from theory import denoise
from theory import data as synthetic  # the synthetic datasets live in theory.data
from theory.denoise import decomposition, directions, groups, minibatch, risk
from theory.data import one_hot
from theory.metrics import log_softmax, softmax
from theory.kernels import empirical_ntk
from theory.spectral import Spectrum
from test_figures import finite_numbers

TOLERANCE_SE = 4.0


@pytest.mark.parametrize("module", [denoise, decomposition, directions, groups, minibatch, risk])
def test_doctests(module):
    assert doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE).failed == 0


def problem(n=40, num_classes=3, features=6, seed=0):
    """Inputs, Bayes probabilities, labels, a probability teacher, linear features and weights."""
    data = synthetic.load_gaussian_mixture(n_train=n, n_test=5, num_classes=num_classes, dim=4, separation=2.0,
                                           seed=seed)
    rng = np.random.default_rng(seed)
    teacher = softmax(rng.normal(size=(n, num_classes)))
    phi = rng.normal(size=(n, features))
    weights = 0.3 * rng.normal(size=(features, num_classes))
    return data, teacher, phi, weights


class MLP(nn.Module):
    width: int = 8
    outputs: int = 3

    @nn.compact
    def __call__(self, x):
        return nn.Dense(self.outputs)(nn.tanh(nn.Dense(self.width)(x)))


@pytest.fixture(scope="module")
def mlp():
    model = MLP()
    return model, model.init(jax.random.key(0), jnp.zeros((1, 4)))


# ------------------------------------------------------------------------------------------------
# the decomposition sums exactly


@given(st.integers(1, 30), st.integers(1, 5), st.integers(1, 6), st.sampled_from(denoise.LOSSES),
       st.integers(0, 2**31))
def test_linear_decomposition_sums_exactly(n, num_classes, features, loss, seed):
    rng = np.random.default_rng(seed)
    phi, weights = rng.normal(size=(n, features)), rng.normal(size=(features, num_classes))
    labels = rng.integers(0, num_classes, n)
    teacher = softmax(rng.normal(size=(n, num_classes)))
    parts = denoise.decompose_linear(phi, weights, labels, teacher, loss=loss)
    assert parts.total.shape == (features, num_classes)
    assert parts.max_abs_error <= 1e-12 * max(np.abs(parts.total).max(), 1.0)


@pytest.mark.parametrize("loss", denoise.LOSSES)
def test_linear_decomposition_matches_autodiff(loss):
    """Each part against jax.grad of its own summed loss (total, distill) or an explicit sum (noise)."""
    data, teacher, phi, weights = problem()
    parts = denoise.decompose_linear(phi, weights, data.y_train, teacher, loss=loss)
    onehot = one_hot(data.y_train, 3)
    with jax.enable_x64(True):
        def summed(w, targets):
            z = jnp.asarray(phi) @ w
            if loss == "squared":
                return 0.5 * jnp.sum((z - targets) ** 2)
            return -jnp.sum(targets * jax.nn.log_softmax(z, axis=-1))

        gradient = jax.grad(summed)
        total = np.asarray(gradient(jnp.asarray(weights), jnp.asarray(onehot)))
        distill = np.asarray(gradient(jnp.asarray(weights), jnp.asarray(teacher)))
    noise = sum(np.outer(phi[i], teacher[i] - onehot[i]) for i in range(len(phi)))  # Σ_i J_iᵀ(q_i − e_y)
    np.testing.assert_allclose(parts.total, total, atol=1e-12)
    np.testing.assert_allclose(parts.distill, distill, atol=1e-12)
    np.testing.assert_allclose(parts.noise, noise, atol=1e-12)


def test_kernel_decomposition_is_the_function_space_step():
    data, teacher, phi, weights = problem()
    kernel = phi @ phi.T
    parts = denoise.decompose_kernel(kernel, phi @ weights, data.y_train, teacher)
    linear = denoise.decompose_linear(phi, weights, data.y_train, teacher)
    assert parts.max_abs_error < 1e-12 * np.abs(parts.total).max()
    # K R = Φ (Φᵀ R): the function-space step is Φ times the weight-space gradient
    for name in ("total", "distill", "noise"):
        np.testing.assert_allclose(getattr(parts, name), phi @ getattr(linear, name), atol=1e-10)


@pytest.mark.parametrize("loss", denoise.LOSSES)
def test_model_decomposition_sums_on_an_mlp(mlp, loss):
    model, params = mlp
    data, teacher, _, _ = problem()
    parts = denoise.decompose_model(model.apply, params, data.x_train, data.y_train, teacher, loss=loss)
    assert jax.tree_util.tree_structure(parts.total) == jax.tree_util.tree_structure(params)
    norms = parts.norms()
    assert norms["noise"] > 0 and parts.max_abs_error < 1e-12 * norms["total"]
    assert "max_abs_error" in repr(parts)


def test_model_decomposition_equals_linear_for_a_linear_model():
    data, teacher, phi, weights = problem()
    parts = denoise.decompose_model(lambda p, x: x @ p["w"], {"w": weights}, phi, data.y_train, teacher)
    linear = denoise.decompose_linear(phi, weights, data.y_train, teacher, loss="cross_entropy")
    for name in ("total", "distill", "noise"):
        np.testing.assert_allclose(getattr(parts, name)["w"], getattr(linear, name), atol=1e-12)


def test_bayes_noise_has_mean_zero():
    """E_y K(P* − E) = 0: the Monte Carlo mean over label draws is within its standard error of 0."""
    data, _, phi, _ = problem(n=30)
    kernel = phi @ phi.T
    draws = 3000
    labels = synthetic.resample_labels(data.p_star_train, 7, draws=draws)
    noise = np.stack([denoise.decompose_kernel(kernel, np.zeros((30, 3)), y, data.p_star_train).noise
                      for y in labels])
    mean, error = noise.mean(axis=0), noise.std(axis=0, ddof=1) / np.sqrt(draws)
    assert np.max(np.abs(mean) / error) < 4.5  # max over 90 coordinates: 4.5 SE
    # and it is not trivially zero: a biased teacher moves the mean by K(Q − P*)
    biased = np.stack([denoise.decompose_kernel(kernel, np.zeros((30, 3)), y, np.full((30, 3), 1 / 3)).noise
                       for y in labels[:500]])
    assert np.max(np.abs(biased.mean(axis=0) - kernel @ (1 / 3 - data.p_star_train))) < 0.25 * np.abs(
        kernel @ (1 / 3 - data.p_star_train)).max()


# ------------------------------------------------------------------------------------------------
# per-point noise norm


def test_label_noise_norm_formula_and_monte_carlo():
    data, teacher, _, _ = problem(n=60)
    p_star = data.p_star_train
    predicted = denoise.label_noise_norm(p_star)
    np.testing.assert_allclose(predicted, 1 - np.sum(p_star**2, axis=1))
    with_teacher = denoise.label_noise_norm(p_star, teacher)
    # E‖e_y − q‖² by exact enumeration over the classes
    exact = np.einsum("ic,ic->i", p_star, np.sum((np.eye(3)[None] - teacher[:, None]) ** 2, axis=-1))
    np.testing.assert_allclose(with_teacher, exact, atol=1e-12)
    for target, expected in ((None, predicted), (teacher, with_teacher)):
        mean, error = denoise.monte_carlo_label_noise_norm(p_star, target, draws=4000, seed=1)
        z = np.abs(mean - expected) / np.where(error > 0, error, np.inf)
        assert np.mean(z < TOLERANCE_SE) == 1.0
    diagonal = np.linspace(0.5, 2.0, 60)
    np.testing.assert_allclose(denoise.label_noise_norm(p_star, k_diagonal=diagonal), diagonal * predicted)


def test_hard_points_carry_more_noise():
    data = synthetic.load_gaussian_mixture(n_train=400, n_test=5, num_classes=3, dim=3, separation=2.5)
    hard, easy = denoise.confidence_groups(data.p_star_train, 0.25)
    assert hard.sum() == easy.sum() == 100 and not np.any(hard & easy)
    confidence = data.p_star_train.max(axis=1)
    assert confidence[hard].max() <= confidence[easy].min()
    noise = denoise.label_noise_norm(data.p_star_train)
    assert noise[hard].mean() > 5 * noise[easy].mean()


# ------------------------------------------------------------------------------------------------
# minibatch gradient variance: closed form against exact enumeration and Monte Carlo


def enumerated_variance(phi, outputs, p_star, teacher, name, size, replace):
    """tr Cov of (n/b) Σ_{i∈B} φ_i(a_i − t_i)ᵀ by enumerating every label configuration and every batch."""
    n, num_classes = outputs.shape
    batches = (list(itertools.product(range(n), repeat=size)) if replace
               else list(itertools.combinations(range(n), size)))
    outcomes, weights = [], []
    configurations = itertools.product(range(num_classes), repeat=n) if name == "onehot" else [None]
    for labels in configurations:
        if labels is None:
            target, probability = {"bayes": p_star, "teacher": teacher}[name], 1.0
        else:
            target, probability = one_hot(np.array(labels), num_classes), np.prod(p_star[np.arange(n), list(labels)])
        for batch in batches:
            outcomes.append(((n / size) * phi[list(batch)].T @ (outputs - target)[list(batch)]).ravel())
            weights.append(probability / len(batches))
    outcomes, weights = np.array(outcomes), np.array(weights)
    return weights @ np.sum((outcomes - weights @ outcomes) ** 2, axis=1)


def check_against_enumeration(phi, outputs, p_star, teacher, replace):
    n = outputs.shape[0]
    sizes = list(range(1, n + 1))
    closed = denoise.minibatch_gradient_variance(phi @ phi.T, outputs, p_star, teacher, batch_sizes=sizes,
                                                 replace=replace)
    for row, size in enumerate(sizes):
        for name in ("onehot", "bayes", "teacher"):
            exact = enumerated_variance(phi, outputs, p_star, teacher, name, size, replace)
            np.testing.assert_allclose(closed.variance[name][row], exact, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(closed.teacher_bias, np.sum((phi.T @ (p_star - teacher)) ** 2), rtol=1e-12)


@pytest.mark.parametrize("replace", [False, True])
def test_closed_form_variance_equals_exact_enumeration(replace):
    """n = 3, C = 2: enumerate every label configuration and every batch; the covariance trace is exact."""
    rng = np.random.default_rng(3)
    check_against_enumeration(rng.normal(size=(3, 2)), rng.normal(size=(3, 2)), softmax(rng.normal(size=(3, 2))),
                              softmax(rng.normal(size=(3, 2))), replace)


@pytest.mark.slow
@given(st.integers(1, 4), st.integers(1, 3), st.integers(1, 3), st.booleans(), st.integers(0, 2**31))
def test_closed_form_variance_equals_exact_enumeration_everywhere(n, num_classes, features, replace, seed):
    rng = np.random.default_rng(seed)
    check_against_enumeration(rng.normal(size=(n, features)), rng.normal(size=(n, num_classes)),
                              softmax(2 * rng.normal(size=(n, num_classes))), rng.normal(size=(n, num_classes)),
                              replace)


@pytest.mark.parametrize("loss, replace", [("squared", False), ("cross_entropy", False), ("squared", True)])
def test_monte_carlo_variance_matches_closed_form_linear(loss, replace):
    data, teacher, phi, weights = problem(n=50)
    outputs = phi @ weights
    sizes = [1, 5, 20, 50]
    closed = denoise.minibatch_gradient_variance(phi @ phi.T, outputs, data.p_star_train, teacher,
                                                 batch_sizes=sizes, loss=loss, replace=replace)
    sampled = denoise.monte_carlo_gradient_variance(phi, outputs, data.p_star_train, teacher, batch_sizes=sizes,
                                                    draws=3000, seed=2, loss=loss, replace=replace)
    for name in ("onehot", "bayes", "teacher"):
        error = sampled.standard_error[name]
        difference = np.abs(sampled.variance[name] - closed.variance[name])
        assert np.all((difference <= TOLERANCE_SE * error) | (difference <= 1e-9 * closed.variance[name].max()))
    np.testing.assert_allclose(sampled.label_noise, closed.label_noise, rtol=1e-10)
    np.testing.assert_allclose(sampled.teacher_bias, closed.teacher_bias, rtol=1e-10)
    # one-hot minus Bayes is exactly the label-noise term
    factor = np.array(sizes, float)
    label_factor = (50 - 1 + factor) / factor if replace else 50 / factor
    np.testing.assert_allclose(closed.variance["onehot"] - closed.variance["bayes"], label_factor * closed.label_noise,
                               rtol=1e-10)
    if not replace:  # full batch: only the label noise is left
        assert closed.variance["bayes"][-1] == 0 and closed.variance["teacher"][-1] == 0
        np.testing.assert_allclose(closed.variance["onehot"][-1], closed.label_noise)


def test_full_ntk_form_equals_kernel_form_and_matches_monte_carlo_on_an_mlp(mlp):
    model, params = mlp
    data, teacher, _, _ = problem(n=30)
    with jax.enable_x64(True):
        params64 = jax.tree_util.tree_map(lambda leaf: jnp.asarray(leaf, jnp.float64), params)
        ntk = empirical_ntk(model.apply, params64, data.x_train, trace_outputs=False)
        logits = np.asarray(model.apply(params64, jnp.asarray(data.x_train)))
    jacobians = denoise.model_jacobians(model.apply, params, data.x_train)
    assert jacobians.shape[:2] == (30, 3)
    np.testing.assert_allclose(np.einsum("icp,jdp->ijcd", jacobians, jacobians), ntk, atol=1e-10)
    sizes = [1, 6, 30]
    closed = denoise.minibatch_gradient_variance(ntk, logits, data.p_star_train, teacher, batch_sizes=sizes,
                                                 loss="cross_entropy")
    sampled = denoise.monte_carlo_gradient_variance(jacobians, logits, data.p_star_train, teacher,
                                                    batch_sizes=sizes, draws=3000, seed=4, loss="cross_entropy")
    for name in closed.variance:
        difference = np.abs(sampled.variance[name] - closed.variance[name])
        assert np.all((difference <= TOLERANCE_SE * sampled.standard_error[name]) | (difference < 1e-9))
    np.testing.assert_allclose(sampled.label_noise, closed.label_noise, rtol=1e-10)
    # a linear model's NTK is K ⊗ I: the (n, n, C, C) form reproduces the (n, n) form
    rng = np.random.default_rng(0)
    phi = rng.normal(size=(30, 4))
    blocks = np.einsum("ij,cd->ijcd", phi @ phi.T, np.eye(3))
    small = denoise.minibatch_gradient_variance(phi @ phi.T, logits, data.p_star_train, teacher, batch_sizes=sizes)
    full = denoise.minibatch_gradient_variance(blocks, logits, data.p_star_train, teacher, batch_sizes=sizes)
    for name in small.variance:
        np.testing.assert_allclose(full.variance[name], small.variance[name], rtol=1e-10)
    assert small.ratio()[0] > 1 and "closed form" in repr(small)


# ------------------------------------------------------------------------------------------------
# where the noise lives


def test_noise_per_direction_closed_form_and_monte_carlo():
    data = synthetic.load_gaussian_mixture(n_train=80, n_test=5, num_classes=3, dim=3, separation=2.0)
    x = data.x_train
    kernel = np.exp(-np.sum((x[:, None] - x[None]) ** 2, axis=-1) / 4.0)
    spectrum = Spectrum.from_kernel(kernel)
    teacher = np.full((80, 3), 1 / 3)
    directions = denoise.noise_per_direction(spectrum, data.p_star_train, teacher)
    # Σ_k u_ik² = 1: the noise energy over all directions is Σ_i (1 − ‖p*_i‖²)
    np.testing.assert_allclose(directions.noise.sum(), np.sum(denoise.label_noise_norm(data.p_star_train)))
    np.testing.assert_allclose(directions.bias.sum(), np.sum((data.p_star_train - teacher) ** 2))
    np.testing.assert_allclose(directions.function, spectrum.eigenvalues**2 * directions.target)
    assert directions.share(slice(None)) == pytest.approx(1.0)
    assert directions.share(np.arange(80) < 8, "signal") > 0.9  # the smooth p* sits on the top directions
    mean, error = denoise.monte_carlo_noise_per_direction(spectrum, data.p_star_train, teacher, draws=2000, seed=3)
    assert np.all(np.abs(mean - directions.target) <= TOLERANCE_SE * error)
    assert "DirectionalNoise" in repr(directions)


# ------------------------------------------------------------------------------------------------
# risk-estimate variance (Menon et al. 2021)


def test_per_class_losses():
    outputs = np.random.default_rng(0).normal(size=(5, 3))
    squared = denoise.per_class_losses(outputs)
    np.testing.assert_allclose(squared, 0.5 * np.sum((outputs[:, None] - np.eye(3)[None]) ** 2, axis=-1))
    np.testing.assert_allclose(denoise.per_class_losses(outputs, "cross_entropy"), -log_softmax(outputs))


def test_risk_variance_gap_matches_menon_formula():
    data = synthetic.load_gaussian_mixture(n_train=2000, n_test=5, num_classes=3, dim=3, separation=2.0)
    outputs = 0.8 * data.p_star_train + 0.1  # a fixed, imperfect predictor
    losses = denoise.per_class_losses(outputs)
    for size in (1, 20, 200):
        result = denoise.monte_carlo_risk_variance(losses, data.p_star_train, sample_size=size, repeats=4000, seed=5)
        assert abs(result.gap - result.predicted_gap) <= TOLERANCE_SE * result.gap_standard_error
        assert abs(result.onehot_variance - result.predicted_onehot) <= TOLERANCE_SE * result.onehot_standard_error
        assert abs(result.distilled_variance - result.predicted_distilled) <= (
            TOLERANCE_SE * result.distilled_standard_error)
        assert result.predicted_distilled < result.predicted_onehot
    # n = 1 by enumeration over the pool and the classes
    mean = np.mean(np.sum(data.p_star_train * losses, axis=1))
    exact = np.mean(np.sum(data.p_star_train * (losses - mean) ** 2, axis=1))
    one = denoise.monte_carlo_risk_variance(losses, data.p_star_train, sample_size=1, repeats=2)
    np.testing.assert_allclose(one.predicted_onehot, exact, rtol=1e-12)
    assert set(one.as_dict()) >= {"gap", "predicted_gap"} and "RiskVariance" in repr(one)


# ------------------------------------------------------------------------------------------------
# bad input


def test_bad_inputs():
    data, teacher, phi, weights = problem(n=10)
    labels, p_star = data.y_train, data.p_star_train
    with pytest.raises(ValueError, match="loss"):
        denoise.decompose_linear(phi, weights, labels, teacher, loss="hinge")
    with pytest.raises(ValueError, match="weights"):
        denoise.decompose_linear(phi, weights[:-1], labels, teacher)
    with pytest.raises(ValueError, match="labels"):
        denoise.decompose_linear(phi, weights, labels + 5, teacher)
    with pytest.raises(ValueError, match="teacher"):
        denoise.decompose_linear(phi, weights, labels, teacher * 2, loss="cross_entropy")
    with pytest.raises(ValueError, match="k_train_train"):
        denoise.decompose_kernel(np.eye(3), phi @ weights, labels, teacher)
    with pytest.raises(ValueError, match="apply_fn"):
        denoise.decompose_model(lambda p, x: x @ p, np.zeros((6, 2)), phi, labels, teacher)
    with pytest.raises(ValueError, match="batch_sizes"):
        denoise.minibatch_gradient_variance(phi @ phi.T, phi @ weights, p_star, batch_sizes=[0, 5])
    with pytest.raises(ValueError, match="batch_sizes"):
        denoise.minibatch_gradient_variance(phi @ phi.T, phi @ weights, p_star, batch_sizes=[11])
    with pytest.raises(ValueError, match="kernel"):
        denoise.minibatch_gradient_variance(np.eye(4), phi @ weights, p_star, batch_sizes=[1])
    with pytest.raises(ValueError, match="p_star"):
        denoise.minibatch_gradient_variance(phi @ phi.T, phi @ weights, p_star * 2, batch_sizes=[1])
    with pytest.raises(ValueError, match="jacobians"):
        denoise.monte_carlo_gradient_variance(phi[:5], phi @ weights, p_star, batch_sizes=[1])
    with pytest.raises(ValueError, match="draws"):
        denoise.monte_carlo_gradient_variance(phi, phi @ weights, p_star, batch_sizes=[1], draws=1)
    with pytest.raises(ValueError, match="k_diagonal"):
        denoise.label_noise_norm(p_star, k_diagonal=-np.ones(10))
    with pytest.raises(ValueError, match="spectrum"):
        denoise.noise_per_direction(np.eye(10), p_star)
    with pytest.raises(ValueError, match="quantity"):
        denoise.noise_per_direction(Spectrum.from_features(phi), p_star).share(slice(0, 2), "energy")
    with pytest.raises(ValueError, match="sample_size"):
        denoise.monte_carlo_risk_variance(np.ones((10, 3)), p_star, sample_size=0)
    with pytest.raises(ValueError, match="losses"):
        denoise.conditional_loss_variance(np.ones((10, 2)), p_star)
    with pytest.raises(ValueError, match="fraction"):
        denoise.confidence_groups(p_star, 0.7)


# ------------------------------------------------------------------------------------------------
# the figure


def test_denoise_figure_quick_mode(tmp_path):
    assert paper_figs.main(["--fig", "denoise", "--quick", "--out", str(tmp_path)]) == 0
    for suffix in ("png", "pdf", "json"):
        assert (tmp_path / f"denoise.{suffix}").stat().st_size > 1000
    result = json.loads((tmp_path / "denoise.json").read_text())
    data = result["data"]
    for panel in "abcdf":
        values = list(finite_numbers(data[panel]))
        assert values and all(np.isfinite(values)), panel
    verdicts = {claim["claim"]: claim["verdict"] for claim in result["claims"]}
    assert set(verdicts.values()) <= {"reproduced", "not reproduced", "not run"}
    # the closed forms hold on the figure's own data
    z_scores = np.concatenate([np.abs(np.asarray(v, float)) for v in data["b"]["z_scores"].values()])
    assert np.max(z_scores) < TOLERANCE_SE
    assert verdicts["C4 variance"] == "reproduced" and verdicts["Menon"] == "reproduced"
    # measured numbers carry 95 % intervals around their value; closed forms an exact tolerance instead
    evidence = {claim["claim"]: claim["evidence"] for claim in result["claims"]}
    for name in ("C4 students", "C4 hard points", "C4 early stop", "C2"):
        for part in evidence[name]:
            low, high = part["interval"]
            assert part["kind"] == "estimate" and low <= part["value"] <= high and low < high, name
    for name in ("C4 teacher", "C4 eigenspace"):
        assert all(part["kind"] == "exact" and part["tolerance"] > 0 for part in evidence[name]), name
    assert [part["kind"] for part in evidence["C4 variance"]] == ["exact", "estimate"]
    for name, (value, low, high) in data["intervals"].items():
        assert low <= value <= high, name


def test_denoise_claims_judge_the_stored_intervals():
    """C2 is not judged (not run) when the stored recovered fraction is NaN (no gain whose interval lies above 0);
    an interval that straddles the criterion makes a claim inconclusive; a result stored before intervals is
    judged on its point values."""
    from figures import denoise as figure

    data = figure.compute(figure.Config.quick(n_train=120, n_test=300, validation=200, risk_sizes=(16, 64),
                                              risk_pool=1000, risk_repeats=200, replicates=200))
    verdicts = lambda d: {claim.claim: claim.verdict for claim in figure.claims(d)}
    before = verdicts(data)
    data["intervals"]["recovered"] = [None, None, None]  # as stored in the JSON when not judged
    data["intervals"]["best_teacher_over_onehot"] = [0.99, 0.98, 1.0]
    after = verdicts(data)
    assert after["C2"] == "not run" and after["C4 early stop"] == "inconclusive"
    old = dict(data)
    del old["intervals"]
    assert verdicts(old)["C2"] == before["C2"] != "not run"


def test_denoise_figure_refuses_data_without_p_star():
    from figures import denoise as figure

    with pytest.raises(ValueError, match="known Bayes probabilities"):
        figure.compute(figure.Config.quick(dataset="digits"))
