"""Augmentation as configuration (theory.nets.augment): shapes, determinism, identity when off, shift and noise
statistics, hash compatibility, clear errors, label smoothing, and teacher targets on the augmented views."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from theory import nets
from theory.nets import steps as step_functions, training
from theory.nets.augment import LEGACY_IMAGE_RECIPE, Augmentation
from theory.nets.augment import augment_batch as _eager

augment_batch = jax.jit(_eager, static_argnums=2)  # one compilation per recipe instead of one per primitive

TINY = dict(dataset="digits", model="mlp", width=16, epochs=2, learning_rate=0.1, batch_size=64, n_train=256)


def _signals(b=64, length=40, channels=1, seed=0):
    return jnp.asarray(np.random.default_rng(seed).normal(size=(b, length, channels)).astype(np.float32))


def test_identity_when_off_and_shapes_dtypes_kept():
    x = _signals()
    assert _eager(jax.random.key(0), x, Augmentation()) is x
    images = jnp.ones((5, 8, 8, 3), jnp.float32)
    for spec, data in ((Augmentation(crop_padding=2, flip=True, noise_std=0.1), images),
                       (Augmentation(shift=3, noise_std=0.5), x), (Augmentation(shift=3, shift_mode="zeros"), x)):
        y = augment_batch(jax.random.key(1), data, spec)
        assert y.shape == data.shape and y.dtype == data.dtype


def test_deterministic_in_the_key_and_different_across_keys():
    x = _signals()
    spec = Augmentation(shift=4, noise_std=0.1)
    a, b = (augment_batch(jax.random.key(3), x, spec) for _ in range(2))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, augment_batch(jax.random.key(4), x, spec))


def test_legacy_image_recipe_is_bit_identical_to_the_former_implementation():
    def former(key, x):  # training._augment before augmentation became configuration
        b, h, w, c = x.shape
        key_y, key_x, key_flip = jax.random.split(key, 3)
        padded = jnp.pad(x, ((0, 0), (4, 4), (4, 4), (0, 0)))
        rows = jax.random.randint(key_y, (b,), 0, 9)
        cols = jax.random.randint(key_x, (b,), 0, 9)
        crops = jax.vmap(lambda image, i, j: jax.lax.dynamic_slice(image, (i, j, 0), (h, w, c)))(padded, rows, cols)
        flip = jax.random.bernoulli(key_flip, 0.5, (b,))
        return jnp.where(flip[:, None, None, None], crops[:, :, ::-1, :], crops)

    x = jnp.asarray(np.random.default_rng(0).normal(size=(16, 32, 32, 3)).astype(np.float32))
    for seed in range(3):
        key = jax.random.key(seed)
        np.testing.assert_array_equal(augment_batch(key, x, LEGACY_IMAGE_RECIPE), former(key, x))
    assert nets.TrainConfig(dataset="digits", augment=True).augmentation() == LEGACY_IMAGE_RECIPE


def test_circular_shift_is_a_rotation_with_uniform_offsets():
    length = 40
    x = jnp.tile(jnp.arange(length, dtype=jnp.float32)[None, :, None], (4000, 1, 1))
    y = np.asarray(augment_batch(jax.random.key(0), x, Augmentation(shift=3)))[..., 0]
    shifts = (np.arange(length)[None, :] - y[:, :1] * 0 - y).astype(int) % length  # x'[t] = x[t - s] -> t - x'[t]
    assert (shifts == shifts[:, :1]).all()  # one shift per signal, a rotation
    s = (shifts[:, 0] + length // 2) % length - length // 2
    counts = np.bincount(s + 3, minlength=7)
    assert set(np.unique(s)) == set(range(-3, 4))
    expected = len(s) / 7  # chi-square test of uniformity on {-3..3}, 6 degrees of freedom, 0.1 % level
    assert np.sum((counts - expected) ** 2 / expected) < 22.46


def test_zero_filled_shift_moves_and_fills_with_zeros():
    x = jnp.ones((2000, 10, 1), jnp.float32)
    y = np.asarray(augment_batch(jax.random.key(1), x, Augmentation(shift=2, shift_mode="zeros")))[..., 0]
    zeros = (y == 0).sum(axis=1)
    left = (y[:, 0] == 0)
    assert set(np.unique(zeros)) == {0, 1, 2}  # |s| zeros, at the start for s > 0 and the end for s < 0
    assert ((y[left] == 0).argmin(axis=1) == zeros[left]).all()
    assert abs(np.mean(zeros == 0) - 1 / 5) < 0.04


def test_noise_has_the_requested_mean_and_standard_deviation():
    x = jnp.zeros((500, 40, 1), jnp.float32)
    noise = np.asarray(augment_batch(jax.random.key(2), x, Augmentation(noise_std=0.3)))
    assert abs(noise.mean()) < 4 * 0.3 / np.sqrt(noise.size)
    assert abs(noise.std() / 0.3 - 1) < 0.01


def test_config_hashes_of_unaugmented_and_legacy_runs_are_unchanged():
    # computed before the augmentation fields and label smoothing existed
    assert nets.TrainConfig(dataset="digits", model="cnn2d", augment=True, epochs=3).hash() == "d1b626900dc6e8a7"
    assert nets.TrainConfig(dataset="digits", model="cnn2d", augment=True, epochs=3).student(
        seed=1, temperature=4.0).hash() == "8cac2099f536caaa"
    assert nets.TrainConfig(dataset="mnist1d", model="resnet20", weight_decay=5e-4, warmup_epochs=1,
                            epochs=5).hash() == "907df862a48aa56a"
    same = nets.TrainConfig(dataset="digits", model="cnn2d", crop_padding=4, flip=True, epochs=3)
    assert same.augment and same.hash() == "d1b626900dc6e8a7"  # one recipe, one hash
    base = nets.TrainConfig(dataset="mnist1d")
    changed = [dict(shift=2), dict(shift=2, shift_mode="zeros"), dict(noise_std=0.1), dict(label_smoothing=0.1)]
    hashes = {nets.TrainConfig(dataset="mnist1d", **c).hash() for c in changed}
    assert len(hashes) == len(changed) and base.hash() not in hashes
    config = nets.TrainConfig(dataset="mnist1d", shift=2, noise_std=0.1, label_smoothing=0.1)
    assert nets.TrainConfig.from_dict(config.to_dict()) == config
    assert "aug=shift2c+noise0.1 ls=0.1" in config.describe()
    assert config.student(seed=1).label_smoothing == 0.0  # a student does not inherit the teacher's smoothing


def test_augmentation_that_does_not_fit_the_data_is_refused_clearly():
    with pytest.raises(ValueError, match="needs image inputs.*use shift/noise_std"):
        nets.train(nets.TrainConfig(dataset="mnist1d", flip=True, epochs=1), "/tmp/unused", progress=False)
    with pytest.raises(ValueError, match="shift needs 1-D signal inputs"):
        nets.train(nets.TrainConfig(dataset="digits", shift=2, epochs=1), "/tmp/unused", progress=False)
    with pytest.raises(ValueError, match="shift must be < the signal length 40"):
        nets.train(nets.TrainConfig(dataset="mnist1d", shift=40, epochs=1), "/tmp/unused", progress=False)
    with pytest.raises(ValueError, match="shift_mode"):
        nets.TrainConfig(shift=2, shift_mode="reflect")
    with pytest.raises(ValueError, match="noise_std"):
        nets.TrainConfig(noise_std=-0.1)
    with pytest.raises(ValueError, match="label_smoothing"):
        nets.TrainConfig(label_smoothing=1.0)
    with pytest.raises(ValueError, match="augment=True already means"):
        nets.TrainConfig(dataset="digits", augment=True, flip=True)


def test_teacher_targets_are_the_teacher_on_the_augmented_views():
    """The distillation targets inside the compiled step equal the teacher applied to the views the student sees:
    one step of a student trained on-the-fly equals one step with the teacher's logits on those views supplied."""
    teacher = nets.TrainConfig(dataset="mnist1d", model="mlp", width=16, epochs=1, n_train=256, batch_size=64,
                               shift=3, noise_std=0.2)
    student = teacher.student(seed=1, temperature=2.0)
    data = training.data_for(student)
    model = training.model_for(student, data)
    teacher_variables = training.initial_variables(teacher, data)  # any teacher weights will do
    steps = 4
    spec = student.augmentation()
    structure = step_functions.step_structure(student, model, data.n_train, 64, steps, model)
    order_fn, step_fn, _ = step_functions.compiled_step(structure, student)
    root = jax.random.key(student.seed)
    order = order_fn(jax.random.fold_in(root, 1), jnp.int32(0))
    step_key = jax.random.fold_in(root, 2)
    x_all = jnp.asarray(data.x_train)
    views = augment_batch(jax.random.fold_in(step_key, 0), x_all[order[0]], spec)
    assert not np.array_equal(views, x_all[order[0]])
    index, epoch_views = training.training_views(student, epoch=0)  # the public view of the same inputs
    np.testing.assert_array_equal(index[:64], order[0])
    np.testing.assert_array_equal(epoch_views[:64], views)
    targets = model.apply(teacher_variables, views, train=False)

    # the same step with distillation targets given explicitly: plain loss on the views
    from theory.nets.losses import mixed_loss
    state = training._template(student, data, steps)
    y_all = jnp.asarray(data.one_hot_train(), jnp.float32)
    new_state, loss = step_fn(state, x_all, y_all, None, teacher_variables, order, np.int32(0), step_key,
                              jnp.int32(0), jnp.float32(1.0), jnp.float32(2.0))
    params = training._template(student, data, steps)["params"]
    expected = mixed_loss(model.apply({"params": params}, views), y_all[order[0]], targets, 1.0, temperature=2.0)
    np.testing.assert_allclose(float(loss), float(expected), rtol=1e-6)


def test_label_smoothing_changes_the_targets_only(tmp_path):
    plain = nets.train(nets.TrainConfig(**TINY), tmp_path, progress=False)
    smooth = nets.train(nets.TrainConfig(**TINY, label_smoothing=0.2), tmp_path, progress=False)
    p_plain = np.asarray(jax.nn.softmax(plain.logits_at(None, "train")))
    p_smooth = np.asarray(jax.nn.softmax(smooth.logits_at(None, "train")))
    assert smooth.hash != plain.hash
    assert p_smooth.max(axis=1).mean() < p_plain.max(axis=1).mean()  # less confident, same data and seed


@pytest.mark.slow
def test_augmented_mnist1d_student_trains_and_resumes_identically(tmp_path):
    teacher = nets.TrainConfig(dataset="mnist1d", model="cnn1d", width=8, epochs=2, n_train=256, batch_size=64,
                               shift=4, shift_mode="zeros", noise_std=0.1)
    student = teacher.student(seed=1, temperature=4.0, temperature_squared=True)
    whole = nets.train(student, tmp_path / "a", progress=False)
    nets.train(student, tmp_path / "b", progress=False, stop_after=1)
    resumed = nets.train(student, tmp_path / "b", progress=False)
    np.testing.assert_array_equal(whole.logits()["test"], resumed.logits()["test"])
    assert np.isfinite(whole.metrics()[-1]["train_loss"])


@pytest.mark.parametrize("distil", [pytest.param(False, marks=pytest.mark.slow), True])
def test_the_scanned_epoch_of_the_mlp_equals_the_per_step_loop_bit_for_bit(distil):
    """The MLP's epoch runs as one lax.scan (theory.nets.steps.SCANNED_MODELS); it must give the per-step loop's weights."""
    config = nets.TrainConfig(dataset="digits", model="mlp", width=32, epochs=2, batch_size=64, weight_decay=5e-4,
                              noise_std=0.1)
    if distil:
        config = config.student(seed=1, temperature=4.0, temperature_squared=True, noise_std=0.0)
    data = training.data_for(config)
    model = training.model_for(config, data)
    steps = data.n_train // 64
    order_fn, step_fn, scan_fn = step_functions.compiled_step(step_functions.step_structure(config, model, data.n_train, 64, steps, None),
                                                    config)
    root = jax.random.key(config.seed)
    order, step_key = order_fn(jax.random.fold_in(root, 1), jnp.int32(1)), jax.random.fold_in(root, 2)
    x, y = jnp.asarray(data.x_train), jnp.asarray(data.one_hot_train(), jnp.float32)
    teacher = jnp.asarray(np.random.default_rng(0).normal(size=(data.n_train, 10)).astype(np.float32)) if distil \
        else None
    args = (step_key, jnp.int32(steps), jnp.float32(config.kd_weight(1)), jnp.float32(config.temperature))
    scanned, scan_loss = scan_fn(training._template(config, data, steps), x, y, teacher, None, order, *args)
    state, losses = training._template(config, data, steps), []
    for i in range(steps):
        state, loss = step_fn(state, x, y, teacher, None, order, np.int32(i), *args)
        losses.append(loss)
    for a, b in zip(jax.tree_util.tree_leaves(scanned), jax.tree_util.tree_leaves(state)):
        np.testing.assert_array_equal(a, b)
    assert float(scan_loss) == float(jnp.mean(jnp.stack(losses)))


def test_teacher_saturation_is_measured_on_the_students_augmented_views(tmp_path):
    """With augmentation the train-split regime variables are the teacher on the views the student trained on in
    its last epoch (not on the stored, un-augmented points); without it, on the stored points."""
    from theory.metrics.regime import saturation
    from theory.nets import analysis
    teacher_config = nets.TrainConfig(dataset="mnist1d", model="mlp", width=16, epochs=2, n_train=256,
                                      batch_size=64, shift=6, noise_std=0.5)
    teacher = nets.train(teacher_config, tmp_path, progress=False)
    student = nets.train(teacher_config.student(seed=1, temperature=1.0), tmp_path, progress=False)
    measured = analysis.regime(teacher, student, "train")
    views = analysis.teacher_on_views(teacher, student)
    assert views.shape == (256, 10)
    # the teacher's logits on the last epoch's views, recomputed by hand from the public pieces
    _, inputs = training.training_views(student.config, epoch=1)
    model = training.model_for(teacher.config, training.data_for(teacher.config))
    direct = np.asarray(model.apply(training.final_variables(teacher), jnp.asarray(inputs), train=False))
    np.testing.assert_allclose(views, direct, rtol=1e-5, atol=1e-5)
    share, entropy = saturation(views, 1.0)
    assert measured["train_saturation"] == share and measured["train_teacher_entropy"] == entropy
    points = saturation(teacher.logits_at(None, "train"), 1.0)
    assert (measured["train_saturation_points"], measured["train_teacher_entropy_points"]) == points
    assert entropy != points[1]  # the views are not the stored points

    plain = nets.TrainConfig(dataset="mnist1d", model="mlp", width=16, epochs=2, n_train=256, batch_size=64)
    plain_teacher = nets.train(plain, tmp_path, progress=False)
    plain_student = nets.train(plain.student(seed=1, temperature=1.0), tmp_path, progress=False)
    unaugmented = analysis.regime(plain_teacher, plain_student, "train")
    assert unaugmented["train_saturation"] == unaugmented["train_saturation_points"]
    assert unaugmented["train_teacher_entropy"] == unaugmented["train_teacher_entropy_points"]
