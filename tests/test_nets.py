"""theory.nets: losses, schedules, configs, data readers, the run store (resume), tracking, and a network that learns."""
import dataclasses
import json
import pickle

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import theory as th
from theory import nets
from theory.nets import analysis, losses, tracking

TINY = dict(dataset="digits", model="mlp", width=32, depth=1, epochs=4, learning_rate=0.1, batch_size=64)


# ------------------------------------------------------------------------------------------------ losses
@settings(deadline=None, max_examples=25)
@given(seed=st.integers(0, 2**31 - 1), temperature=st.floats(0.25, 8.0), squared=st.booleans())
def test_distillation_gradient_is_the_kl_gradient_at_the_stated_temperature(seed, temperature, squared):
    rng = np.random.default_rng(seed)
    with jax.enable_x64(True):
        logits = jnp.asarray(rng.normal(size=(5, 4)) * 3)
        teacher = jnp.asarray(rng.normal(size=(5, 4)) * 3)
        scale = temperature**2 if squared else 1.0
        grad_kd = jax.grad(lambda z: losses.distillation(z, teacher, temperature, squared).sum())(logits)
        grad_kl = jax.grad(lambda z: losses.kl_divergence(teacher, z, temperature).sum())(logits)
        closed = scale * (jax.nn.softmax(logits / temperature) - jax.nn.softmax(teacher / temperature)) / temperature
        np.testing.assert_allclose(grad_kd, scale * grad_kl, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(grad_kd, closed, rtol=1e-10, atol=1e-12)
        # the teacher is a constant target: no gradient flows into it
        assert np.all(jax.grad(lambda t: losses.distillation(logits, t, temperature).sum())(teacher) == 0)


def test_mixed_loss_endpoints_and_squared_loss():
    rng = np.random.default_rng(0)
    z, zt = jnp.asarray(rng.normal(size=(6, 3))), jnp.asarray(rng.normal(size=(6, 3)))
    y = jnp.eye(3)[np.array([0, 1, 2, 0, 1, 2])]
    ce = losses.cross_entropy(z, y).mean()
    np.testing.assert_allclose(losses.mixed_loss(z, y, None, 0.7), ce, rtol=1e-6)
    np.testing.assert_allclose(losses.mixed_loss(z, y, zt, 0.0), ce, rtol=1e-6)
    np.testing.assert_allclose(losses.mixed_loss(z, y, zt, 1.0, temperature=2.0),
                               losses.distillation(z, zt, 2.0).mean(), rtol=1e-6)
    half = losses.mixed_loss(z, y, zt, 0.5, loss="mse")
    np.testing.assert_allclose(half, 0.5 * (0.5 * ((z - y) ** 2).sum(1) + 0.5 * ((z - zt) ** 2).sum(1)).mean(),
                               rtol=1e-6)
    # squared-loss gradient is z - target (the theory's kernel-GD residual)
    np.testing.assert_allclose(jax.grad(lambda a: losses.squared(a, y).sum())(z), z - y, rtol=1e-6)
    with pytest.raises(ValueError, match="loss"):
        losses.mixed_loss(z, y, zt, 0.5, loss="hinge")


# ------------------------------------------------------------------------------------------------ configs
def test_loss_switch_schedule_both_directions():
    teacher = nets.TrainConfig(**TINY)
    late = teacher.student(epochs=6, switch_epoch=2, teacher_weight=0.8)
    early = dataclasses.replace(late, switch_direction="kd_to_onehot")
    assert [late.kd_weight(e) for e in range(6)] == [0, 0, 0.8, 0.8, 0.8, 0.8]
    assert [early.kd_weight(e) for e in range(6)] == [0.8, 0.8, 0, 0, 0, 0]
    assert [teacher.student(epochs=6).kd_weight(e) for e in range(6)] == [1.0] * 6
    assert teacher.kd_weight(3) == 0.0


def test_config_hash_is_canonical_and_includes_the_teacher():
    a = nets.TrainConfig(**TINY)
    assert a.hash() == nets.TrainConfig(**{**TINY, "learning_rate": 0.1}).hash()
    assert a.hash() == dataclasses.replace(a, checkpoint_every=3).hash()  # not part of the result
    assert nets.TrainConfig(**{**TINY, "temperature": 1}).hash() == a.hash()  # 1 and 1.0 hash alike
    assert a.hash() != dataclasses.replace(a, seed=1).hash()
    student = a.student(seed=1)
    assert student.canonical()["teacher"] == {"hash": a.hash()}
    other_teacher = dataclasses.replace(a, epochs=5)
    assert student.hash() != dataclasses.replace(student, teacher=other_teacher).hash()
    assert nets.TrainConfig.from_dict(json.loads(json.dumps(student.to_dict()))) == student
    assert student.record_epochs == (0, 4)  # initialisation and the last epoch are always recorded


@pytest.mark.parametrize("changes, message", [
    (dict(dataset="imagenet"), "Unknown dataset 'imagenet'"),
    (dict(dataset="cifar10", data_dir="/no/such/dir"), "data_dir '/no/such/dir'"),
    (dict(dataset="cifar100"), "data_dir None"),
    (dict(temperature=0.0), "temperature must be a finite real number > 0"),
    (dict(temperature=-1.0), "temperature must be a finite real number > 0"),
    (dict(model="transformer"), "model must be one of"),
    (dict(label_noise=1.0), r"label_noise must be a finite real number in \[0, 1\)"),
    (dict(epochs=0), "epochs must be an integer >= 1"),
    (dict(learning_rate=0.0), "learning_rate must be a finite real number > 0"),
    (dict(record_epochs=(9,)), r"record_epochs entries must be an integer in \[0, 4\]"),
    (dict(switch_epoch=2), "switch_epoch needs a teacher"),
])
def test_bad_configs_raise_clear_errors(changes, message):
    with pytest.raises(ValueError, match=message):
        nets.TrainConfig(**{**TINY, **changes})


def test_bad_student_configs():
    teacher = nets.TrainConfig(**TINY)
    with pytest.raises(ValueError, match="switch_epoch must be < epochs = 4"):
        teacher.student(switch_epoch=4)
    with pytest.raises(ValueError, match="switch_epoch must be < epochs = 4"):
        teacher.student(switch_epoch=10)
    with pytest.raises(ValueError, match="switch_direction"):
        teacher.student(switch_epoch=2, switch_direction="sideways")
    with pytest.raises(ValueError, match=r"same data; they differ in \['label_noise'\]"):
        teacher.student(label_noise=0.2)
    with pytest.raises(ValueError, match="needs image inputs"):
        nets.train(nets.TrainConfig(**{**TINY, "dataset": "mnist1d", "augment": True}), "/tmp/unused", progress=False)
    with pytest.raises(ValueError, match="cnn2d"):
        nets.make_model("cnn2d", (40, 1), 10)


# ------------------------------------------------------------------------------------------------ optimisation
def test_schedules():
    config = nets.TrainConfig(**{**TINY, "epochs": 10, "warmup_epochs": 2})
    schedule = nets.make_schedule(config, steps_per_epoch=5)
    assert float(schedule(0)) == 0.0 and float(schedule(5)) == pytest.approx(0.05)
    assert float(schedule(10)) == pytest.approx(0.1)  # end of warm-up: the peak
    assert float(schedule(50)) == pytest.approx(0.0, abs=1e-8)  # cosine reaches 0 at the last step
    step = nets.make_schedule(dataclasses.replace(config, schedule="step", warmup_epochs=0, step_epochs=(4, 8),
                                                  step_factor=0.5), steps_per_epoch=5)
    assert [float(step(s)) for s in (0, 19, 20, 39, 40)] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])


# ------------------------------------------------------------------------------------------------ data
def test_label_noise_rate_and_seeding():
    clean = nets.load_data("mnist1d")
    noisy = nets.load_data("mnist1d", label_noise=0.3, noise_seed=7)
    n = clean.n_train
    rate = noisy.noisy_mask.mean()
    assert abs(rate - 0.3) < 4 * np.sqrt(0.3 * 0.7 / n)  # Binomial(n, 0.3) / n within 4 standard deviations
    np.testing.assert_array_equal(noisy.y_train_clean, clean.y_train)
    np.testing.assert_array_equal(noisy.y_train, th.data.symmetric_label_noise(clean.y_train, 0.3, 10, 7))
    np.testing.assert_array_equal(noisy.y_train, nets.load_data("mnist1d", label_noise=0.3, noise_seed=7).y_train)
    assert not np.array_equal(noisy.y_train, nets.load_data("mnist1d", label_noise=0.3, noise_seed=8).y_train)
    np.testing.assert_array_equal(noisy.x_train, clean.x_train)
    assert noisy.input_shape == (40, 1) and noisy.x_train.dtype == np.float32


def _write_cifar(directory, which, n_per_file=6, seed=0):
    """Small files in the python-pickle CIFAR format; returns the images (N, 32, 32, 3) and labels written."""
    rng = np.random.default_rng(seed)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"] if which == "cifar10" else ["train", "test"]
    key = b"labels" if which == "cifar10" else b"fine_labels"
    classes = 10 if which == "cifar10" else 100
    written = {}
    for name in names:
        images = rng.integers(0, 256, size=(n_per_file, 32, 32, 3), dtype=np.uint8)
        labels = rng.integers(0, classes, size=n_per_file).tolist()
        rows = images.transpose(0, 3, 1, 2).reshape(n_per_file, 3072)  # R plane, G plane, B plane
        with open(directory / name, "wb") as handle:
            pickle.dump({b"data": rows, key: labels, b"batch_label": b"x"}, handle)
        written[name] = (images, np.array(labels))
    return written


@pytest.mark.parametrize("which", ["cifar10", "cifar100"])
def test_cifar_reader_on_generated_files(tmp_path, which):
    written = _write_cifar(tmp_path, which)
    x_train, y_train, x_test, y_test, classes = nets.read_cifar(tmp_path, which)
    train_names = [k for k in written if k not in ("test_batch", "test")]
    test_name = "test_batch" if which == "cifar10" else "test"
    np.testing.assert_array_equal(x_train, np.concatenate([written[k][0] for k in train_names]))
    np.testing.assert_array_equal(y_train, np.concatenate([written[k][1] for k in train_names]))
    np.testing.assert_array_equal(x_test, written[test_name][0])
    np.testing.assert_array_equal(y_test, written[test_name][1])
    assert classes == (10 if which == "cifar10" else 100) and x_train.dtype == np.uint8
    data = nets.load_data(which, data_dir=str(tmp_path))
    assert data.input_shape == (32, 32, 3) and data.num_classes == classes
    np.testing.assert_allclose(data.x_train.reshape(-1, 3).mean(0), 0, atol=1e-5)  # per-channel standardised


@pytest.mark.parametrize("name, options", [("digits", dict(n_train=120, label_noise=0.2, noise_seed=3)),
                                           ("mnist1d", dict(n_train=200, seed=3)),
                                           ("gaussian-mixture", dict(n_train=50, seed=2)),
                                           ("cifar10", dict(n_train=20, n_test=6, seed=1, label_noise=0.3))])
def test_net_data_is_derived_from_the_dataset(tmp_path, name, options):
    """NetData is the registry's Dataset reshaped to its input shape in float32; labels are the dataset's own."""
    if name == "cifar10":
        _write_cifar(tmp_path, name)
        options = dict(options, data_dir=str(tmp_path))
    dataset = th.load_dataset(name, **options)
    view = nets.load_data(name, **options)
    assert view.dataset.input_shape == dataset.input_shape == view.input_shape
    assert view.input_shape == (th.data.REGISTRY[name].input_shape or (dataset.input_dim,))
    assert view.x_train.dtype == np.float32 and view.x_train.shape == (dataset.n_train, *dataset.input_shape)
    np.testing.assert_array_equal(view.x_train, dataset.x_train.reshape(view.x_train.shape).astype(np.float32))
    np.testing.assert_array_equal(view.x_test, dataset.x_test.reshape(view.x_test.shape).astype(np.float32))
    np.testing.assert_allclose(view.flat_train(), dataset.x_train, rtol=1e-6, atol=1e-6)
    for field in ("y_train", "y_test", "y_train_clean"):
        np.testing.assert_array_equal(getattr(view, field), getattr(dataset, field))
    assert (view.num_classes, view.noise_rate, view.name) == (dataset.num_classes, dataset.noise_rate, name)
    again = nets.NetData.from_dataset(dataset).with_label_noise(0.1, seed=4)
    np.testing.assert_array_equal(again.y_train, dataset.with_label_noise(0.1, seed=4).y_train)


def test_cifar_reader_errors(tmp_path):
    with pytest.raises(ValueError, match="not an existing directory"):
        nets.read_cifar(tmp_path / "missing")
    with pytest.raises(ValueError, match=r"lacks the cifar10 files"):
        nets.read_cifar(tmp_path, "cifar10")
    with pytest.raises(ValueError, match="which must be"):
        nets.read_cifar(tmp_path, "cifar1000")
    with pytest.raises(ValueError, match="pass data_dir"):
        nets.load_data("cifar10")
    with pytest.raises(ValueError, match="Unknown dataset 'svhn'"):
        nets.load_data("svhn")


class _RunsCode:
    def __reduce__(self):
        return (print, ("this pickle runs code on load",))


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_cifar_reader_refuses_pickles_that_run_code(tmp_path, protocol):
    written = _write_cifar(tmp_path, "cifar10")
    for name in written:  # the numpy arrays load at every protocol
        images, labels = written[name]
        with open(tmp_path / name, "wb") as handle:
            pickle.dump({b"data": images.transpose(0, 3, 1, 2).reshape(len(images), 3072), b"labels": labels.tolist()},
                        handle, protocol=protocol)
    assert nets.read_cifar(tmp_path, "cifar10")[0].shape == (30, 32, 32, 3)
    with open(tmp_path / "test_batch", "wb") as handle:
        pickle.dump({b"data": np.zeros((1, 3072), np.uint8), b"labels": [0], b"x": _RunsCode()}, handle,
                    protocol=protocol)
    with pytest.raises(ValueError, match=r"refusing to load the global (__builtin__|builtins)\.print"):
        nets.read_cifar(tmp_path, "cifar10")


def test_npz_reader(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "set.npz"
    np.savez(path, x_train=rng.normal(size=(30, 4, 2)), y_train=np.arange(30) % 3,
             x_test=rng.normal(size=(9, 4, 2)), y_test=np.arange(9) % 3)
    data = nets.load_data("npz", data_dir=str(path), n_train=12, label_noise=0.25, noise_seed=1)
    assert data.input_shape == (4, 2) and data.num_classes == 3 and data.n_train == 12
    assert np.bincount(data.y_train_clean).tolist() == [4, 4, 4]
    np.savez(tmp_path / "bad.npz", x_train=np.zeros((2, 1)))
    with pytest.raises(ValueError, match=r"lacks the arrays \['y_train', 'x_test', 'y_test'\]"):
        nets.load_data("npz", data_dir=str(tmp_path / "bad.npz"))


# ------------------------------------------------------------------------------------------------ models
@pytest.mark.parametrize("name, shape", [("mlp", (40, 1)), ("cnn1d", (40, 1)), ("cnn2d", (8, 8, 1))])
def test_model_output_shapes(name, shape):
    model = nets.make_model(name, shape, 10)
    x = jnp.ones((3, *shape))
    variables = model.init(jax.random.key(0), x)
    assert model.apply(variables, x, train=False).shape == (3, 10)


@pytest.mark.slow
def test_resnet_shapes_and_batchnorm():
    model = nets.make_model("resnet20", (32, 32, 3), 100)
    x = jnp.ones((2, 32, 32, 3))
    variables = model.init(jax.random.key(0), x)
    n_params = sum(p.size for p in jax.tree_util.tree_leaves(variables["params"]))
    assert 270_000 < n_params < 285_000  # He et al.: ResNet-20 has 0.27M parameters (CIFAR-100 head is larger)
    logits, updates = model.apply(variables, x, train=True, mutable=["batch_stats"])
    assert logits.shape == (2, 100) and "batch_stats" in updates


# ------------------------------------------------------------------------------------------------ training
@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return tmp_path_factory.mktemp("runs")


def test_small_network_learns_in_seconds(store):
    run = nets.train(nets.TrainConfig(**{**TINY, "epochs": 5}), store, progress=False)
    final = run.metrics()[-1]
    assert run.complete and final["test_accuracy"] > 0.85  # chance is 0.1
    assert run.logits()["train"].shape == (2, 1347, 10) and list(run.logits()["epochs"]) == [0, 5]
    assert run.summary()["final"]["test_accuracy"] == final["test_accuracy"]
    assert not list(run.path.glob(".*")), "no temporary files may be left behind"


#: what differs between a run resumed after a kill and an uninterrupted one: wall-clock times only.
WALL_CLOCK = {"metrics.jsonl": {"seconds"}, "summary.json": {"seconds_last_session", "seconds_total"}}


def test_resume_after_a_kill_equals_an_uninterrupted_run(tmp_path):
    """After a kill and a resume, the run's files equal an uninterrupted run's, except wall-clock fields:

    * ``config.json`` and ``checkpoint.msgpack`` (params, BatchNorm statistics, optimiser state): byte-identical;
    * ``logits.npz``: identical arrays (``epochs``, ``train``, ``test``; the zip's timestamps differ);
    * ``metrics.jsonl``: identical rows except ``seconds``; ``summary.json``: identical except
      ``seconds_last_session``, ``seconds_total`` and the final row's ``seconds``.
    """
    teacher = nets.TrainConfig(**TINY)
    student = teacher.student(seed=1, epochs=5, switch_epoch=2, record_epochs=(1, 3))
    whole = nets.train(student, tmp_path / "whole", progress=False)
    partial = nets.train(student, tmp_path / "killed", progress=False, stop_after=3)
    assert not partial.complete and len(partial.metrics()) == 3
    # a kill after metrics were written but before the checkpoint: extra rows must be dropped on resume
    rows = partial.metrics()
    partial.write_metrics(rows + [dict(rows[-1], epoch=4)])
    resumed = nets.train(student, tmp_path / "killed", progress=False)
    assert resumed.complete
    files = sorted(p.name for p in whole.path.iterdir())
    assert files == sorted(p.name for p in resumed.path.iterdir()) == [
        "checkpoint.msgpack", "config.json", "logits.npz", "metrics.jsonl", "summary.json"]
    for name in ("config.json", "checkpoint.msgpack"):
        assert (whole.path / name).read_bytes() == (resumed.path / name).read_bytes(), name
    for a, b in zip(jax.tree_util.tree_leaves(nets.final_variables(whole)),
                    jax.tree_util.tree_leaves(nets.final_variables(resumed))):
        np.testing.assert_array_equal(a, b)
    assert whole.logits().keys() == resumed.logits().keys() == {"epochs", "train", "test"}
    for key in ("epochs", "train", "test"):
        np.testing.assert_array_equal(whole.logits()[key], resumed.logits()[key])

    def strip(row, fields):
        return {k: v for k, v in row.items() if k not in fields}

    wall = WALL_CLOCK["metrics.jsonl"]
    assert [strip(r, wall) for r in whole.metrics()] == [strip(r, wall) for r in resumed.metrics()]
    assert all(set(r) - set(strip(r, wall)) == wall for r in whole.metrics())  # the only fields left out
    summaries = [run.summary() for run in (whole, resumed)]
    for summary in summaries:
        summary["final"] = strip(summary["final"], wall)
    assert strip(summaries[0], WALL_CLOCK["summary.json"]) == strip(summaries[1], WALL_CLOCK["summary.json"])
    assert [r["kd_weight"] for r in whole.metrics()] == [0, 0, 1, 1, 1]


def test_teacher_is_reused_and_students_record_its_hash(store):
    teacher = nets.TrainConfig(**TINY)
    first = nets.train(teacher, store, progress=False)
    stamp = (first.path / "summary.json").stat().st_mtime_ns
    student = nets.train(teacher.student(seed=1, temperature=2.0), store, progress=False)
    assert (first.path / "summary.json").stat().st_mtime_ns == stamp  # not retrained
    assert json.loads((student.path / "config.json").read_text())["teacher_hash"] == teacher.hash()
    assert nets.Run.open(store, student.hash).config == student.config
    summary = analysis.pair_summary(first, student)
    assert all(np.isfinite(v) for v in summary.values())
    assert summary["train_agreement"] > 0.8


def test_student_with_teacher_weight_zero_is_the_one_hot_control(store):
    teacher = nets.TrainConfig(**TINY)
    student = teacher.student(seed=1, teacher_weight=0.0)
    control = dataclasses.replace(student, teacher=None)
    a, b = (nets.final_variables(nets.train(c, store, progress=False)) for c in (student, control))
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)
    distilled = nets.final_variables(nets.train(teacher.student(seed=1), store, progress=False))
    assert not np.allclose(jax.tree_util.tree_leaves(distilled)[0], jax.tree_util.tree_leaves(b)[0], atol=1e-4)


def test_different_student_architecture(store):
    teacher = nets.TrainConfig(**{**TINY, "dataset": "mnist1d", "model": "cnn1d", "width": 8, "epochs": 2})
    student = nets.train(teacher.student(model="mlp", width=32, depth=1, seed=1), store, progress=False)
    assert student.complete and student.logits()["test"].shape[-1] == 10


# ------------------------------------------------------------------------------------------------ tracking
def test_eigen_tracking_of_a_run(store):
    config = nets.TrainConfig(**{**TINY, "record_epochs": (1, 2, 3)})
    run = nets.train(config, store, progress=False)
    data = nets.data_for(config)
    index = tracking.tracked_points(data, 200)
    groups = {"top": (0, 10), "bottom": (20, 100)}
    for spectrum in (tracking.input_spectrum(data, index, "rbf"), tracking.ntk_spectrum(config, index)):
        curves = tracking.progress_curves(run, spectrum, index, groups)
        assert list(curves["epochs"]) == [0, 1, 2, 3, 4]
        assert curves["top"][0] == 0 and curves["bottom"][0] == 0  # no progress at initialisation
        assert curves["top"][-1] > curves["bottom"][-1] > 0  # top directions are fit first
    deficit = tracking.matched_deficit([0, 0.5, 1], [0, 0.2, 0.6], [0.25, 0.75, 2.0], [0.0, 0.5, 0.0])
    np.testing.assert_allclose(deficit, [0.1, -0.1])


@pytest.mark.slow
def test_augmented_training_on_cifar_files_with_an_on_the_fly_teacher(tmp_path):
    _write_cifar(tmp_path, "cifar10", n_per_file=8)
    teacher = nets.TrainConfig(dataset="cifar10", data_dir=str(tmp_path), model="cnn2d", width=4, epochs=1,
                               batch_size=16, augment=True)
    run = nets.train(teacher.student(seed=1, temperature=2.0), tmp_path / "runs", progress=False)
    assert run.complete and run.logits()["train"].shape == (2, 40, 10)
    assert np.isfinite(run.metrics()[-1]["train_loss"])


@pytest.mark.slow
def test_resnet20_trains_on_cifar100_files(tmp_path):
    _write_cifar(tmp_path, "cifar100", n_per_file=20)
    config = nets.TrainConfig(dataset="cifar100", data_dir=str(tmp_path), model="resnet20", epochs=2,
                              batch_size=10, augment=True, weight_decay=5e-4, schedule="step", step_epochs=(1,))
    run = nets.train(config, tmp_path / "runs", progress=False)
    assert run.complete and nets.final_variables(run)["batch_stats"]  # running statistics are stored


def test_synthetic_sets_load():
    names = set(nets.dataset_names()) - {"digits", "mnist1d", *nets.data.FILE_DATASETS}
    assert names == {"gaussian-mixture", "logistic"}
    for name in sorted(names):
        data = nets.load_data(name, n_train=60, label_noise=0.1, noise_seed=1)
        assert data.n_train == 60 and data.x_train.dtype == np.float32 and data.num_classes >= 2
