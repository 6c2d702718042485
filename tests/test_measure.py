"""python -m theory.measure: your own teacher/student logits -> metrics, regime variables, claims with intervals."""
import json

import numpy as np
import pytest

from theory import measure
from theory.evidence import Claim
from theory.metrics import exaggeration, softmax


def _runs(tmp_path, *, n=600, m=400, classes=5, stretch=1.3, seed=0):
    """A teacher and a student that exaggerates it (student logits = stretch · teacher + noise), and a control."""
    rng = np.random.default_rng(seed)
    labels = {"train": rng.integers(0, classes, n), "test": rng.integers(0, classes, m)}
    paths = {}
    for role, scale, noise in (("teacher", 1.0, 0.0), ("student", stretch, 0.05), ("control", 0.8, 0.8)):
        arrays = {}
        for split, size in (("train", n), ("test", m)):
            base = np.random.default_rng(seed + (split == "test")).normal(size=(size, classes))
            base[np.arange(size), labels[split]] += 1.5
            arrays[f"{split}_logits"] = scale * base + noise * rng.normal(size=base.shape)
            arrays[f"{split}_labels"] = labels[split]
        if role == "student":
            arrays["temperature"] = np.float64(4.0)
        paths[role] = tmp_path / f"{role}.npz"
        np.savez(paths[role], **arrays)
    return paths


def test_measure_writes_claims_with_intervals(tmp_path):
    paths = _runs(tmp_path)
    out = tmp_path / "out"
    code = measure.main(["--teacher", str(paths["teacher"]), "--student", str(paths["student"]), "--control",
                         str(paths["control"]), "--out", str(out), "--replicates", "300"])
    assert code == 0
    result = json.loads((out / "measure.json").read_text())
    rows = {row["claim"]: row for row in result["claims"]}
    assert {"C1 train", "C1 test", "C1 vs ctl test", "C5", "KD gain"} <= set(rows)
    slope = rows["C1 test"]["evidence"][0]
    low, high = slope["interval"]
    assert low < slope["value"] < high and rows["C1 test"]["verdict"] == "reproduced"  # stretch 1.3
    for row in result["claims"]:  # rows read back as claims with the same verdict (the report's path)
        assert Claim.from_dict(row).verdict == row["verdict"]
    with np.load(paths["teacher"]) as t, np.load(paths["student"]) as s:
        expected = exaggeration(softmax(t["test_logits"]), softmax(s["test_logits"])).slope
    assert slope["value"] == pytest.approx(expected, rel=1e-12)
    regime = result["per_seed"][0]["test"]["regime"]
    assert abs(regime["slope"] - regime["correlation"] * regime["spread_ratio"]) < 1e-12
    assert "95% bootstrap CI over points" in rows["C1 test"]["setting"]
    assert "| C1 test" in (out / "measure.md").read_text()


def test_no_exaggeration_is_not_reproduced(tmp_path):
    paths = _runs(tmp_path, stretch=0.7)
    result = measure.measure([measure.load_run(paths["teacher"])], [measure.load_run(paths["student"])],
                             replicates=200)
    verdicts = {c.claim: c.verdict for c in measure.claims(result)}
    assert verdicts["C1 test"] == "not reproduced" and "KD gain" not in verdicts


def test_several_seeds_resample_the_seed_level(tmp_path):
    students = []
    for seed in range(5):
        (tmp_path / str(seed)).mkdir()
        students.append(_runs(tmp_path / str(seed), seed=seed))
    result = measure.measure([measure.load_run(p["teacher"]) for p in students],
                             [measure.load_run(p["student"]) for p in students], replicates=200)
    claim = next(c for c in measure.claims(result) if c.claim == "C1 test")
    assert "hierarchical" in claim.setting and "5 seeds" in claim.setting


def _error(capsys, argv):
    assert measure.main(argv) == 2
    message = capsys.readouterr().err.strip()
    assert "\n" not in message
    return message


def test_bad_files_give_one_line_errors(tmp_path, capsys):
    paths = _runs(tmp_path)
    teacher = str(paths["teacher"])
    assert "does not exist" in _error(capsys, ["--teacher", teacher, "--student", str(tmp_path / "none.npz")])
    np.savez(tmp_path / "pickled.npz", test_logits=np.array([{"a": 1}], dtype=object), test_labels=np.zeros(1))
    assert "pickled" in _error(capsys, ["--teacher", teacher, "--student", str(tmp_path / "pickled.npz")])
    np.savez(tmp_path / "typo.npz", test_logit=np.zeros((3, 2)))
    assert "unknown keys" in _error(capsys, ["--teacher", teacher, "--student", str(tmp_path / "typo.npz")])
    with np.load(paths["student"]) as s:
        arrays = dict(s)
    np.savez(tmp_path / "shape.npz", **dict(arrays, test_logits=arrays["test_logits"][:, :3]))
    assert "shape" in _error(capsys, ["--teacher", teacher, "--student", str(tmp_path / "shape.npz")])
    shuffled = arrays["test_labels"].copy()
    shuffled[0] = (shuffled[0] + 1) % 5
    np.savez(tmp_path / "labels.npz", **dict(arrays, test_labels=shuffled))
    assert "labels differ" in _error(capsys, ["--teacher", teacher, "--student", str(tmp_path / "labels.npz")])
    np.savez(tmp_path / "nan.npz", **dict(arrays, test_logits=np.full_like(arrays["test_logits"], np.nan)))
    assert "finite" in _error(capsys, ["--teacher", teacher, "--student", str(tmp_path / "nan.npz")])
    np.savez(tmp_path / "tau.npz", **dict(arrays, temperature=np.float64(-1.0)))
    assert "temperature" in _error(capsys, ["--teacher", teacher, "--student", str(tmp_path / "tau.npz")])
    np.savez(tmp_path / "range.npz", **dict(arrays, test_labels=arrays["test_labels"] + 10))
    assert "[0, 5)" in _error(capsys, ["--teacher", teacher, "--student", str(tmp_path / "range.npz")])


def test_target_logits_measure_saturation_on_the_augmented_views(tmp_path):
    paths = _runs(tmp_path)
    with np.load(paths["teacher"]) as t:
        arrays = dict(t)
    np.savez(tmp_path / "aug.npz", **arrays, target_logits=50.0 * arrays["train_logits"])
    result = measure.measure([measure.load_run(tmp_path / "aug.npz")], [measure.load_run(paths["student"])],
                             replicates=100)
    train = result["per_seed"][0]["train"]["regime"]
    assert train["saturation_on"] == "target_logits" and train["saturation"] > 0.5
    assert result["per_seed"][0]["test"]["regime"]["saturation_on"] == "test_logits"


def test_report_draws_the_panels_of_measured_runs(tmp_path):
    from figures import report

    paths = _runs(tmp_path)
    out = tmp_path / "out"
    assert measure.main(["--teacher", str(paths["teacher"]), "--student", str(paths["student"]), "--out", str(out),
                         "--replicates", "200", "--name", "synthetic"]) == 0
    md_path, _ = report.build(out, [], {}, {})
    text = md_path.read_text()
    assert "![measure](measure.png)" in text and (out / "measure.png").stat().st_size > 1000
    assert "`measure` C1 test: slope" in text
