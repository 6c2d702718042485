"""Network figures: each quick mode runs end to end into a private run store and writes finite numbers."""
import importlib
import json

import numpy as np
import pytest

from figures.output import save_json, to_jsonable
from test_figures import finite_numbers  # tests/ is on sys.path under pytest
from theory.evidence import VERDICTS, Claim
from theory.nets import sweep


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("runs")


def run_quick(name, run_dir, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    module = importlib.import_module(f"figures.{name}")
    data = module.compute(module.Config.quick(run_dir=str(run_dir), progress=False))
    claims = module.claims(data)
    assert claims and all(isinstance(c, Claim) for c in claims) and {c.verdict for c in claims} <= set(VERDICTS)
    rows = [claim.to_dict() for claim in claims]
    for row in rows:
        assert set(row) == {"claim", "setting", "statement", "measured", "criterion", "verdict", "evidence"}
    path = save_json(dict(claims=rows, data=data), tmp_path / f"{name}.json")
    written = json.loads(path.read_text())
    numbers = list(finite_numbers(written["data"]))
    assert numbers and all(np.isfinite(numbers)), "every written number must be finite (None marks NaN)"
    figure = module.plot(data)
    assert figure.axes
    plt.close(figure)
    return data, claims


def test_exaggeration_quick(run_dir, tmp_path):
    data, claims = run_quick("exaggeration", run_dir, tmp_path)
    for split in ("train", "test"):
        part = data["temperatures"][0]["per_seed"][0][split]
        assert len(part["bin_teacher"]) == 10 and np.all(np.diff(part["bin_teacher"]) >= 0)
        assert 0.3 < part["slope"] < 3  # a trained student tracks its teacher
    assert data["temperatures"][0]["per_seed"][0]["accuracy"]["teacher"] > 0.8
    assert [t["temperature"] for t in data["temperatures"]] == [1.0, 4.0]
    for entry in data["kernel"]:  # the kernel model's slope carries its interval over points
        low, high = entry["test"]["slope_ci"]
        assert low <= entry["test"]["slope"] <= high
    same = [c for c in claims if c.claim == "kernel vs network"]
    assert same and all(c.parts[0][0].interval is not None for c in same)


def test_kernel_and_network_on_the_same_side_of_one_is_judged_on_both_intervals():
    from figures.exaggeration import same_side
    from theory.evidence import Estimate, greater_than, judge

    above, below, straddle = Estimate(1.2, 1.1, 1.3), Estimate(0.9, 0.85, 0.95), Estimate(1.02, 0.99, 1.05)
    assert judge(same_side(above, Estimate(1.05, 1.01, 1.09), 1.0), greater_than(0.0)) == "reproduced"
    assert judge(same_side(below, Estimate(0.8, 0.7, 0.9), 1.0), greater_than(0.0)) == "reproduced"
    assert judge(same_side(above, below, 1.0), greater_than(0.0)) == "not reproduced"
    assert judge(same_side(above, straddle, 1.0), greater_than(0.0)) == "inconclusive"
    assert judge(same_side(straddle, below, 1.0), greater_than(0.0)) == "inconclusive"
    point = same_side(Estimate(1.2), straddle, 1.0)  # without both intervals: the product as a point
    assert point.interval is None and point.value == (1.2 - 1) * (1.02 - 1)


def test_bias_nn_quick(run_dir, tmp_path):
    data, claims = run_quick("bias_nn", run_dir, tmp_path)
    ntk = data["kernels"]["ntk"]
    assert ntk["curves"]["onehot"]["top"][0] == 0 and ntk["curves"]["onehot"]["top"][-1] > 0.5
    # lazy regime (squared loss, no momentum): the linearised closed form tracks the networks
    assert ntk["closed_form_max_abs"] < 0.15
    assert any(c.claim == "linearised" for c in claims)


@pytest.mark.slow
def test_underfit_quick(run_dir, tmp_path):
    data, _ = run_quick("underfit", run_dir, tmp_path)
    assert np.all(np.diff(data["temperatures"][0]["mean"]["teacher"]) >= 0)


def test_late_quick(run_dir, tmp_path):
    data, _ = run_quick("late", run_dir, tmp_path)
    assert data["switch_epochs"] == [4]
    assert all(0 <= a <= 1 for a in data["mean"]["onehot_to_kd"] + data["mean"]["kd_to_onehot"])


def test_predicted_quick(run_dir, tmp_path):
    data, claims = run_quick("predicted", run_dir, tmp_path)
    entries = data["widths"]["entries"]
    assert entries[-1]["train"]["logit_error_student"] < entries[0]["train"]["logit_error_student"]
    points = data["default"]["points"]["train"]
    assert len(points["deviation_actual"]) == len(points["deviation_predicted"]) == 200  # kept for intervals
    assert data["default"]["exact"] and not any(c.verdict == "not run" for c in claims)
    for entry in data["settings"] + entries:  # 95 % paired bootstrap intervals over the points, around the value
        for key in ("slope_predicted", "slope_measured", "correlation"):
            low, high = entry["train"]["intervals"][key]
            assert low <= entry["train"][key] <= high and high > low, (entry["name"], key)
    low, high = data["widths"]["rate_logit_error"]["interval"]
    assert low <= data["widths"]["rate_logit_error"]["rate"] <= high
    assert all(part.interval is not None for c in claims for part in (c.evidence if isinstance(c.evidence, tuple)
                                                                       else (c.evidence,)))


def test_network_configs_hold_a_setting():
    from figures import bias_nn, exaggeration, late, predicted, underfit
    from theory.nets.experiment import Setting

    for module in (exaggeration, underfit, late, bias_nn, predicted):
        for config in (module.Config(), module.Config.quick()):
            assert isinstance(config.setting, Setting)
            assert not {"dataset", "model", "label_noise", "teacher_epochs"} & set(config.__dataclass_fields__)
    with pytest.raises(TypeError):
        Setting(datset="digits")  # a typo is an error, not a silent default
    with pytest.raises(ValueError, match="same_init=True"):
        bias_nn.Config(setting=Setting(dataset="digits"))


def test_sweep_claims_give_the_table_marks():
    row = dict(test_slope=1.02, train_slope=0.98, student_test_accuracy=0.90, control_test_accuracy=0.85,
               late_test_accuracy=0.88, early_test_accuracy=0.86, teacher_test_accuracy=0.91,
               c3_frac_positive=float("nan"))
    marks = sweep._verdicts(row)
    assert (marks["c1_test"], marks["c1_train"], marks["c2"], marks["c3"], marks["c5"]) == (True, False, True, None,
                                                                                              False)
    assert {c.claim: c.verdict for c in sweep.claims(row)}["C3"] == "not run"
    no_gain = sweep._verdicts(dict(row, student_test_accuracy=0.855))
    assert no_gain["c2"] is None and np.isnan(no_gain["late_recovered"])


def test_sweep_quick_grid_writes_tables(run_dir, tmp_path):
    assert sweep.main(["--out", str(tmp_path), "--runs", str(run_dir), "--grid", "quick"]) == 0
    rows = json.loads((tmp_path / "sweep.json").read_text())
    assert rows[0]["name"] == "quick" and 0 <= rows[0]["student_test_accuracy"] <= 1
    assert "| quick |" in (tmp_path / "sweep.md").read_text()
    assert to_jsonable(rows) == rows


def _seed_entry(rng, slope, gain, late, names=None):
    """A fake per-seed sweep entry with bootstrap replicates around the given numbers."""
    from theory.nets import analysis
    from theory.nets.outcome import BOOTSTRAP_NAMES

    centre = dict(test_slope=slope, train_slope=slope, control_test_slope=0.9, control_train_slope=0.9,
                  teacher_test_accuracy=0.90, student_test_accuracy=0.85 + gain, control_test_accuracy=0.85,
                  late_test_accuracy=0.85 + late, early_test_accuracy=0.85)
    values = np.array([centre[n] for n in BOOTSTRAP_NAMES])
    draws = values + 0.005 * rng.normal(size=(1000, len(values)))
    return dict(centre, c3_frac_positive=0.9, bootstrap=analysis.pack_replicates(BOOTSTRAP_NAMES, values, draws))


def test_sweep_claims_carry_intervals_and_the_seed_rule():
    from theory.nets import outcome

    rng = np.random.default_rng(0)
    three = [_seed_entry(rng, 1.02, 0.05, 0.04) for _ in range(3)]
    row = dict(name="fake", per_seed=three, **{k: np.mean([s[k] for s in three]) for k in three[0] if k != "bootstrap"})
    claims = {c.claim: c for c in outcome.claims(row)}
    slope = claims["C1 test"].evidence
    assert slope.low < 1.02 < slope.high and claims["C1 test"].verdict == "reproduced"
    assert "seed level not resampled" in claims["C1 test"].setting
    assert claims["C2"].evidence.low < 0.8 < claims["C2"].evidence.high  # Fieller around 0.04 / 0.05
    assert claims["C3"].evidence.interval is None  # trajectory points: only seeds resampled, from 5 seeds
    # five seeds whose slopes straddle 1: the seed level makes the verdict inconclusive
    five = [_seed_entry(rng, s, 0.05, 0.04) for s in (0.97, 1.06, 0.99, 1.08, 1.0)]
    row5 = dict(name="fake", per_seed=five, **{k: np.mean([s[k] for s in five]) for k in five[0] if k != "bootstrap"})
    claims5 = {c.claim: c for c in outcome.claims(row5)}
    assert "hierarchical" in claims5["C1 test"].setting and claims5["C1 test"].verdict == "inconclusive"
    assert claims5["C3"].evidence.interval is not None
    # no gain: C2 not judged
    flat = [_seed_entry(rng, 1.02, 0.0, 0.0) for _ in range(3)]
    rowf = dict(name="flat", per_seed=flat, **{k: np.mean([s[k] for s in flat]) for k in flat[0] if k != "bootstrap"})
    c2 = {c.claim: c for c in outcome.claims(rowf)}["C2"]
    assert c2.verdict == "not run" and "not judged" in c2.measured
    marks = outcome.verdicts(rowf)
    assert marks["c2"] is None and "test_slope" in marks["intervals"]
    assert "[" in outcome.markdown([dict(rowf, **marks, c3_median_deficit=0.1, teacher_train_accuracy=1.0)])


def test_settings_table_from_the_stored_runs(run_dir, tmp_path):
    from theory.nets import table

    module = importlib.import_module("figures.exaggeration")
    module.compute(module.Config.quick(run_dir=str(run_dir), progress=False))  # reused runs when already stored
    rows = table.settings_rows(run_dir)
    assert rows and all(r["dataset"] == "digits" for r in rows)
    row = rows[0]
    assert row["test_slope"][1] <= row["test_slope"][0] <= row["test_slope"][2]
    assert 0 <= row["train_saturation"] <= 1 and row["control_test_accuracy"] is not None
    assert table.paper_match(table.PAPER_ROWS[0], rows) == []
    lines = "\n".join(report_settings(rows))
    assert "not run here (needs CIFAR and a GPU)" in lines and "72.52%" in lines


def report_settings(rows):
    from figures import report
    from theory.nets import table

    return report.settings_markdown(rows, [dict(p, ours=table.paper_match(p, rows)) for p in table.PAPER_ROWS])
