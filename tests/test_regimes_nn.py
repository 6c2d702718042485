"""The regime map: the analysis across settings (theory.nets.regime_map) and the figure regimes-nn."""
import json

import numpy as np
import pytest

from figures import regimes_nn
from figures.output import save_json
from test_figures import finite_numbers  # tests/ is on sys.path under pytest
from theory.evidence import VERDICTS
from theory.nets import analysis
from theory.nets import regime_map as rm


# ------------------------------------------------------------------------------------------------ the analysis
def test_a_planted_dependence_is_found_with_an_interval_excluding_zero():
    rng = np.random.default_rng(1)
    x = rng.uniform(size=30)
    y = 0.9 + 0.2 * x + 0.03 * rng.normal(size=30)
    found = rm.association(x, y, replicates=1000, seed=0)
    assert found["n"] == 30
    assert found["spearman"]["low"] > 0 and found["spearman"]["value"] > 0.7
    assert 0 < found["r2"]["low"] <= found["r2"]["value"] <= found["r2"]["high"] <= 1
    assert found["slope"]["low"] < 0.2 < found["slope"]["high"]
    falling = rm.association(x, -y, replicates=1000, seed=0)
    assert falling["spearman"]["high"] < 0


def test_no_dependence_gives_an_interval_containing_zero():
    rng = np.random.default_rng(2)
    x, y = rng.uniform(size=40), rng.normal(size=40)
    found = rm.association(x, y, replicates=1000, seed=0)
    assert found["spearman"]["low"] < 0 < found["spearman"]["high"]
    assert found["r2"]["low"] < 0.05


def test_within_setting_draws_widen_the_interval_and_nan_settings_are_left_out():
    rng = np.random.default_rng(3)
    x = rng.uniform(size=20)
    y = 1 + 0.1 * x
    tight = rm.association(x, y, replicates=500, seed=0)
    draws = y[:, None] + 0.2 * rng.normal(size=(20, 300))
    loose = rm.association(x, y, y_draws=draws, replicates=500, seed=0)
    assert tight["spearman"]["low"] == pytest.approx(1.0)
    assert loose["spearman"]["low"] < 0.9
    x[0] = np.nan
    assert rm.association(x, y, replicates=100)["n"] == 19
    few = rm.association(x[1:5], y[1:5], replicates=100)
    assert few["spearman"]["value"] == pytest.approx(1.0) and few["spearman"]["low"] is None  # < MIN_SETTINGS
    with pytest.raises(ValueError, match="one value per setting"):
        rm.association([1, 2, 3], [1, 2])


def test_threshold_separates_or_says_there_is_nothing_to_separate():
    found = rm.threshold([0.1, 0.5, 0.9, 0.3, 0.7], [False, True, True, False, True])
    assert found["separates"] and found["direction"] == ">" and 0.3 < found["cut"] < 0.5
    mixed = rm.threshold([0.1, 0.2, 0.3, 0.4], [True, False, True, False])
    assert not mixed["separates"] and mixed["balanced_accuracy"] < 1
    none = rm.threshold([0.1, 0.2, 0.3], [False, False, False])
    assert none["cut"] is None and none["balanced_accuracy"] is None and none["n_above"] == 0


def test_axis_of_reads_the_fields():
    assert rm.axis_of({}) == "base"
    assert rm.axis_of(dict(crop_padding=1, noise_std=0.3)) == "augmentation"
    assert rm.axis_of(dict(teacher_epochs=15)) == "teacher budget"
    assert rm.axis_of(dict(student_epochs=200)) == "student budget"
    assert rm.axis_of(dict(student_weight_decay=5e-4)) == "weight decay"
    assert rm.axis_of(dict(shift=6, teacher_label_smoothing=0.1)) == "combined"
    assert rm.axis_of(dict(teacher_epochs=6, student_epochs=6), dict(teacher_epochs=6, student_epochs=6)) == "base"


def _rows(n=12, planted=True, seeds=3, seed=0, base="mnist1d mlp"):
    """Synthetic sweep rows at τ = 1 and 4: slope rises with saturation when ``planted``."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        saturation = i / (n - 1)
        for temperature in (1.0, 4.0):
            slope = (0.85 + 0.3 * saturation if planted else 0.95 + 0.05 * rng.normal()) + 0.05 * (temperature > 1)
            per_seed = []
            for s in range(seeds):
                value = slope + 0.005 * rng.normal()
                draws = value + 0.01 * rng.normal(size=(200, 1))
                per_seed.append(dict(test_slope=value, bootstrap=analysis.pack_replicates(["test_slope"], [value],
                                                                                         draws)))
            setting = dict(dataset=base.split()[0], model="mlp", temperature=temperature, teacher_epochs=60 + 10 * i,
                           student_epochs=60)
            rows.append(dict(name=f"{base}, level {i}, τ={temperature:g}", setting=setting, test_slope=slope,
                             per_seed=per_seed, train_saturation=saturation,
                             train_teacher_entropy=1 - saturation + 0.3 * rng.uniform(),
                             teacher_train_accuracy=0.9 + 0.1 * rng.uniform(),
                             teacher_test_accuracy=0.8 + 0.1 * rng.uniform(), test_kl=0.1 * rng.uniform(),
                             test_agreement=0.9 + 0.1 * rng.uniform(), test_correlation=0.95,
                             test_spread_ratio=slope / 0.95))
    rows.append(dict(name="failed, τ=1", setting=dict(temperature=1.0), errors=[dict(seed=0)]))
    return rows


def test_setting_table_and_the_answer_find_the_planted_variable():
    table = rm.setting_table(_rows())
    assert len(table) == 24 and {r["temperature"] for r in table} == {1.0, 4.0}
    first = table[0]
    assert first["low"] < first["slope"] < first["high"] and len(first["draws"]) == 200
    assert first["family"] == "mnist1d mlp, level 0" and first["axis"] == "base"
    assert table[2]["axis"] == "teacher budget"  # the most common budgets are the base
    found = rm.answer(table, 1.0, replicates=500)
    assert found["settings"] == 12 and found["within_setting_draws"]
    assert found["variables"]["train_saturation"]["spearman"]["low"] > 0.8
    assert found["best_upstream"] == "train_saturation"
    assert found["variables"]["train_saturation"]["threshold"]["separates"]
    assert found["above_one"]["point"] == int(np.sum(0.85 + 0.3 * np.arange(12) / 11 > 1))
    flat = rm.answer(rm.setting_table(_rows(planted=False, seed=5)), 1.0, replicates=500)
    spearman = flat["variables"]["train_saturation"]["spearman"]
    assert spearman["low"] < 0 < spearman["high"]


# ------------------------------------------------------------------------------------------------ the figure
def _check(data, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    claims = regimes_nn.claims(data)
    assert claims and {c.verdict for c in claims} <= set(VERDICTS)
    path = save_json(dict(claims=[c.to_dict() for c in claims], data=data), tmp_path / "regimes-nn.json")
    numbers = list(finite_numbers(json.loads(path.read_text())["data"]))
    assert all(np.isfinite(numbers))
    figure = regimes_nn.plot(data)
    assert figure.axes
    plt.close(figure)
    return claims


def test_without_a_sweep_it_is_not_run_and_says_the_command(tmp_path):
    data = regimes_nn.compute(regimes_nn.Config(sweep=str(tmp_path / "empty")))
    assert data["status"] == "not run" and data["command"] == regimes_nn.COMMAND
    assert "--grid regimes" in data["note"]
    claims = _check(data, tmp_path)
    assert {c.verdict for c in claims} == {"not run"}


def test_reads_a_stored_sweep(tmp_path):
    (tmp_path / "sweep").mkdir()
    (tmp_path / "sweep" / "sweep.json").write_text(json.dumps(_rows()))  # as sweep_table.write_files stores rows
    config = regimes_nn.Config(sweep=str(tmp_path / "sweep"), replicates=300, kernel_n_train=60, kernel_steps=(10,))
    data = regimes_nn.compute(config)
    assert data["status"] == "done" and data["complete"] == 24 and data["failed"] == 1
    assert set(data["answers"]) == {"1", "4", "all"} and data["answer"]["best_upstream"] == "train_saturation"
    assert data["answers"]["all"]["settings"] == 24 and data["answers"]["all"]["temperature"] is None
    assert "Pooled over τ: every τ" in data["summary"]
    assert [k["dataset"] for k in data["kernels"]] == ["mnist1d"] and len(data["kernels"][0]["entries"]) == 3
    assert "draws" not in data["table"][0] and data["by_base"] == {}
    verdicts = {c.claim: c.verdict for c in _check(data, tmp_path)}
    assert verdicts["saturation → slope"] == "reproduced" and verdicts["C1 test τ=1 (regime map)"] == "reproduced"


def test_each_data_and_architecture_is_also_answered_on_its_own(tmp_path):
    """Two bases, saturation planted in one only: the pooled answer mixes them, the per-base claims separate them;
    the kernel model is run on each base's dataset."""
    (tmp_path / "sweep").mkdir()
    rows = _rows(base="mnist1d mlp") + _rows(planted=False, seed=5, base="digits mlp")
    (tmp_path / "sweep" / "sweep.json").write_text(json.dumps(rows))
    config = regimes_nn.Config(sweep=str(tmp_path / "sweep"), replicates=300, kernel_n_train=60, kernel_steps=(10,))
    data = regimes_nn.compute(config)
    assert sorted(data["by_base"]) == ["digits mlp", "mnist1d mlp"]
    assert {r["base"] for r in data["table"]} == {"digits mlp", "mnist1d mlp"}
    assert data["by_base"]["mnist1d mlp"]["settings"] == data["by_base"]["digits mlp"]["settings"] == 12
    assert [k["dataset"] for k in data["kernels"]] == ["digits", "mnist1d"]
    verdicts = {c.claim: c.verdict for c in _check(data, tmp_path)}
    assert verdicts["saturation → slope (mnist1d mlp)"] == "reproduced"
    assert verdicts["saturation → slope (digits mlp)"] == "inconclusive"
    assert "C1 test τ=1 (digits mlp)" in verdicts and "digits mlp:" in data["summary"]


def test_a_result_stored_with_one_kernel_still_plots(tmp_path):
    (tmp_path / "sweep").mkdir()
    (tmp_path / "sweep" / "sweep.json").write_text(json.dumps(_rows()))
    data = regimes_nn.compute(regimes_nn.Config(sweep=str(tmp_path / "sweep"), replicates=300, kernel_n_train=60,
                                                kernel_steps=(10,)))
    old = dict(data, kernel=data.pop("kernels")[0])
    old.pop("by_base")
    _check(old, tmp_path)


@pytest.mark.slow
def test_quick_trains_a_tiny_grid_through_the_sweep_engine(tmp_path):
    data = regimes_nn.compute(regimes_nn.Config.quick(run_dir=str(tmp_path / "runs"), progress=False))
    assert data["status"] == "done" and data["complete"] == 6
    assert (tmp_path / "regimes-quick" / "sweep.csv").is_file()
    assert {r["axis"] for r in data["table"]} == {"base", "teacher label smoothing", "teacher budget"}
    assert all(r["low"] <= r["slope"] <= r["high"] for r in data["table"])
    _check(data, tmp_path)


def test_the_decided_threshold_leaves_out_settings_whose_interval_straddles_one():
    def record(saturation, slope, low, high):
        return dict(temperature=1.0, slope=slope, low=low, high=high, draws=None, train_saturation=saturation)

    # by the point slopes saturation separates perfectly; by the intervals only one setting is above 1
    table = [record(0.1, 0.90, 0.88, 0.92), record(0.2, 0.95, 0.93, 0.97), record(0.3, 1.01, 0.97, 1.05),
             record(0.4, 1.02, 0.99, 1.05), record(0.5, 1.10, 1.05, 1.15), record(0.05, 0.97, 0.96, 0.98)]
    found = rm.answer(table, 1.0, variables=("train_saturation",), replicates=100)["variables"]["train_saturation"]
    assert found["threshold"]["n"] == 6 and found["threshold"]["n_above"] == 3
    decided = found["threshold_decided"]
    assert decided["n"] == 4 and decided["n_above"] == 1 and decided["separates"]
    assert decided["above_min"] == 0.5 and decided["below_max"] == 0.2
    none_above = rm.answer(table[:4], 1.0, variables=("train_saturation",), replicates=100)
    assert none_above["variables"]["train_saturation"]["threshold_decided"]["balanced_accuracy"] is None
