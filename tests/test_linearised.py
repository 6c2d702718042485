"""The linearised prediction of trained pairs (theory.dynamics.replay, theory.nets.linearised; docs/linearised.md)."""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from theory.dynamics import kernel_ce_replay
from theory.kernels import empirical_ntk, ntk_mlp
from theory.nets import TrainConfig, linearised, make_optimizer, mixed_loss
from theory.nets.training import batch_order, data_for


@pytest.mark.parametrize("momentum, schedule", [(0.0, "constant"), (0.9, "cosine")])
def test_replay_on_the_full_ntk_is_the_explicitly_linearised_network(momentum, schedule):
    """(a) f_lin(θ) = f(θ₀) + J(θ − θ₀) (jax.linearize, float64) trained with the networks' optimiser (optax, via
    make_optimizer) on the networks' batch-mean distillation loss equals the kernel replay to float64 precision."""
    rng = np.random.default_rng(0)
    n, d, classes, size, steps = 12, 4, 3, 4, 24
    config = TrainConfig(dataset="digits", learning_rate=0.7, momentum=momentum, schedule=schedule, epochs=2)
    optimizer, schedule_fn = make_optimizer(config, steps // config.epochs)
    with jax.enable_x64(True):
        x = rng.normal(size=(n, d))
        labels = np.eye(classes)[rng.integers(0, classes, n)]
        teacher_logits = 2.0 * rng.normal(size=(n, classes))
        model = ntk_mlp(depth=1, width=16, weight_std=1.4, bias_std=0.1, output_dim=classes, param_dtype=jnp.float64)
        params = model.init(jax.random.key(0), jnp.asarray(x[:1]))
        f0, tangent = jax.linearize(lambda p: model.apply(p, x), params)
        batches = np.stack([rng.permutation(n)[:size] for _ in range(steps)])

        def loss(delta, batch):  # the networks' own loss on the linearised model
            logits = (f0 + tangent(delta))[batch]
            return mixed_loss(logits, labels[batch], teacher_logits[batch], 0.7, temperature=2.0,
                              temperature_squared=True)

        delta = jax.tree_util.tree_map(jnp.zeros_like, params)
        state = optimizer.init(delta)
        for batch in batches:
            updates, state = optimizer.update(jax.grad(loss)(delta, batch), state, delta)
            delta = optax.apply_updates(delta, updates)
        network = np.asarray(f0 + tangent(delta))
        kernel = empirical_ntk(model.apply, params, x, trace_outputs=False)
        rates = np.asarray(schedule_fn(jnp.arange(steps)), np.float64)  # the optimiser's rates, in float64
    replay = kernel_ce_replay(kernel, batches, learning_rate=rates / n, momentum=momentum, f_train_0=np.asarray(f0),
                              teacher_logits=teacher_logits, temperature=2.0, scale_by_temperature_squared=True,
                              onehot_targets=labels, onehot_weight=0.3).train[-1]
    moved = np.linalg.norm(network - np.asarray(f0))
    assert moved > 0.1  # the logits moved: the comparison is not of two initial states
    assert np.linalg.norm(replay - network) <= 1e-10 * moved


def test_replay_test_logits_follow_the_dual_coefficients():
    """Test outputs from the dual coefficients equal replaying with the test points appended (zero weight)."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(9, 3))
    labels = np.eye(2)[rng.integers(0, 2, 9)]
    kernel = (x @ x.T + 1.0)[:, :, None, None] * np.eye(2) + 0.1 * np.einsum("ia,ja->ij", x, x)[:, :, None, None]
    batches = np.array([[0, 1, 2], [3, 4, 5]] * 3)
    run = kernel_ce_replay(kernel[:6, :6], batches, labels[:6], learning_rate=0.05, momentum=0.5,
                           k_train_test=kernel[:6, 6:], checkpoints=[0, 3, 6])
    grown = np.vstack([labels[:6], np.full((3, 2), 0.5)])  # points 6..8 are never in a batch
    whole = kernel_ce_replay(kernel, batches, grown, learning_rate=0.05 * 6 / 9, momentum=0.5, checkpoints=[0, 3, 6])
    # the n/b scale: 6/3 in the first, 9/3 in the second, hence the learning rate 0.05 · 6/9
    np.testing.assert_allclose(run.test, whole.train[:, 6:], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(run.train, whole.train[:, :6], rtol=1e-12, atol=1e-12)
    assert run.steps.tolist() == [0, 3, 6]


def test_replay_refuses_bad_batches_and_kernels():
    kernel, labels = np.eye(4), np.eye(2)[[0, 1, 0, 1]]
    with pytest.raises(ValueError, match=r"batches must hold b >= 1 indices per step in \[0, n\)"):
        kernel_ce_replay(kernel, np.array([[0, 4]]), labels, learning_rate=0.1)
    with pytest.raises(ValueError, match="batches must be integer indices"):
        kernel_ce_replay(kernel, np.array([[0.0, 1.0]]), labels, learning_rate=0.1)
    with pytest.raises(ValueError, match="one value per step"):
        kernel_ce_replay(kernel, np.array([[0, 1]]), labels, learning_rate=[0.1, 0.2])
    with pytest.raises(ValueError, match="output blocks"):
        kernel_ce_replay(np.zeros((4, 4, 3, 3)), np.array([[0, 1]]), labels, learning_rate=0.1)
    with pytest.raises(ValueError, match="targets_temperature"):  # the loss's own checks still apply
        kernel_ce_replay(kernel, np.array([[0, 1]]), np.full((4, 2), 0.5), learning_rate=0.1, temperature=4.0)


def test_batch_order_is_the_training_order():
    """The replayed batches are the ones training draws: each epoch a permutation, the last batch dropped."""
    config = TrainConfig(dataset="digits", n_train=100, batch_size=32, epochs=3, seed=5)
    order = batch_order(config)
    assert order.shape == (9, 32)
    for epoch in range(3):
        block = order[3 * epoch:3 * epoch + 3].ravel()
        assert np.unique(block).size == 96 and block.max() < 100
    assert not np.array_equal(order[:3], batch_order(dataclasses.replace(config, seed=6))[:3])


def _pair(width, **changes):
    values = dict(dataset="digits", n_train=300, model="mlp_ntk", width=width, depth=1, learning_rate=0.5,
                  momentum=0.0, schedule="constant", epochs=8, batch_size=32, label_noise=0.2)
    values.update(changes)
    teacher = TrainConfig(**values)
    return teacher.student(temperature=4.0, temperature_squared=True, seed=1)


def test_prediction_of_an_ntk_network_improves_with_width(tmp_path):
    """(b, fast) The linearised prediction of an NTK-parameterised pair: its logit error falls with width (the
    lazy regime: measured 0.10 → 0.013 from width 32 to 512), and at width 512 it predicts the deviations point
    by point (r > 0.98, measured 0.9999). A wrong batch order or learning-rate convention fails both."""
    errors = {}
    for width in (32, 512):
        prediction = linearised.predict_pair(_pair(width, n_train=200, epochs=6), tmp_path)
        errors[width] = linearised.agreement(prediction)
    assert errors[512]["logit_error_student"] < 0.5 * errors[32]["logit_error_student"]
    assert errors[512]["logit_error_teacher"] < 0.5 * errors[32]["logit_error_teacher"]
    assert errors[512]["logit_error_student"] < 0.05
    assert errors[512]["correlation"] > 0.98 and errors[512]["top1_student"] > 0.95


@pytest.mark.slow
def test_prediction_of_a_very_wide_ntk_network_matches_the_trained_pair(tmp_path):
    """(b) Width 4096, learning rate 0.5: the logits' error relative to how far training moved them is the
    finite-width correction, O(width^-1/2) or smaller (measured about width^-0.7 in docs/linearised.md: 0.02 at
    width 1024 on this data), so 0.05 leaves room for the seed while failing a wrong batch order, kernel or
    learning-rate convention (those give errors of order 1)."""
    prediction = linearised.predict_pair(_pair(4096, n_train=500, epochs=10), tmp_path, test_points=100)
    for split in ("train", "test"):
        result = linearised.agreement(prediction, split)
        assert result["logit_error_teacher"] < 0.05 and result["logit_error_student"] < 0.05, (split, result)
        assert result["correlation"] > 0.98 and abs(result["deviation_slope"] - 1) < 0.05, (split, result)


def test_prediction_refuses_what_it_does_not_model(tmp_path):
    with pytest.raises(ValueError, match="does not model Nesterov momentum"):
        linearised.predict_pair(_pair(8, nesterov=True), tmp_path)
    with pytest.raises(ValueError, match="does not model loss 'mse'"):
        linearised.predict_pair(_pair(8, loss="mse"), tmp_path)
    with pytest.raises(ValueError, match="must have a teacher"):
        linearised.predict_pair(_pair(8).teacher, tmp_path)
    assert data_for(_pair(8)).n_train == 300


def _synthetic_prediction(scale_predicted, scale_actual, noise=0.3, n=400, seed=0):
    """A PairPrediction from made-up logits: students = scale × teacher logits + noise (no training)."""
    rng = np.random.default_rng(seed)
    teacher = rng.normal(scale=2.0, size=(n, 3))
    init = rng.normal(scale=0.1, size=(n, 3))
    train = dict(teacher_actual=teacher, teacher_predicted=teacher + rng.normal(scale=0.05, size=teacher.shape),
                 student_actual=scale_actual * teacher + rng.normal(scale=noise, size=teacher.shape),
                 teacher_init=init, student_init=init)
    train["student_predicted"] = (train["student_actual"] if scale_predicted is None else
                                  scale_predicted * train["teacher_predicted"]
                                  + rng.normal(scale=noise, size=teacher.shape))
    train["student_from_actual"] = train["student_predicted"]
    if scale_predicted is None:
        train["teacher_predicted"] = teacher
    return linearised.PairPrediction(None, "full", "student", True, {"train": train, "test": {}}, np.arange(0),
                                     np.zeros(n, dtype=bool))


def test_agreement_intervals_are_paired_bootstrap_intervals_over_the_points():
    """The intervals of agreement(replicates > 0) resample the points once for every statistic (paired): when
    the prediction *is* the trained pair, each slope's interval has a width but the difference's is exactly 0
    and r's exactly 1; two unpaired resamples would give a difference interval as wide as the slopes'."""
    same = linearised.agreement(_synthetic_prediction(None, 1.3), replicates=500, seed=1)
    assert "intervals" not in linearised.agreement(_synthetic_prediction(None, 1.3))
    intervals = same["intervals"]
    low, high = intervals["slope_measured"]
    assert low < same["slope_measured"] < high and high - low > 0.01
    assert intervals["slope_predicted"] == intervals["slope_measured"]
    assert intervals["slope_difference"] == [0.0, 0.0] and intervals["slope_abs_difference"] == [0.0, 0.0]
    assert np.allclose(intervals["correlation"], 1.0) and intervals["sign_agreement"] == [1.0, 1.0]
    assert linearised.agreement(_synthetic_prediction(None, 1.3), replicates=500, seed=1)["intervals"] == intervals


def test_agreement_sign_and_size_intervals():
    """sign_product = (slope_pred − 1)(slope_meas − 1): its interval lies above 0 when both slopes are clearly on
    one side of 1, below 0 when on opposite sides; slope_abs_difference is the image of the paired difference's
    interval under |·| (its low bound 0 when that interval contains 0)."""
    both = linearised.agreement(_synthetic_prediction(1.4, 1.3), replicates=500)["intervals"]
    assert both["sign_product"][0] > 0
    opposite = linearised.agreement(_synthetic_prediction(0.7, 1.3), replicates=500)["intervals"]
    assert opposite["sign_product"][1] < 0
    low, high = opposite["slope_difference"]
    assert high < 0 and opposite["slope_abs_difference"] == [abs(high), abs(low)]
    close = linearised.agreement(_synthetic_prediction(1.3, 1.3, noise=1.0), replicates=500)["intervals"]
    low, high = close["slope_difference"]
    assert low < 0 < high and close["slope_abs_difference"] == [0.0, max(-low, high)]
