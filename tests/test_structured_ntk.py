"""The structured (per-layer) empirical NTK equals the Jacobian contraction; fallbacks state their reason.

Also the matrix-free ``ntk_vector_product`` against the materialised kernel. All comparisons in float64.
"""
import warnings

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory.kernels import empirical_ntk, ntk_mlp, ntk_vector_product
from theory.kernels.structured import dense_structure
from theory.nets.models import make_model


class DenseChain(nn.Module):
    """flax Dense layers (each with or without bias) and tanh between them."""

    widths: tuple
    biases: tuple

    @nn.compact
    def __call__(self, x):
        for index, (width, bias) in enumerate(zip(self.widths, self.biases)):
            if index:
                x = jnp.tanh(x)
            x = nn.Dense(width, use_bias=bias, param_dtype=jnp.float64)(x)
        return x


class SharedDense(nn.Module):
    """One Dense layer applied twice: the per-layer formula does not hold."""

    @nn.compact
    def __call__(self, x):
        layer = nn.Dense(x.shape[-1], param_dtype=jnp.float64)
        return layer(jnp.tanh(layer(x)))


class WithBatchNorm(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = nn.Dense(4, param_dtype=jnp.float64)(x)
        x = nn.BatchNorm(use_running_average=True, param_dtype=jnp.float64)(x)
        return nn.Dense(2, param_dtype=jnp.float64)(nn.relu(x))


class DenseOnSequence(nn.Module):
    """A Dense layer applied at every position of a sequence (several positions per point)."""

    @nn.compact
    def __call__(self, x):
        x = nn.Dense(3, param_dtype=jnp.float64)(x.reshape(x.shape[0], -1, 2))
        return nn.Dense(2, param_dtype=jnp.float64)(x.reshape(x.shape[0], -1))


def relative_error(actual, expected):
    return np.max(np.abs(actual - expected)) / max(np.max(np.abs(expected)), 1e-300)


def both(apply_fn, params, x1, x2=None, **options):
    structured = empirical_ntk(apply_fn, params, x1, x2, method="structured", **options)
    jacobian = empirical_ntk(apply_fn, params, x1, x2, method="jacobian", **options)
    return structured, jacobian


@settings(max_examples=12)
@given(
    widths=st.lists(st.integers(1, 9), min_size=0, max_size=3),
    outputs=st.integers(1, 4),
    ntk_parameterisation=st.booleans(),
    bias_flags=st.lists(st.booleans(), min_size=4, max_size=4),
    bias_std=st.sampled_from([0.0, 0.3]),
    n1=st.integers(1, 6),
    n2=st.one_of(st.none(), st.integers(1, 5)),
    batch_size=st.integers(1, 4),
    trace=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_structured_equals_jacobian_contraction(widths, outputs, ntk_parameterisation, bias_flags, bias_std, n1,
                                                n2, batch_size, trace, seed):
    rng = np.random.default_rng(seed)
    dim = 3
    with jax.enable_x64(True):
        if ntk_parameterisation:
            if not widths:
                widths = [2]
            model = ntk_mlp(len(widths), max(widths), weight_std=1.4, bias_std=bias_std, output_dim=outputs,
                            param_dtype=jnp.float64)
        else:
            model = DenseChain(tuple(widths) + (outputs,), tuple(bias_flags[: len(widths) + 1]))
        params = model.init(jax.random.key(seed), jnp.zeros((1, dim), jnp.float64))
        x1 = rng.normal(size=(n1, dim))
        x2 = None if n2 is None else rng.normal(size=(n2, dim))
        structured, jacobian = both(model.apply, params, x1, x2, trace_outputs=trace, batch_size=batch_size)
    tail = () if trace else (outputs, outputs)
    assert structured.shape == jacobian.shape == (n1, n1 if n2 is None else n2) + tail
    assert relative_error(structured, jacobian) <= 1e-10


def test_structured_scalar_outputs_and_auto_without_warning(rng):
    with jax.enable_x64(True):
        model = ntk_mlp(2, 8, weight_std=1.2, bias_std=0.1, output_dim=1, param_dtype=jnp.float64)
        params = model.init(jax.random.key(0), jnp.zeros((1, 3)))

        def scalar(p, x):
            return model.apply(p, x)[:, 0]

        x = rng.normal(size=(5, 3))
        structured, jacobian = both(scalar, params, x, trace_outputs=False)
        assert structured.shape == (5, 5, 1, 1)
        assert relative_error(structured, jacobian) <= 1e-10
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # "auto" takes the structured path silently
            auto = empirical_ntk(model.apply, params, x)
    np.testing.assert_allclose(auto, jacobian[:, :, 0, 0], rtol=1e-10)


def test_flax_mlp_of_the_toolkit_float32(rng):
    """models.make_model's MLP (flax Dense, float32): structured = Jacobian to float32 rounding."""
    model = make_model("mlp", (6,), 3, width=16, depth=2)
    params = model.init(jax.random.key(0), jnp.zeros((1, 6)))
    x = rng.normal(size=(9, 6))
    structured, jacobian = both(model.apply, params, x, batch_size=4)
    assert relative_error(structured, jacobian) <= 1e-5


@pytest.mark.parametrize("name, shape", [("cnn1d", (12, 1)), ("cnn2d", (4, 4, 1))])
def test_convolutions_fall_back_with_the_reason(rng, name, shape):
    model = make_model(name, shape, 3, width=4, depth=2)
    params = model.init(jax.random.key(0), jnp.zeros((1, *shape)))

    def apply(p, x):
        return model.apply(p, x.reshape((x.shape[0], *shape)))

    x = rng.normal(size=(4, int(np.prod(shape))))
    with pytest.warns(UserWarning, match="Conv.*patch structure"):
        auto = empirical_ntk(apply, params, x)
    np.testing.assert_allclose(auto, empirical_ntk(apply, params, x, method="jacobian"), rtol=1e-6)
    with pytest.raises(ValueError, match="method='structured'.*Conv"):
        empirical_ntk(apply, params, x, method="structured")


@pytest.mark.parametrize("module, match", [
    (SharedDense(), "applied more than once"),
    (WithBatchNorm(), "BatchNorm"),
    (DenseOnSequence(), "several positions per point"),
])
def test_unsupported_layers_are_refused(rng, module, match):
    with jax.enable_x64(True):
        x = rng.normal(size=(3, 4))
        variables = module.init(jax.random.key(0), jnp.zeros((1, 4)))
        with pytest.raises(ValueError, match=match):
            empirical_ntk(module.apply, variables, x, method="structured")
        with pytest.warns(UserWarning, match=match):
            auto = empirical_ntk(module.apply, variables, x)
        np.testing.assert_allclose(auto, empirical_ntk(module.apply, variables, x, method="jacobian"), rtol=1e-12)


def test_plain_function_and_parameters_outside_layers_are_refused(rng):
    with jax.enable_x64(True):
        x = rng.normal(size=(4, 3))
        with pytest.raises(ValueError, match="no flax Dense"):
            empirical_ntk(lambda w, v: v @ w, jnp.ones((3, 2)), x, method="structured")
        model = ntk_mlp(1, 5, bias_std=0.5, output_dim=2, param_dtype=jnp.float64)
        params = model.init(jax.random.key(0), jnp.zeros((1, 3)))

        def reuse(p, v):  # a layer's bias also enters outside its layer: only the spot check can see it
            return model.apply(p, v) + jnp.sum(p["params"]["NTKDense_0"]["bias"])

        assert dense_structure(reuse, params, jax.ShapeDtypeStruct((4, 3), jnp.float64))[1] is None
        with pytest.raises(ValueError, match="spot check"):
            empirical_ntk(reuse, params, x, method="structured")

        def extra(p, v):  # a parameter no layer holds
            return model.apply(p["net"], v) * p["scale"]

        both_params = {"net": params, "scale": jnp.float64(2.0)}
        with pytest.raises(ValueError, match="outside a dense layer"):
            empirical_ntk(extra, both_params, x, method="structured")


def test_bad_method(rng):
    with pytest.raises(ValueError, match="method must be one of"):
        empirical_ntk(lambda w, v: v @ w, jnp.ones((3, 2)), rng.normal(size=(2, 3)), method="fast")


@pytest.mark.parametrize("trace", [False, True])
def test_ntk_vector_product_equals_the_kernel(rng, trace):
    with jax.enable_x64(True):
        model = ntk_mlp(2, 6, weight_std=1.3, bias_std=0.2, output_dim=3, param_dtype=jnp.float64)
        params = model.init(jax.random.key(1), jnp.zeros((1, 4)))
        x = rng.normal(size=(7, 4))
        operator = ntk_vector_product(model.apply, params, x, trace_outputs=trace, batch_size=3)
        kernel = empirical_ntk(model.apply, params, x, trace_outputs=trace, method="jacobian")
        if not trace:  # (n, n, C, C) -> (n·C, n·C), index i·C + c
            kernel = kernel.transpose(0, 2, 1, 3).reshape(21, 21)
        assert operator.shape == kernel.shape
        vectors = rng.normal(size=(kernel.shape[0], 3))
        assert relative_error(operator.matmat(vectors), kernel @ vectors) <= 1e-12
        assert relative_error(operator.matvec(vectors[:, 0]), kernel @ vectors[:, 0]) <= 1e-12
