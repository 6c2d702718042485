"""Tests of the sweep on the engine: 2 workers give the sequential run's stored logits bit for bit, a worker killed
mid-run is replaced and its run resumed from its checkpoint, failed runs are reported while the rest goes on,
sweep.csv, the command line (an unreachable scheduler, the SLURM job script)."""
import dataclasses
import json

import numpy as np
import pytest

from theory.nets.experiment import Setting
from theory.nets.sweep import ROLES, main, sweep_settings
from theory.nets.sweep_table import read_table

TINY = Setting("tiny", dataset="digits", width=16, n_train=400, teacher_epochs=3, student_epochs=4, record=3,
               track_points=150)
# a second setting sharing the teacher: the teacher is one task, trained once
SETTINGS = [TINY, dataclasses.replace(TINY, name="tiny ξ=0.5", teacher_weight=0.5)]  # ξ: no new compilation


def quiet(line):
    pass


@pytest.fixture(scope="module")
def sequential(tmp_path_factory):
    """The sequential sweep (in this process): the reference."""
    root = tmp_path_factory.mktemp("sequential")
    result = sweep_settings(SETTINGS, [0], root / "runs", out=root / "out", log=quiet)
    return root, result


def stored(runs):
    return sorted(p.name for p in runs.iterdir() if p.is_dir())


def assert_same_runs(runs, reference):
    assert stored(runs) == stored(reference) and len(stored(runs)) == 8  # 5 + 5 runs, teacher and control shared
    for name in stored(reference):
        assert not (runs / name / "claim.json").exists()
        with np.load(runs / name / "logits.npz") as mine, np.load(reference / name / "logits.npz") as theirs:
            assert mine.files == theirs.files
            for key in mine.files:
                np.testing.assert_array_equal(mine[key], theirs[key])  # bit for bit
        checkpoint = "checkpoint.msgpack"
        assert (runs / name / checkpoint).read_bytes() == (reference / name / checkpoint).read_bytes()
        epochs = [json.loads(line)["epoch"] for line in (runs / name / "metrics.jsonl").read_text().splitlines()]
        assert epochs == list(range(1, len(epochs) + 1))  # every epoch once


def numbers(rows):
    """The rows without wall times, NaN as None (so that equal rows compare equal)."""
    def clean(value):
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if k != "seconds"}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return None if isinstance(value, float) and np.isnan(value) else value
    return clean(rows)


def test_sequential_sweep_writes_json_md_and_csv(sequential):
    root, result = sequential
    assert [row["name"] for row in result.rows] == ["tiny", "tiny ξ=0.5"] and not result.failures
    assert json.loads((root / "out" / "sweep.json").read_text())[1]["name"] == "tiny ξ=0.5"
    assert "| tiny ξ=0.5 |" in (root / "out" / "sweep.md").read_text()
    table = read_table(root / "out")
    assert [(r["setting"], r["role"]) for r in table] == [(s.name, role) for s in SETTINGS
                                                          for role in (*ROLES, "measure")]
    assert all(r["status"] == "done" and r["error"] is None and r["seed"] == 0 for r in table)
    measure = table[5]
    assert measure["test_slope"] == pytest.approx(result.rows[0]["test_slope"], abs=1e-15)
    assert table[0]["key"] == table[6]["key"] and table[0]["setting.temperature"] == 1.0  # the shared teacher
    assert 0 < table[1]["test_accuracy"] <= 1 and table[1]["epochs"] == 4


def test_two_workers_store_the_sequential_logits_bit_for_bit(sequential, dask_client, tmp_path):
    reference, expected = sequential
    result = sweep_settings(SETTINGS, [0], tmp_path / "runs", client=dask_client, out=tmp_path, log=quiet)
    assert_same_runs(tmp_path / "runs", reference / "runs")
    assert numbers(result.rows) == numbers(expected.rows)


def test_a_worker_killed_mid_run_is_replaced_and_the_run_resumes(sequential, dask_client, tmp_path):
    reference, expected = sequential
    marker = tmp_path / "killed"
    result = sweep_settings(SETTINGS, [0], tmp_path / "runs", client=dask_client, log=quiet,
                            fault=("student", marker))
    dask_client.wait_for_workers(2, timeout=60)
    at_kill = marker.read_text().splitlines()  # the worker died holding the claim, its first checkpoint written
    assert [json.loads(line)["epoch"] for line in at_kill] == [1]
    assert not result.failures and numbers(result.rows) == numbers(expected.rows)
    assert_same_runs(tmp_path / "runs", reference / "runs")
    student = result.records[1]
    assert student["role"] == "student" and student["status"] == "done"
    resumed = (tmp_path / "runs" / student["hash"] / "metrics.jsonl").read_text().splitlines()
    assert resumed[0] == at_kill[0]  # epoch 1 as the killed worker wrote it (its wall time too): resumed, not redone


@pytest.mark.parametrize("where", ["here", "cluster"])
def test_failed_runs_are_reported_and_the_others_go_on(where, sequential, request, tmp_path):
    client = request.getfixturevalue("dask_client") if where == "cluster" else None
    bad_model = dataclasses.replace(TINY, name="cnn1d on images", model="cnn1d")
    bad_width = dataclasses.replace(TINY, name="width 0", width=0)
    result = sweep_settings([bad_model, TINY, bad_width], [0], sequential[0] / "runs", client=client,
                            out=tmp_path, log=quiet, retries=0)
    names = [row["name"] for row in result.rows]
    assert names == ["cnn1d on images", "tiny", "width 0"] and "test_slope" in result.rows[1]
    failed = {(f["name"], f["role"]): (f["status"], f["error"]) for f in result.failures}
    assert failed[("cnn1d on images", "teacher")] == ("failed", "ValueError: model 'cnn1d' needs inputs of shape "
                                                      "(length, channels), got (8, 8, 1).")
    assert failed[("cnn1d on images", "student")][0] == "skipped"
    assert failed[("cnn1d on images", "control")][0] == "failed"  # no teacher: it ran, and failed the same way
    assert failed[("width 0", "configs")] == ("failed", "ValueError: width must be an integer >= 1, got 0.")
    text = (tmp_path / "sweep.md").read_text()
    assert "| tiny |" in text and "## Failed runs" in text and "needs inputs of shape" in text
    statuses = {(r["setting"], r["role"]): r["status"] for r in read_table(tmp_path)}
    assert statuses[("tiny", "measure")] == "done" and statuses[("cnn1d on images", "measure")] == "skipped"


def test_command_line_unreachable_scheduler_fails_fast(tmp_path, capsys):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert main(["--out", str(tmp_path), "--grid", "quick", "--scheduler", f"tcp://127.0.0.1:{port}",
                 "--timeout", "2"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"error: no Dask scheduler answered at tcp://127.0.0.1:{port} within 2 s")
    assert not (tmp_path / "sweep.json").exists()


def test_command_line_prints_the_slurm_job_script(capsys):
    assert main(["--out", "unused", "--slurm", "--queue", "gpu", "--walltime", "04:00:00", "--gpus-per-job", "1",
                 "--cores", "6", "--host", "127.0.0.1", "--print-job-script"]) == 0
    script = capsys.readouterr().out
    assert "#SBATCH -p gpu" in script and "#SBATCH -t 04:00:00" in script and "#SBATCH --gres=gpu:1" in script
    assert "tcp://127.0.0.1:" in script and "export PJRT_NPROC=6" in script
