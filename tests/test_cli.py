"""paper_figs.py as a user meets it: every user error is checked before computing, printed as one line
``error: ...`` on stderr, and exits 2 (no traceback); ``--runs`` chooses the network run store."""
import json
import os
from pathlib import Path

import pytest

import paper_figs
from figures import eigen, exaggeration


class Computed(Exception):
    """Raised by a monkeypatched ``compute``: the command line got past its checks and started computing."""


@pytest.fixture
def no_compute(monkeypatch):
    """Every figure's ``compute`` raises :class:`Computed`, recording the config it was given."""
    import figures

    seen = []

    def compute(config):
        seen.append(config)
        raise Computed(config)

    for name in figures.available():
        monkeypatch.setattr(figures.load(name), "compute", compute)
    return seen


def one_error_line(capsys, *words) -> str:
    """The single stderr line of a user error; it must contain each of ``words``."""
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


# ----------------------------------------------------------------------------------------------- --out
def test_out_below_a_regular_file_fails_before_computing(tmp_path, capsys, no_compute):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert paper_figs.main(["--fig", "eigen", "--quick", "--out", str(blocker / "sub")]) == 2
    assert not no_compute
    one_error_line(capsys, "--out", str(blocker), "not a directory")


def test_out_that_is_a_regular_file_fails_before_computing(tmp_path, capsys, no_compute):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert paper_figs.main(["--fig", "eigen", "--quick", "--out", str(blocker)]) == 2
    assert not no_compute
    one_error_line(capsys, "--out", "not a directory")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes through permissions")
def test_unwritable_out_fails_before_computing(tmp_path, capsys, no_compute):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert paper_figs.main(["--fig", "eigen", "--quick", "--out", str(locked / "out")]) == 2
    finally:
        locked.chmod(0o700)
    assert not no_compute
    one_error_line(capsys, "--out", "not writable")


def test_a_good_out_is_created_and_computing_starts(tmp_path, no_compute):
    with pytest.raises(Computed):
        paper_figs.main(["--fig", "eigen", "--quick", "--out", str(tmp_path / "a" / "b")])
    assert (tmp_path / "a" / "b").is_dir()


# ----------------------------------------------------------------------------------------------- --data-dir
def test_missing_data_dir_fails_before_computing(tmp_path, capsys, no_compute):
    assert paper_figs.main(["--fig", "exaggeration", "--quick", "--out", str(tmp_path),
                            "--data-dir", str(tmp_path / "nowhere")]) == 2
    assert not no_compute
    one_error_line(capsys, "--data-dir", "nowhere", "does not exist")


def test_data_dir_that_is_a_file_fails_before_computing(tmp_path, capsys, no_compute):
    (tmp_path / "file").write_text("x")
    assert paper_figs.main(["--fig", "exaggeration", "--quick", "--out", str(tmp_path),
                            "--data-dir", str(tmp_path / "file")]) == 2
    assert not no_compute
    one_error_line(capsys, "--data-dir", "not a directory")


def test_npz_data_dir_is_a_file_and_a_directory_is_refused(tmp_path, capsys, no_compute):
    (tmp_path / "d.npz").write_bytes(b"")
    common = ["--fig", "exaggeration", "--quick", "--out", str(tmp_path), "--data", "npz"]
    with pytest.raises(Computed):
        paper_figs.main(common + ["--data-dir", str(tmp_path / "d.npz")])
    assert no_compute[-1].setting.data_dir == str(tmp_path / "d.npz")
    assert paper_figs.main(common + ["--data-dir", str(tmp_path)]) == 2
    one_error_line(capsys, "--data-dir", "not a file")


# ----------------------------------------------------------------------------------------------- other user errors
def test_a_figure_that_does_not_take_an_override_is_one_line(tmp_path, capsys, no_compute):
    assert paper_figs.main(["--fig", "eigen", "--quick", "--out", str(tmp_path), "--data-dir", str(tmp_path)]) == 2
    assert one_error_line(capsys) == "error: figure 'eigen' does not take --data-dir."


def test_fig_all_checks_every_figure_before_computing_any(tmp_path, capsys, no_compute):
    # only the network figures take --data-dir: the refusal comes before any figure computes
    assert paper_figs.main(["--fig", "all", "--quick", "--out", str(tmp_path), "--data-dir", str(tmp_path)]) == 2
    assert not no_compute
    one_error_line(capsys, "does not take --data-dir")


def test_unknown_figure_no_action_and_bad_arguments_are_one_line(capsys):
    assert paper_figs.main(["--fig", "nope"]) == 2
    one_error_line(capsys, "unknown figure 'nope'")
    assert paper_figs.main([]) == 2
    one_error_line(capsys, "--fig")
    assert paper_figs.main(["--fig", "eigen", "--seed", "abc"]) == 2
    one_error_line(capsys, "--seed", "abc")
    assert paper_figs.main(["--no-such-option"]) == 2
    one_error_line(capsys, "--no-such-option")


def test_unknown_dataset_is_refused_before_computing(tmp_path, capsys, no_compute):
    assert paper_figs.main(["--fig", "eigen", "--quick", "--out", str(tmp_path), "--data", "nope"]) == 2
    assert not no_compute
    one_error_line(capsys, "--data", "nope")


# ----------------------------------------------------------------------------------------------- --report
def test_report_on_a_directory_without_results_is_an_error(tmp_path, capsys):
    assert paper_figs.main(["--report", "--out", str(tmp_path)]) == 2
    one_error_line(capsys, "no figure results", str(tmp_path))
    assert not (tmp_path / "report.md").exists()
    assert paper_figs.main(["--report", "--out", str(tmp_path / "missing")]) == 2
    one_error_line(capsys, "no figure results")
    assert not (tmp_path / "missing").exists()


def test_report_names_a_corrupt_json(tmp_path, capsys):
    (tmp_path / "eigen.json").write_text('{"claims": [')
    assert paper_figs.main(["--report", "--out", str(tmp_path)]) == 2
    one_error_line(capsys, str(tmp_path / "eigen.json"))
    (tmp_path / "eigen.json").write_text("[1, 2]")  # valid JSON, not a figure's result
    assert paper_figs.main(["--report", "--out", str(tmp_path)]) == 2
    one_error_line(capsys, str(tmp_path / "eigen.json"), "not a figure result")


def test_sweep_goes_to_the_figures_that_read_one_and_is_refused_elsewhere(tmp_path, capsys, no_compute):
    assert paper_figs.main(["--fig", "late", "--quick", "--out", str(tmp_path), "--sweep", str(tmp_path)]) == 2
    assert one_error_line(capsys) == "error: figure 'late' does not take --sweep."
    (tmp_path / "file").write_text("x")
    assert paper_figs.main(["--fig", "regimes-nn", "--out", str(tmp_path), "--sweep", str(tmp_path / "file")]) == 2
    one_error_line(capsys, "--sweep", "not a directory")
    assert not no_compute
    with pytest.raises(Computed):
        paper_figs.main(["--fig", "regimes-nn", "--out", str(tmp_path), "--sweep", str(tmp_path / "s")])
    assert no_compute[-1].sweep == str(tmp_path / "s") and not no_compute[-1].train


# ----------------------------------------------------------------------------------------------- --runs
def _args(**changes):
    import argparse

    values = dict(quick=True, seed=None, data=None, data_dir=None, out="results", runs=None)
    values.update(changes)
    return argparse.Namespace(**values)


def test_runs_goes_to_the_network_figures_run_dir(tmp_path):
    assert paper_figs._config(exaggeration, _args(runs=str(tmp_path))).run_dir == str(tmp_path)
    assert paper_figs._config(exaggeration, _args(out=str(tmp_path))).run_dir == str(tmp_path / "runs")
    assert not hasattr(paper_figs._config(eigen, _args(runs=str(tmp_path))), "run_dir")


@pytest.mark.parametrize("name", ["exaggeration", "underfit", "late", "bias-nn"])
def test_network_figures_store_runs_under_out_by_default(name, tmp_path, no_compute):
    with pytest.raises(Computed):
        paper_figs.main(["--fig", name, "--quick", "--out", str(tmp_path / "out")])
    assert Path(no_compute[-1].run_dir) == tmp_path / "out" / "runs"
    with pytest.raises(Computed):
        paper_figs.main(["--fig", name, "--quick", "--out", str(tmp_path / "out"), "--runs", str(tmp_path / "r")])
    assert Path(no_compute[-1].run_dir) == tmp_path / "r"
    assert (tmp_path / "r").is_dir()


def test_runs_on_a_figure_without_a_run_store_or_below_a_file_is_refused(tmp_path, capsys, no_compute):
    assert paper_figs.main(["--fig", "eigen", "--quick", "--out", str(tmp_path), "--runs", str(tmp_path)]) == 2
    one_error_line(capsys, "--runs", "eigen")
    (tmp_path / "file").write_text("x")
    assert paper_figs.main(["--fig", "late", "--quick", "--out", str(tmp_path),
                            "--runs", str(tmp_path / "file" / "runs")]) == 2
    assert not no_compute
    one_error_line(capsys, "--runs", "not a directory")


def test_the_network_figures_default_run_dir_is_the_stores():
    from theory.nets import DEFAULT_RUN_DIR

    for module in ("exaggeration", "underfit", "late", "bias_nn"):
        config = __import__(f"figures.{module}", fromlist=["Config"]).Config()
        assert config.run_dir == DEFAULT_RUN_DIR


# ----------------------------------------------------------------------------------------------- --n-train
def test_n_train_and_data_reach_the_figure_config(tmp_path, no_compute):
    for name, args in (("eigen", []), ("ntk", []), ("bias-nn", ["--runs", str(tmp_path / "runs")])):
        with pytest.raises(Computed):
            paper_figs.main(["--fig", name, "--out", str(tmp_path), "--n-train", "50000", "--data", "mnist1d"] + args)
    eigen_config, ntk_config, bias_config = no_compute
    assert (eigen_config.n_train, eigen_config.dataset) == (50000, "mnist1d")
    assert (ntk_config.n_train, ntk_config.dataset) == (50000, "mnist1d")
    assert (bias_config.setting.n_train, bias_config.setting.dataset) == (50000, "mnist1d")
    assert eigen_config.scale_above < 50000  # the scale route


def test_n_train_is_refused_by_a_figure_without_a_scale_route_and_must_be_positive(tmp_path, capsys, no_compute):
    assert paper_figs.main(["--fig", "late", "--quick", "--out", str(tmp_path), "--n-train", "100"]) == 2
    one_error_line(capsys, "figure 'late' does not take --n-train", "eigen", "ntk", "bias-nn")
    for bad in ("0", "-5", "many"):
        assert paper_figs.main(["--fig", "eigen", "--out", str(tmp_path), "--n-train", bad]) == 2
        one_error_line(capsys, "--n-train", "positive integer")
    assert paper_figs.main(["--fig", "all", "--quick", "--out", str(tmp_path), "--n-train", "100"]) == 2
    assert not no_compute
    one_error_line(capsys, "does not take --n-train")


def test_report_from_a_run_store_alone_holds_the_settings_table(tmp_path, capsys):
    """A sweep's runs without any figure result give a report with the settings table (the paper's setting is a
    sweep, then `--report --runs`); a store without a teacher → student pair is still an error."""
    from theory import nets

    runs = tmp_path / "runs"
    teacher = nets.TrainConfig(dataset="digits", model="mlp", width=16, epochs=2, n_train=200)
    nets.train(teacher.student(temperature=4.0, seed=1), runs, progress=False)
    assert paper_figs.main(["--report", "--out", str(tmp_path / "out"), "--runs", str(runs)]) == 0
    text = (tmp_path / "out" / "report.md").read_text()
    assert "## Settings (from the stored runs)" in text, text
    assert "| digits | mlp width=16, 2 ep → mlp width=16, 2 ep | 4 | 1 |" in text
    capsys.readouterr()
    assert paper_figs.main(["--report", "--out", str(tmp_path / "none"), "--runs", str(tmp_path / "empty")]) == 2
    one_error_line(capsys, "no figure results", "no teacher → student runs")
