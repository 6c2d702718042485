"""Tests of theory.kernels: closed-form kernels, random features, the empirical NTK, the NTK MLP, the lengthscale."""
import contextlib
import math
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.spatial.distance import pdist

from theory import kernels
from theory.kernels import empirical_ntk, median_lengthscale, ntk_mlp

ROOT = Path(__file__).resolve().parents[1]

# ------------------------------------------------------------------------------------------------
# helpers


def inputs(max_points=10, max_dim=5):
    """Hypothesis strategy for an (n, d) float64 input matrix with moderate entries (zero rows likely)."""
    shapes = st.tuples(st.integers(1, max_points), st.integers(1, max_dim))
    return shapes.flatmap(
        lambda shape: hnp.arrays(np.float64, shape, elements=st.floats(-5, 5, allow_nan=False, width=64))
    )


def assert_symmetric_psd(gram):
    np.testing.assert_array_equal(gram, gram.T)
    eigenvalues = np.linalg.eigvalsh(gram)
    scale = max(np.abs(eigenvalues).max(), 1e-300)
    assert eigenvalues.min() >= -1e-10 * scale, (eigenvalues.min(), scale)


def loglog_slope(sizes, errors):
    return np.polyfit(np.log(sizes), np.log(errors), 1)[0]


def flat_jacobian(apply_fn, params, x):
    """J (n, C, P) from jax.jacobian of the whole batch: the reference, independent of empirical_ntk."""
    jac = jax.jacobian(lambda p: apply_fn(p, x))(params)
    leaves = jax.tree_util.tree_leaves(jac)
    blocks = [np.asarray(leaf).reshape(x.shape[0], -1, math.prod(leaf.shape[2:])) for leaf in leaves]
    return np.concatenate(blocks, axis=2)


KERNELS = {
    "linear": lambda a, b=None: kernels.linear(a, b),
    "rbf": lambda a, b=None: kernels.rbf(a, b, lengthscale=1.3),
    "nngp": lambda a, b=None: kernels.relu_nngp(a, b, depth=3, weight_std=1.4, bias_std=0.2),
    "ntk": lambda a, b=None: kernels.relu_ntk(a, b, depth=3, weight_std=1.4, bias_std=0.2),
    "ntk_no_bias": lambda a, b=None: kernels.relu_ntk(a, b, depth=2),
}

# ------------------------------------------------------------------------------------------------
# closed-form kernels: properties


@pytest.mark.parametrize("name", sorted(KERNELS))
@given(x=inputs())
def test_kernel_is_symmetric_psd(name, x):
    gram = KERNELS[name](x)
    assert gram.dtype == np.float64 and gram.shape == (len(x), len(x))
    assert np.all(np.isfinite(gram))
    assert_symmetric_psd(gram)


@given(
    x=inputs(),
    depth=st.integers(1, 8),
    weight_std=st.floats(0, 3),
    bias_std=st.floats(0, 2),
    kernel=st.sampled_from([kernels.relu_nngp, kernels.relu_ntk]),
)
def test_relu_kernels_are_psd_for_any_hyperparameters(x, depth, weight_std, bias_std, kernel):
    gram = kernel(x, depth=depth, weight_std=weight_std, bias_std=bias_std)
    assert np.all(np.isfinite(gram))
    assert_symmetric_psd(gram)


@pytest.mark.parametrize("name", sorted(KERNELS))
@given(x=inputs(max_points=8), split=st.integers(0, 8))
def test_cross_kernel_is_block_of_joint_kernel(name, x, split):
    split = min(split, len(x) - 1)
    first, second = x[: split + 1], x[split + 1:]
    joint = KERNELS[name](x)
    np.testing.assert_allclose(KERNELS[name](first, second), joint[: split + 1, split + 1:], rtol=1e-9, atol=1e-9)


@settings(max_examples=20)
@given(x1=inputs(), seed=st.integers(0, 2**16), lengthscale=st.floats(0.1, 10))
def test_rbf_matches_double_loop(x1, seed, lengthscale):
    x2 = np.random.default_rng(seed).normal(size=(4, x1.shape[1]))
    expected = np.array([[math.exp(-np.sum((a - b) ** 2) / (2 * lengthscale**2)) for b in x2] for a in x1])
    np.testing.assert_allclose(kernels.rbf(x1, x2, lengthscale=lengthscale), expected, rtol=1e-10, atol=1e-14)
    assert np.all(np.diag(kernels.rbf(x1, lengthscale=lengthscale)) == 1.0)


def test_rbf_is_stable_far_from_origin(rng):
    x = rng.normal(size=(5, 3)) + 1e6  # plain ‖a‖² + ‖b‖² − 2a·b would lose every digit here
    expected = np.exp(-np.sum((x[:, None] - x[None]) ** 2, axis=-1) / 2)
    np.testing.assert_allclose(kernels.rbf(x, lengthscale=1.0), expected, rtol=1e-6)


def test_linear_is_dot_product(rng):
    x1, x2 = rng.normal(size=(6, 4)), rng.normal(size=(3, 4))
    np.testing.assert_allclose(kernels.linear(x1, x2), x1 @ x2.T, rtol=1e-14)
    np.testing.assert_allclose(kernels.linear(x1), x1 @ x1.T, rtol=1e-14)


def arc_cosine_depth1(x, y, weight_std, bias_std):
    """Depth-1 NNGP and NTK for one pair, derived by hand.

    The first dense layer's pre-activations are u = σ_w w·x/√d + σ_b β, v = σ_w w·y/√d + σ_b β with
    w ~ N(0, I), β ~ N(0, 1): u = w̃·x̃, v = w̃·ỹ for w̃ ~ N(0, I_{d+1}) and the augmented inputs
    x̃ = (σ_w x/√d, σ_b), ỹ = (σ_w y/√d, σ_b). Cho & Saul (2009) give, with cos θ = x̃·ỹ/(‖x̃‖‖ỹ‖),
        E[ReLU(u) ReLU(v)] = ‖x̃‖‖ỹ‖ (sin θ + (π − θ) cos θ) / (2π)   (degree-1 arc-cosine kernel / 2),
        E[ReLU′(u) ReLU′(v)] = P(u > 0, v > 0) = (π − θ) / (2π)      (degree-0 arc-cosine kernel / 2).
    The read-out f = σ_w/√m Σ_j a_j ReLU(u_j) + σ_b b has NNGP σ_w² E[ReLU ReLU] + σ_b². Its NTK sums the
    read-out gradients (= the NNGP) and the first-layer gradients: ∂f/∂w_j = σ_w a_j ReLU′(u_j) σ_w x/√(d m),
    ∂f/∂β_j = σ_w a_j ReLU′(u_j) σ_b/√m, whose inner product averages to σ_w² E[ReLU′ ReLU′] x̃·ỹ.
    """
    dim = len(x)
    x_aug = np.append(weight_std * x / math.sqrt(dim), bias_std)
    y_aug = np.append(weight_std * y / math.sqrt(dim), bias_std)
    norm_x, norm_y = np.linalg.norm(x_aug), np.linalg.norm(y_aug)
    theta = math.acos(min(1.0, max(-1.0, x_aug @ y_aug / (norm_x * norm_y))))
    relu_relu = norm_x * norm_y * (math.sin(theta) + (math.pi - theta) * math.cos(theta)) / (2 * math.pi)
    step_step = (math.pi - theta) / (2 * math.pi)
    nngp = weight_std**2 * relu_relu + bias_std**2
    return nngp, nngp + weight_std**2 * step_step * (x_aug @ y_aug)


@pytest.mark.parametrize("weight_std, bias_std", [(1.0, 0.0), (1.7, 0.4), (0.5, 2.0)])
def test_depth1_matches_arc_cosine_closed_form(rng, weight_std, bias_std):
    x1, x2 = rng.normal(size=(5, 3)), rng.normal(size=(4, 3))
    pairs = [[arc_cosine_depth1(a, b, weight_std, bias_std) for b in x2] for a in x1]
    expected = np.array(pairs)
    nngp = kernels.relu_nngp(x1, x2, depth=1, weight_std=weight_std, bias_std=bias_std)
    ntk = kernels.relu_ntk(x1, x2, depth=1, weight_std=weight_std, bias_std=bias_std)
    np.testing.assert_allclose(nngp, expected[..., 0], rtol=1e-12)
    np.testing.assert_allclose(ntk, expected[..., 1], rtol=1e-12)


def textbook_recursion(x, y, depth, weight_std, bias_std):
    """NNGP and NTK of one pair by the plain recursion (arccos of the clipped cosine), scalar maths."""
    w_var, b_var = weight_std**2, bias_std**2
    sxx, syy = w_var * (x @ x) / len(x) + b_var, w_var * (y @ y) / len(x) + b_var
    sxy = w_var * (x @ y) / len(x) + b_var
    ntk = sxy
    for _ in range(depth):
        theta = math.acos(max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy))))
        sxy = w_var * math.sqrt(sxx * syy) * (math.sin(theta) + (math.pi - theta) * math.cos(theta)) / (2 * math.pi)
        sxy += b_var
        ntk = sxy + w_var * (math.pi - theta) / (2 * math.pi) * ntk
        sxx, syy = w_var * sxx / 2 + b_var, w_var * syy / 2 + b_var
    return sxy, ntk


@pytest.mark.parametrize("depth, weight_std, bias_std", [(2, 1.0, 0.0), (3, 1.6, 0.3), (6, 1.2, 1.0)])
def test_deep_kernels_match_textbook_recursion_on_generic_inputs(rng, depth, weight_std, bias_std):
    # Generic (far from parallel) inputs, where the plain recursion is accurate; the implementation's
    # cancellation-free angle update must agree with it there.
    x1, x2 = rng.normal(size=(5, 4)), rng.normal(size=(3, 4))
    expected = np.array([[textbook_recursion(a, b, depth, weight_std, bias_std) for b in x2] for a in x1])
    kwargs = dict(depth=depth, weight_std=weight_std, bias_std=bias_std)
    np.testing.assert_allclose(kernels.relu_nngp(x1, x2, **kwargs), expected[..., 0], rtol=1e-10)
    np.testing.assert_allclose(kernels.relu_ntk(x1, x2, **kwargs), expected[..., 1], rtol=1e-10)


def test_parallel_inputs_keep_the_ntk_psd():
    # x, 2x, −x: cos θ = ±1 exactly. arccos of a rounded cosine gives θ ≈ 1e-8 instead of 0 and
    # a Gram matrix with eigenvalues ≈ −1e-9·λ_max; the implementation must not.
    x = np.array([[-3.47220428], [-1.0], [-0.75], [2.0]])
    gram = kernels.relu_ntk(x, depth=4)
    assert_symmetric_psd(gram)
    expected = np.array([[textbook_recursion(a, b, 4, 1.0, 0.0)[1] for b in x] for a in x])
    np.testing.assert_allclose(gram, expected, rtol=1e-7)  # the textbook values carry the 1e-8 error


def test_relu_kernels_handle_zero_and_repeated_inputs():
    x = np.array([[0.0, 0.0], [1.0, 2.0], [1.0, 2.0], [-1.0, -2.0]])
    for kernel in (kernels.relu_nngp, kernels.relu_ntk):
        gram = kernel(x, depth=3)
        assert np.all(np.isfinite(gram))
        np.testing.assert_array_equal(gram[0], 0.0)  # σ_b = 0: a zero input has zero features
        np.testing.assert_allclose(gram[1], gram[2], rtol=1e-15)
        assert_symmetric_psd(gram)
    # on the diagonal Σ(x, x) = σ_w² ‖x‖²/d · (σ_w²/2)^depth when σ_b = 0
    np.testing.assert_allclose(kernels.relu_nngp(x[1:2], depth=3, weight_std=1.3), [[1.3**2 * 2.5 * (1.3**2 / 2) ** 3]])


# ------------------------------------------------------------------------------------------------
# random features


@pytest.mark.parametrize("bias_std", [0.0, 0.5])
def test_relu_random_features_converge_to_depth1_nngp(rng, bias_std):
    x = rng.normal(size=(6, 3))
    target = kernels.relu_nngp(x, depth=1, weight_std=1.3, bias_std=bias_std)
    sizes = [100, 400, 1600, 6400]
    errors = []
    for size in sizes:
        grams = [
            (phi := kernels.relu_random_features(x, num_features=size, seed=seed, weight_std=1.3, bias_std=bias_std))
            @ phi.T
            for seed in range(8)
        ]
        errors.append(np.mean([np.linalg.norm(g - target) / np.linalg.norm(target) for g in grams]))
    assert errors[-1] < 0.05
    assert -0.8 <= loglog_slope(sizes, errors) <= -0.25, errors


def test_random_fourier_features_converge_to_rbf(rng):
    x = rng.normal(size=(6, 3))
    target = kernels.rbf(x, lengthscale=1.5)
    sizes = [100, 400, 1600, 6400]
    errors = []
    for size in sizes:
        grams = [
            (phi := kernels.random_fourier_features(x, num_features=size, lengthscale=1.5, seed=seed)) @ phi.T
            for seed in range(8)
        ]
        errors.append(np.mean([np.linalg.norm(g - target) / np.linalg.norm(target) for g in grams]))
    assert errors[-1] < 0.05
    assert -0.8 <= loglog_slope(sizes, errors) <= -0.25, errors


@pytest.mark.parametrize(
    "make_map, features",
    [
        (lambda: kernels.relu_feature_map(3, num_features=16, seed=7, bias_std=0.3),
         lambda x: kernels.relu_random_features(x, num_features=16, seed=7, bias_std=0.3)),
        (lambda: kernels.fourier_feature_map(3, num_features=16, lengthscale=2.0, seed=7),
         lambda x: kernels.random_fourier_features(x, num_features=16, lengthscale=2.0, seed=7)),
    ],
    ids=["relu", "fourier"],
)
def test_feature_maps_are_reproducible_and_shared_between_train_and_test(rng, make_map, features):
    x_train, x_test = rng.normal(size=(5, 3)), rng.normal(size=(4, 3))
    phi = make_map()
    joint = features(np.concatenate([x_train, x_test]))
    np.testing.assert_array_equal(np.concatenate([phi(x_train), phi(x_test)]), joint)
    np.testing.assert_array_equal(make_map()(x_test), phi(x_test))
    assert joint.shape == (9, 16)


# ------------------------------------------------------------------------------------------------
# empirical NTK


def tanh_net(params, x):
    """A non-flax network with a dict of parameters, to check that any apply_fn works."""
    hidden = jnp.tanh(x @ params["w1"] + params["b1"])
    return hidden @ params["w2"] + jnp.sin(params["scale"]) * x[:, :2]


@pytest.mark.parametrize("network", ["flax", "tanh"])
def test_empirical_ntk_equals_jacobian_product(rng, network):
    with jax.enable_x64(True):
        if network == "flax":
            model = ntk_mlp(depth=2, width=8, weight_std=1.3, bias_std=0.2, output_dim=3, param_dtype=jnp.float64)
            params = model.init(jax.random.key(1), jnp.zeros((1, 4)))
            apply_fn = model.apply
        else:
            keys = jax.random.split(jax.random.key(2), 3)
            params = {
                "w1": jax.random.normal(keys[0], (4, 6), jnp.float64),
                "b1": jax.random.normal(keys[1], (6,), jnp.float64),
                "w2": jax.random.normal(keys[2], (6, 2), jnp.float64),
                "scale": jnp.asarray(0.3),
            }
            apply_fn = tanh_net
        x1, x2 = rng.normal(size=(7, 4)), rng.normal(size=(5, 4))
        jac1 = flat_jacobian(apply_fn, params, jnp.asarray(x1))
        jac2 = flat_jacobian(apply_fn, params, jnp.asarray(x2))
        num_outputs = jac1.shape[1]
        full_reference = np.einsum("acp,bep->abce", jac1, jac2)
        traced_reference = np.einsum("acp,bcp->ab", jac1, jac2) / num_outputs
        self_reference = np.einsum("acp,bcp->ab", jac1, jac1) / num_outputs
        for batch_size in (3, 256):  # 3 divides neither 7 nor 5
            # a plain JAX function has no layers: "auto" falls back to the Jacobian contraction and says why
            falls_back = (pytest.warns(UserWarning, match="Jacobian contraction instead .* no layer structure")
                          if network == "tanh" else contextlib.nullcontext())
            with falls_back:
                traced = empirical_ntk(apply_fn, params, x1, x2, batch_size=batch_size)
                full = empirical_ntk(apply_fn, params, x1, x2, trace_outputs=False, batch_size=batch_size)
                own = empirical_ntk(apply_fn, params, x1, batch_size=batch_size)
                own_full = empirical_ntk(apply_fn, params, x1, trace_outputs=False, batch_size=batch_size)
            np.testing.assert_allclose(traced, traced_reference, rtol=1e-11, atol=1e-12)
            np.testing.assert_allclose(full, full_reference, rtol=1e-11, atol=1e-12)
            np.testing.assert_allclose(own, self_reference, rtol=1e-11, atol=1e-12)
            np.testing.assert_allclose(own_full, np.einsum("acp,bep->abce", jac1, jac1), rtol=1e-11, atol=1e-12)
            assert traced.dtype == np.float64 and full.shape == (7, 5, num_outputs, num_outputs)
            assert_symmetric_psd(own)
            np.testing.assert_array_equal(own_full, own_full.transpose(1, 0, 3, 2))


def test_empirical_ntk_accepts_scalar_outputs(rng):
    model = ntk_mlp(depth=1, width=16)
    params = model.init(jax.random.key(0), jnp.zeros((1, 3)))
    x = rng.normal(size=(5, 3))
    vector = empirical_ntk(model.apply, params, x, batch_size=2)
    scalar = empirical_ntk(lambda p, inputs: model.apply(p, inputs)[:, 0], params, x, batch_size=2)
    np.testing.assert_allclose(scalar, vector, rtol=1e-6)
    assert empirical_ntk(model.apply, params, x, trace_outputs=False).shape == (5, 5, 1, 1)


def width_errors(widths, seeds, depth=2, weight_std=1.2, bias_std=0.3, output_dim=2):
    """Mean relative Frobenius error of the empirical full NTK of ntk_mlp against relu_ntk ⊗ I_C."""
    x = np.random.default_rng(0).normal(size=(6, 5))
    limit = kernels.relu_ntk(x, depth=depth, weight_std=weight_std, bias_std=bias_std)
    limit_full = limit[:, :, None, None] * np.eye(output_dim)
    errors = []
    for width in widths:
        model = ntk_mlp(depth, width, weight_std, bias_std, output_dim)
        per_seed = []
        for seed in seeds:
            params = model.init(jax.random.key(seed), jnp.zeros((1, 5)))
            full = empirical_ntk(model.apply, params, x, trace_outputs=False)
            per_seed.append(np.linalg.norm(full - limit_full) / np.linalg.norm(limit_full))
        errors.append(np.mean(per_seed))
    # the traced kernel is the mean of the output-diagonal blocks (last network of the loop)
    traced = np.einsum("abcc->ab", full) / output_dim
    np.testing.assert_allclose(empirical_ntk(model.apply, params, x), traced, rtol=1e-5, atol=1e-6)
    return errors


def test_empirical_ntk_of_ntk_mlp_approaches_relu_ntk():
    widths = [64, 256, 1024]
    errors = width_errors(widths, seeds=range(4))
    assert errors[-1] < 0.15, errors
    assert -0.8 <= loglog_slope(widths, errors) <= -0.25, errors


@pytest.mark.slow
def test_empirical_ntk_of_ntk_mlp_approaches_relu_ntk_up_to_width_4096():
    widths = [64, 256, 1024, 4096]
    errors = width_errors(widths, seeds=range(8))
    assert errors[-1] < 0.06, errors
    assert -0.8 <= loglog_slope(widths, errors) <= -0.25, errors


def test_wide_network_gd_follows_linearised_dynamics(rng):
    """Full-batch GD on ½Σ‖f − y‖² vs F_t = F_0 + (I − (I − ηΘ)^t)(Y − F_0) with Θ the NTK at init.

    Θ is the full (n·C, n·C) empirical NTK (output blocks included), so this is the exact linearisation
    of this finite network; the gap is the non-linearity, O(1/√width). Trained half-way (30 steps), so
    that the trajectory matters and not only its interpolating end point. Inputs on the sphere of radius
    √d and σ_b = 0.5: ReLU nets with low-dimensional inputs near the kink linearise much more slowly.
    """
    num_train, num_test, dim, num_outputs, steps = 8, 4, 8, 2, 30
    x = rng.normal(size=(num_train + num_test, dim))
    x *= math.sqrt(dim) / np.linalg.norm(x, axis=1, keepdims=True)
    x_train, x_test = x[:num_train], x[num_train:]
    y_train = rng.normal(size=(num_train, num_outputs))
    with jax.enable_x64(True):
        model = ntk_mlp(depth=2, width=2048, bias_std=0.5, output_dim=num_outputs, param_dtype=jnp.float64)
        params = model.init(jax.random.key(0), jnp.zeros((1, dim)))
        full = empirical_ntk(model.apply, params, x_train, trace_outputs=False)
        cross = empirical_ntk(model.apply, params, x_test, x_train, trace_outputs=False)
        k_train = full.transpose(0, 2, 1, 3).reshape(num_train * num_outputs, -1)
        k_test_train = cross.transpose(0, 2, 1, 3).reshape(num_test * num_outputs, -1)
        eigenvalues, eigenvectors = np.linalg.eigh(k_train)
        learning_rate = 0.5 / eigenvalues.max()

        def loss(p):
            return 0.5 * jnp.sum((model.apply(p, x_train) - y_train) ** 2)

        @jax.jit
        def step(p):
            return jax.tree_util.tree_map(lambda w, g: w - learning_rate * g, p, jax.grad(loss)(p))

        f0_train, f0_test = np.asarray(model.apply(params, x_train)), np.asarray(model.apply(params, x_test))
        for _ in range(steps):
            params = step(params)
        f_train, f_test = np.asarray(model.apply(params, x_train)), np.asarray(model.apply(params, x_test))

    # Closed form in the eigenbasis of Θ; on test points g(λ)/λ = (1 − (1 − ηλ)^t)/λ, written with
    # expm1/log1p so that it stays finite as λ → 0.
    residual = eigenvectors.T @ (y_train - f0_train).reshape(-1)
    progress = -np.expm1(steps * np.log1p(-learning_rate * eigenvalues))
    lin_train = f0_train.reshape(-1) + eigenvectors @ (progress * residual)
    lin_test = f0_test.reshape(-1) + k_test_train @ eigenvectors @ (progress / eigenvalues * residual)
    moved_train = np.linalg.norm(lin_train - f0_train.reshape(-1))
    moved_test = np.linalg.norm(lin_test - f0_test.reshape(-1))
    remaining = np.linalg.norm(lin_train - y_train.reshape(-1)) / np.linalg.norm(y_train - f0_train)
    assert 0.05 < remaining < 0.6  # part-way through training
    assert np.linalg.norm(f_train.reshape(-1) - lin_train) < 0.04 * moved_train
    assert np.linalg.norm(f_test.reshape(-1) - lin_test) < 0.05 * moved_test


# ------------------------------------------------------------------------------------------------
# bad inputs


BAD_CALLS = {
    "mismatched d": (lambda: kernels.linear(np.ones((2, 3)), np.ones((2, 4))), "same feature dimension"),
    "mismatched d rbf": (lambda: kernels.rbf(np.ones((2, 3)), np.ones((2, 4)), lengthscale=1.0), "feature dimension"),
    "mismatched d ntk": (lambda: kernels.relu_ntk(np.ones((2, 3)), np.ones((2, 4)), depth=1), "feature dimension"),
    "1-D input": (lambda: kernels.linear(np.ones(3)), r"x1 must be 2-D"),
    "depth 0": (lambda: kernels.relu_ntk(np.ones((2, 3)), depth=0), "depth"),
    "depth float": (lambda: kernels.relu_nngp(np.ones((2, 3)), depth=1.5), "depth"),
    "negative weight_std": (lambda: kernels.relu_nngp(np.ones((2, 3)), depth=1, weight_std=-1.0), "weight_std"),
    "negative bias_std": (lambda: kernels.relu_ntk(np.ones((2, 3)), depth=1, bias_std=-0.1), "bias_std"),
    "zero lengthscale": (lambda: kernels.rbf(np.ones((2, 3)), lengthscale=0.0), "lengthscale"),
    "nan lengthscale": (lambda: kernels.rbf(np.ones((2, 3)), lengthscale=float("nan")), "lengthscale"),
    "negative lengthscale rff": (
        lambda: kernels.random_fourier_features(np.ones((2, 3)), num_features=4, lengthscale=-1.0, seed=0),
        "lengthscale",
    ),
    "nan input": (lambda: kernels.relu_ntk(np.array([[np.nan, 1.0]]), depth=1), "NaN"),
    "inf input rbf": (lambda: kernels.rbf(np.ones((2, 2)), np.array([[np.inf, 1.0]]), lengthscale=1.0), "x2"),
    "nan input features": (lambda: kernels.relu_random_features(np.array([[np.nan]]), num_features=3, seed=0), "NaN"),
    "zero features": (lambda: kernels.relu_random_features(np.ones((2, 3)), num_features=0, seed=0), "num_features"),
    "wrong map dim": (lambda: kernels.relu_feature_map(3, num_features=4, seed=0)(np.ones((2, 4))), "input_dim"),
    "negative std features": (
        lambda: kernels.relu_random_features(np.ones((2, 3)), num_features=3, seed=0, weight_std=-2.0),
        "weight_std",
    ),
    "mlp depth 0": (lambda: ntk_mlp(0, 16), "depth"),
    "mlp negative std": (lambda: ntk_mlp(1, 16, weight_std=-1.0), "weight_std"),
    "mlp width 0": (lambda: ntk_mlp(1, 0), "width"),
}


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_bad_inputs_raise_value_error(case):
    call, message = BAD_CALLS[case]
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(
    "x1, x2, kwargs, message",
    [
        (np.ones((3, 4)), np.ones((2, 5)), {}, "feature dimension"),
        (np.array([[np.nan, 0, 0, 0]]), None, {}, "NaN"),
        (np.ones((3, 4)), None, {"batch_size": 0}, "batch_size"),
    ],
)
def test_empirical_ntk_bad_inputs(x1, x2, kwargs, message):
    model = ntk_mlp(depth=1, width=4)
    params = model.init(jax.random.key(0), jnp.zeros((1, 4)))
    with pytest.raises(ValueError, match=message):
        empirical_ntk(model.apply, params, x1, x2, **kwargs)


# ------------------------------------------------------------------------------------------------
# median_lengthscale


def test_median_lengthscale_is_the_median_of_the_distances():
    """On [0, 1, 3, 4] the six distances are 1, 1, 2, 3, 3, 4: the median is 2.5 (not √6.5 ≈ 2.55, the root of
    the median squared distance, which a previous copy in theory.nets.tracking computed)."""
    x = [[0.0], [1.0], [3.0], [4.0]]
    assert median_lengthscale(x) == 2.5
    assert median_lengthscale([[0.0], [1.0], [3.0]]) == 2.0  # odd number of pairs: the middle distance


def test_median_lengthscale_matches_scipy_pdist(rng):
    for shape in [(2, 1), (7, 3), (40, 5), (41, 64)]:
        x = rng.normal(size=shape)
        assert math.isclose(median_lengthscale(x), np.median(pdist(x)), rel_tol=1e-12)


@settings(max_examples=40)
@given(
    points=hnp.arrays(np.float64, st.tuples(st.integers(2, 12), st.integers(1, 4)),
                      elements=st.floats(-5, 5, allow_nan=False, width=64), unique=True),
    shift=hnp.arrays(np.float64, 4, elements=st.floats(-1e3, 1e3, allow_nan=False, width=64)),
    scale=st.floats(1e-3, 1e3).flatmap(lambda s: st.sampled_from([s, -s])),
    seed=st.integers(0, 2**16),
)
def test_median_lengthscale_invariances(points, shift, scale, seed):
    """ℓ(P x + 1 cᵀ) = ℓ(x) for a row permutation P and a translation c; ℓ(s x) = |s| ℓ(x)."""
    reference = np.median(pdist(points))
    if reference < 1e-3:  # mostly repeated rows: no lengthscale (checked below)
        return
    value = median_lengthscale(points)
    assert math.isclose(value, reference, rel_tol=1e-10)
    permuted = points[np.random.default_rng(seed).permutation(points.shape[0])]
    assert math.isclose(median_lengthscale(permuted), value, rel_tol=1e-12)
    translated = points + shift[: points.shape[1]]
    assert math.isclose(median_lengthscale(translated), value, rel_tol=1e-9)
    assert math.isclose(median_lengthscale(scale * points), abs(scale) * value, rel_tol=1e-12)


def test_median_lengthscale_is_the_one_copy():
    from theory import regimes
    from theory.nets import tracking

    assert regimes.median_lengthscale is median_lengthscale
    assert tracking.median_lengthscale is median_lengthscale


@pytest.mark.parametrize(
    "x, message",
    [
        (np.ones((1, 3)), "n >= 2"),
        (np.zeros((5, 2)), "median pairwise distance is 0"),
        (np.ones(4), r"x must be 2-D"),
        (np.array([[0.0], [np.inf]]), "x must be finite"),
    ],
)
def test_median_lengthscale_bad_inputs(x, message):
    with pytest.raises(ValueError, match=message):
        median_lengthscale(x)


# ------------------------------------------------------------------------------------------------
# import surface


def run_python(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter from the repository root (so this checkout's theory is imported)."""
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_import_theory_does_not_load_flax_or_optax():
    """flax (and optax) load only with the NTK MLP or theory.nets, on first use."""
    result = run_python(
        "import sys, theory\n"
        "assert 'flax' not in sys.modules and 'optax' not in sys.modules, 'eager flax/optax'\n"
        "theory.kernels.empirical_ntk, theory.empirical_ntk\n"
        "assert 'flax' not in sys.modules, 'empirical_ntk loaded flax'\n"
        "from theory.kernels import NTKMLP, ntk_mlp\n"
        "assert 'flax' in sys.modules\n"
        "from theory.kernels.mlp import NTKMLP as direct\n"
        "assert NTKMLP is direct and theory.NTKMLP is direct and theory.ntk_mlp is ntk_mlp\n"
    )
    assert result.returncode == 0, result.stderr


def test_ntk_mlp_module_is_a_deprecated_shim():
    result = run_python(
        "import warnings\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    from theory.ntk_mlp import NTKDense, NTKMLP, empirical_ntk, ntk_mlp\n"
        "assert any(issubclass(w.category, DeprecationWarning) and 'theory.kernels' in str(w.message)\n"
        "           for w in caught), [str(w.message) for w in caught]\n"
        "import theory.kernels as k\n"
        "assert (NTKDense, NTKMLP, empirical_ntk, ntk_mlp) == (k.NTKDense, k.NTKMLP, k.empirical_ntk, k.ntk_mlp)\n"
    )
    assert result.returncode == 0, result.stderr
