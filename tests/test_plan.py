"""The paper grid and the dry-run plan (theory.nets.plan) on a small fake CIFAR directory written by the test."""
import pickle

import numpy as np
import pytest

from theory import nets
from theory.nets import training
from theory.nets.experiment import role_configs
from theory.nets.grids import GRIDS, PAPER, REGIMES, REGIMES_CLUSTER, with_data_dir
from theory.nets.outcome import configs_for
from theory.nets.plan import forward_flops, plan, plan_table


def _write_cifar(root, n_per_file=4, seed=0):
    """Both CIFARs in their standard sub-directories, python-pickle format (as theory/data/files.py reads)."""
    rng = np.random.default_rng(seed)
    for sub, names, key, classes in (("cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"],
                                      b"labels", 10),
                                     ("cifar-100-python", ["train", "test"], b"fine_labels", 100)):
        (root / sub).mkdir(parents=True)
        for name in names:
            n = n_per_file * (5 if sub.startswith("cifar-100") and name == "train" else 1)
            rows = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
            with open(root / sub / name, "wb") as handle:
                pickle.dump({b"data": rows, key: rng.integers(0, classes, size=n).tolist()}, handle)
    return root


def test_paper_grid_has_the_papers_settings_and_recipe():
    names = [s.name for s in PAPER]
    assert len(names) == len(set(names)) == 12
    assert {s.temperature for s in PAPER} == {1.0, 4.0}
    assert {(s.dataset, s.model, s.student_model, s.label_noise) for s in PAPER} == {
        ("cifar100", "resnet56", None, 0.0), ("cifar10", "resnet20", None, 0.0), ("cifar10", "resnet56", None, 0.0),
        ("cifar100", "resnet56", None, 0.2), ("cifar100", "resnet56", None, 0.4),
        ("cifar100", "resnet56", "resnet20", 0.0)}
    assert any("noise=20%" in n for n in names) and any("noise=40%" in n for n in names)
    for s in PAPER:
        assert (s.optimizer, s.momentum, s.learning_rate, s.weight_decay, s.augment) == ("sgd", 0.9, 0.1, 5e-4, True)
        assert s.warmup_epochs > 0 and s.teacher_epochs >= 200 and s.student_epochs >= 200 and s.data_dir is None
    assert GRIDS["paper"] is PAPER


def test_paper_configs_build_against_a_fake_cifar_directory(tmp_path):
    root = _write_cifar(tmp_path / "cifar")
    settings = with_data_dir(PAPER, root)
    assert all(s.data_dir == str(root) for s in settings)
    with pytest.raises(ValueError, match="must be an existing directory"):
        role_configs(PAPER[0], 0)  # without --data-dir: a clear error, nothing downloaded
    cross = next(s for s in settings if s.student_model == "resnet20")
    configs = role_configs(cross, 0)
    teacher, student = configs["teacher"], configs["student"]
    assert (teacher.model, student.model, student.teacher.hash()) == ("resnet56", "resnet20", teacher.hash())
    assert student.augment and student.warmup_epochs == 5 and student.weight_decay == 5e-4
    assert student.temperature_squared is (cross.temperature > 1)
    noisy = next(s for s in settings if s.label_noise == 0.4)
    assert configs_for(noisy, 0)["control"].label_noise == 0.4


def test_plan_rows_and_table_for_the_paper_grid(tmp_path):
    root = _write_cifar(tmp_path / "cifar")
    settings = with_data_dir(PAPER, root)
    rows = plan(settings, range(2))
    hashes = [r["hash"] for r in rows]
    assert len(hashes) == len(set(hashes))
    # per seed: teacher and control shared by τ = 1 and 4; student, late and early per τ; the cross-architecture
    # pair shares the ResNet-56 teacher of the CIFAR-100 self-distillation rows
    assert sum(r["shared"] for r in rows) == 12 * 2 * 5
    assert {r["role"] for r in rows} == {"teacher", "student", "control", "late", "early"}
    resnet56 = next(r for r in rows if r["model"] == "resnet56")
    resnet20 = next(r for r in rows if r["model"] == "resnet20")
    assert resnet56["params"] > 3 * resnet20["params"] and resnet56["forward_flops"] > 3 * resnet20["forward_flops"]
    first = rows[0]
    expected = (first["epochs"] * first["steps"] * first["batch"] * 3 * first["forward_flops"]
                + (first["epochs"] + 1) * (first["n_train"] + first["n_test"]) * first["forward_flops"])
    assert first["role"] == "teacher" and first["flops"] == pytest.approx(expected)
    student = next(r for r in rows if r["role"] == "student")
    assert student["flops"] > expected  # the teacher evaluated on the augmented views
    assert all(r["gpu_hours"] < r["cpu_hours"] for r in rows)
    table = plan_table(rows)
    assert table.count("\n| ") == len(rows) + 1  # the rows and the total and "**total**" in table and "FLOP/s" in table
    assert "resnet56→resnet20" in table and "noise=40%" in table


def test_forward_flops_are_twice_the_weights_of_an_mlp():
    flops, params = forward_flops(nets.TrainConfig(dataset="digits", model="mlp", width=32, depth=1))
    assert params == 64 * 32 + 32 + 32 * 10 + 10
    assert 2 * (64 * 32 + 32 * 10) <= flops <= 2 * params + 200


@pytest.mark.slow
def test_one_resnet20_training_step_on_fake_cifar_and_a_measured_plan(tmp_path):
    root = _write_cifar(tmp_path / "cifar", n_per_file=8)
    setting = next(s for s in with_data_dir(PAPER, root) if s.model == "resnet20")
    teacher = role_configs(setting, 0)["teacher"]
    assert training.step_seconds(teacher, steps=1) > 0
    rows = plan([setting], [0], measure_steps=1)
    assert "measured step" in rows[0]["estimate"]


def test_regime_grids_cover_the_axes():
    assert len(REGIMES) == 132 and len(REGIMES_CLUSTER) > len(REGIMES)
    assert {s.temperature for s in REGIMES} == {1.0, 2.0, 4.0}
    assert {s.dataset for s in REGIMES} == {"mnist1d", "digits"} and {s.model for s in REGIMES} == {"mlp", "cnn1d"}
    assert any(s.data_options for s in REGIMES)  # the harder, larger MNIST-1D
    assert any(s.shift for s in REGIMES) and any(s.crop_padding for s in REGIMES) and any(s.noise_std for s in REGIMES)
    assert any(s.teacher_label_smoothing for s in REGIMES) and any(s.student_weight_decay for s in REGIMES)
    assert {s.teacher_epochs for s in REGIMES} >= {15, 60, 200} and {s.student_epochs for s in REGIMES} >= {15, 200}
    base = next(s for s in REGIMES if s.name == "mnist1d mlp, teacher ls=0.1, τ=1")
    configs = role_configs(base, 0)
    assert configs["teacher"].label_smoothing == 0.1 and configs["student"].label_smoothing == 0.0


def test_the_paper_grid_is_planned_without_its_data_at_the_published_sizes(tmp_path, capsys):
    """`--grid paper --dry-run` without --data-dir: the same runs (sharing included) and FLOPs as with files of the
    published sizes would give, hashes marked as needing the data; --data-dir gives the real hashes."""
    from theory.nets import sweep

    rows = plan(PAPER, range(2))
    assert {r["hash"] for r in rows} == {"(needs --data-dir)"}
    assert sum(r["shared"] for r in rows) == 12 * 2 * 5
    assert {(r["dataset"], r["n_train"], r["n_test"]) for r in rows} == {("cifar10", 50_000, 10_000),
                                                                         ("cifar100", 50_000, 10_000)}
    root = _write_cifar(tmp_path / "cifar")
    with_files = plan(with_data_dir(PAPER, root), range(2))
    assert [(r["role"], r["setting"], r["seed"], r["shared"]) for r in rows] == \
           [(r["role"], r["setting"], r["seed"], r["shared"]) for r in with_files]
    assert sweep.main(["--grid", "paper", "--dry-run", "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert "| **total** | 47 runs |" in printed and "(needs --data-dir)" in printed
    assert not (tmp_path / "out").exists()  # nothing trained, nothing written
    assert sweep.main(["--grid", "paper", "--dry-run", "--data-dir", str(root), "--out", str(tmp_path / "o")]) == 0
    assert "(needs --data-dir)" not in capsys.readouterr().out
    with pytest.raises(SystemExit):
        sweep.main(["--grid", "paper", "--dry-run", "--data-dir", str(tmp_path / "missing"), "--out", "x"])
