"""Figures: quick modes run end to end, write finite numbers and files, and the command line behaves."""
import json
import os

import numpy as np
import pytest

import figures
import paper_figs
from figures.output import save_json, to_jsonable
from theory.evidence import VERDICTS, Claim

#: the keys of a stored claim row (theory.evidence.Claim.to_dict)
ROW_KEYS = {"claim", "setting", "statement", "measured", "criterion", "verdict", "evidence"}


def finite_numbers(value):
    """Every number in a nested JSON structure (None marks a NaN/inf that was written)."""
    if isinstance(value, dict):
        for v in value.values():
            yield from finite_numbers(v)
    elif isinstance(value, list):
        for v in value:
            yield from finite_numbers(v)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield value


@pytest.fixture(scope="module")
def eigen_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    assert paper_figs.main(["--fig", "eigen", "--quick", "--out", str(out)]) == 0
    return out, json.loads((out / "eigen.json").read_text())


def test_eigen_quick_writes_png_pdf_json(eigen_run):
    out, _ = eigen_run
    for suffix in ("png", "pdf", "json"):
        assert (out / f"eigen.{suffix}").stat().st_size > 1000
    assert not list(out.glob(".*")), "no temporary files may be left behind"


def test_eigen_numbers_are_finite_and_consistent(eigen_run):
    _, result = eigen_run
    data = result["data"]
    numbers = list(finite_numbers(data["b"])) + list(finite_numbers(data["c"]))
    assert numbers and all(np.isfinite(numbers))
    # the closed form must match the simulated float64 GD markers on real data
    assert data["b"]["closed_form_vs_simulation_max_abs"] < 1e-10
    for factors in data["a"]["rounds"]:
        assert np.all((np.asarray(factors) >= 0) & (np.asarray(factors) <= 1))
    verdicts = {c["claim"]: c["verdict"] for c in result["claims"]}
    assert set(verdicts.values()) <= set(VERDICTS)
    assert verdicts["closed form"] == "reproduced"
    for row in result["claims"]:
        assert set(row) == ROW_KEYS
        assert Claim.from_dict(row).verdict == row["verdict"]  # the stored verdict is the one the evidence gives


def test_eigen_is_reproducible_for_a_seed():
    from figures import eigen

    config = eigen.Config.quick(n_train=150, bottom=(15, 40), time_points=8, markers=2)
    first, second = eigen.compute(config), eigen.compute(config)
    np.testing.assert_array_equal(first["c"]["teacher_test_error"], second["c"]["teacher_test_error"])
    other = eigen.compute(eigen.Config.quick(n_train=150, bottom=(15, 40), time_points=8, markers=2, seed=1))
    assert not np.array_equal(first["a"]["eigenvalues"], other["a"]["eigenvalues"])


def test_list_and_errors(capsys):
    assert paper_figs.main(["--list"]) == 0
    assert "eigen" in capsys.readouterr().out
    assert paper_figs.main(["--fig", "nope"]) == 2
    assert "unknown figure" in capsys.readouterr().err
    assert paper_figs.main([]) == 2
    with pytest.raises(ValueError, match="unknown figure"):
        figures.load("nope")


def test_json_output_is_strict_and_atomic(tmp_path):
    data = {"a": np.arange(3), "b": np.float64(np.nan), "c": (np.int64(2), np.bool_(True))}
    assert to_jsonable(data) == {"a": [0, 1, 2], "b": None, "c": [2, True]}
    path = save_json(data, tmp_path / "x.json")
    assert json.loads(path.read_text())["a"] == [0, 1, 2]
    with pytest.raises(TypeError):
        save_json({"bad": object()}, tmp_path / "y.json")
    assert not (tmp_path / "y.json").exists() and not list(tmp_path.glob(".*"))


def test_ntk_figure_tiny_run_is_finite_and_close_to_its_linearisation():
    from figures import ntk

    config = ntk.Config.quick(n_train=60, width=128, bottom=(12, 30), max_steps=40, records=4)
    data = to_jsonable(ntk.compute(config))
    assert all(np.isfinite(list(finite_numbers(data["onehot"]))))
    assert all(np.isfinite(list(finite_numbers(data["student"]))))
    # a float32 network of width 128 stays within a few percent of its full-NTK linearisation over 40 steps
    assert max(data["linearisation_error"]["teacher"]) < 0.05
    claims = ntk.claims(data)
    assert all(isinstance(c, Claim) for c in claims)
    assert {c.verdict for c in claims} <= set(VERDICTS)


# ------------------------------------------------------------------------------------------------ scaffolding
def test_every_registered_figure_declares_name_kind_and_the_interface():
    kinds = figures.kinds()
    assert set(kinds) == set(figures.available()) and set(kinds.values()) <= set(figures.KIND_NAMES)
    for name in figures.available():
        module = figures.load(name)
        assert module.NAME == name and module.KIND == kinds[name] and module.DESCRIPTION
        for attribute in ("Config", "compute", "plot", "claims"):
            assert callable(getattr(module, attribute)), (name, attribute)
    assert not hasattr(figures, "KINDS")  # the registry and the modules are the one list


def test_no_figure_writes_a_verdict_by_hand():
    from pathlib import Path

    for path in sorted(Path(figures.__file__).parent.glob("*.py")):
        text = path.read_text()
        for pattern in ('"reproduced" if', "'reproduced' if", '"not reproduced" if', 'verdict="', "verdict='"):
            assert pattern not in text, f"{path.name} writes a verdict by hand ({pattern})"


def _args(**changes):
    import argparse

    values = dict(quick=True, seed=None, data=None, data_dir=None)
    values.update(changes)
    return argparse.Namespace(**values)


def test_overrides_go_to_the_config_or_its_setting():
    from figures import eigen, exaggeration

    config = paper_figs._config(eigen, _args(seed=3, data="mnist1d"))
    assert config.seed == 3 and config.dataset == "mnist1d"
    with pytest.raises(SystemExit, match="does not take --data-dir"):
        paper_figs._config(eigen, _args(data_dir="/tmp"))
    config = paper_figs._config(exaggeration, _args(seed=2, data="mnist1d", data_dir="/data"))
    assert config.seed == 2 and config.setting.dataset == "mnist1d" and config.setting.data_dir == "/data"
    quick = exaggeration.Config.quick()
    assert config.setting == type(quick.setting)(**{**quick.setting.__dict__, "dataset": "mnist1d",
                                                      "data_dir": "/data"})


# ------------------------------------------------------------------------------------------------ atomic outputs
def test_atomic_write_keeps_the_suffix_so_writers_that_append_one_write_the_target(tmp_path):
    from theory._io import atomic_write

    atomic_write(tmp_path / "a.npz", lambda temporary: np.savez(temporary, x=np.arange(3)))  # np.savez appends .npz
    with np.load(tmp_path / "a.npz") as archive:
        np.testing.assert_array_equal(archive["x"], np.arange(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz"]


@pytest.mark.parametrize("fail", ["writer", "replace"])
def test_atomic_write_failing_midway_leaves_no_temporary_and_the_old_file(tmp_path, monkeypatch, fail):
    import theory._io as io

    target = tmp_path / "x.json"
    target.write_text("old")

    def write(temporary):
        with open(temporary, "w") as handle:
            handle.write("half")
            if fail == "writer":
                raise RuntimeError("serialiser failed")

    if fail == "replace":
        monkeypatch.setattr(io.os, "replace", lambda *a: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises((RuntimeError, OSError)):
        io.atomic_write(target, write)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json"]


class _FakeFigure:
    """A figure module with the interface of figures/<name>.py whose plot can be made to fail."""

    NAME = "fake"
    KIND = "theory"
    DESCRIPTION = "a fake figure"
    fail_plot = False

    import dataclasses as _dc

    @_dc.dataclass(frozen=True)
    class Config:
        seed: int = 0
        value: float = 1.0

        @classmethod
        def quick(cls):
            return cls()

    @staticmethod
    def compute(config):
        return {"value": config.value, "seed": config.seed}

    @staticmethod
    def claims(data):
        return []

    @classmethod
    def plot(cls, data):
        import matplotlib.pyplot as plt

        if cls.fail_plot:
            raise RuntimeError("plot failed")
        figure = plt.figure(figsize=(2, 2))
        figure.gca().plot([0, 1], [0, data["seed"]])
        return figure


def _run_fake(monkeypatch, out, seed):
    import argparse

    monkeypatch.setattr(figures, "load", lambda name: _FakeFigure)
    args = argparse.Namespace(quick=True, seed=seed, data=None, data_dir=None, out=str(out), runs=None)
    return paper_figs.run_figure("fake", args)


def _snapshot(out):
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def test_figure_outputs_are_replaced_as_a_set(tmp_path, monkeypatch):
    import hashlib

    import theory._io as io

    _run_fake(monkeypatch, tmp_path, seed=1)
    before = _snapshot(tmp_path)
    assert set(before) == {"fake.png", "fake.pdf", "fake.json"}
    stored = json.loads(before["fake.json"])
    for suffix in ("png", "pdf"):  # the JSON names the PNG and PDF that belong to it
        assert stored["files"][suffix]["sha256"] == hashlib.sha256(before[f"fake.{suffix}"]).hexdigest()
    # the plot fails: nothing of the new set is written, the old set stays
    monkeypatch.setattr(_FakeFigure, "fail_plot", True)
    with pytest.raises(RuntimeError, match="plot failed"):
        _run_fake(monkeypatch, tmp_path, seed=2)
    assert _snapshot(tmp_path) == before
    monkeypatch.setattr(_FakeFigure, "fail_plot", False)
    # a rename fails midway (after the PNG was replaced): rolled back, the old set stays, no temporary is left
    calls, replace = [], os.replace

    def failing_replace(source, target):
        calls.append(target)
        if len(calls) == 2:
            raise OSError("disk full")
        return replace(source, target)

    monkeypatch.setattr(io.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        _run_fake(monkeypatch, tmp_path, seed=3)
    monkeypatch.setattr(io.os, "replace", replace)
    assert _snapshot(tmp_path) == before
    _run_fake(monkeypatch, tmp_path, seed=4)
    assert json.loads((tmp_path / "fake.json").read_text())["data"]["seed"] == 4
    assert set(_snapshot(tmp_path)) == {"fake.png", "fake.pdf", "fake.json"}


def test_a_png_that_does_not_belong_to_its_json_is_detected(tmp_path, monkeypatch):
    from figures import output

    _run_fake(monkeypatch, tmp_path, seed=1)
    assert output.stale_files(tmp_path, "fake") == []
    png = (tmp_path / "fake.png").read_bytes()
    _run_fake(monkeypatch, tmp_path, seed=2)
    (tmp_path / "fake.png").write_bytes(png)  # as after a crash between the renames of an older write
    assert output.stale_files(tmp_path, "fake") == ["fake.png"]
