"""The claims report: verdict logic on constructed inputs, and building from stored results only."""
import pytest

import paper_figs
from figures import report
from figures.output import save_json
from theory.evidence import Claim, Estimate, greater_than


def row(claim, verdict, measured="x = 1"):
    return dict(claim=claim, setting="s", statement="t", measured=measured, criterion="c", verdict=verdict)


def test_aggregate_verdicts():
    assert report.aggregate(["reproduced", "reproduced"]) == "reproduced"
    assert report.aggregate(["not reproduced"]) == "not reproduced"
    assert report.aggregate([]) == "not run"
    assert report.aggregate(["not run", "not run"]) == "not run"
    assert report.aggregate(["reproduced", "not reproduced", "not run"]) == "partly reproduced (1/2 settings)"
    assert report.aggregate(["reproduced", "inconclusive"]) == "partly reproduced (1/2 settings)"
    assert report.aggregate(["inconclusive", "not run"]) == "inconclusive"
    with pytest.raises(ValueError, match="unknown verdicts"):
        report.aggregate(["probably"])


def test_claim_of_rows():
    assert report.claim_of(row("C3 (network)", "reproduced")) == "C3"
    assert report.claim_of(row("C5", "reproduced")) == "C5"
    assert report.claim_of(row("closed form", "reproduced")) is None
    assert report.claim_of(row("C12", "reproduced")) is None


def test_claims_table_pass_fail_and_missing():
    results = {
        "theory_fig": {"claims": [row("C3", "reproduced"), row("C5", "not reproduced"), row("check", "reproduced")]},
        "net_fig": {"claims": [row("C3 (network)", "not reproduced")]},
        "missing_fig": None,
    }
    kinds = {"theory_fig": "theory", "net_fig": "networks", "missing_fig": "networks"}
    table = {entry["claim"]: entry for entry in report.claims_table(results, kinds)}
    assert table["C3"]["theory"]["verdict"] == "reproduced"  # a clear pass
    assert table["C3"]["networks"]["verdict"] == "not reproduced"  # a clear fail
    assert table["C5"]["theory"]["verdict"] == "not reproduced"
    assert table["C1"]["theory"]["verdict"] == table["C1"]["networks"]["verdict"] == "not run"  # nothing measured it
    text = report.markdown(results, kinds, {"theory_fig": "desc"})
    assert "Not run: missing_fig" in text and "## Consistency checks" in text


def test_claims_table_takes_claim_values_and_stored_rows_alike():
    claim = Claim(claim="C1 test", setting="s", statement="t", evidence=Estimate(1.2), criterion=greater_than(1.0),
                  measured="slope 1.2")
    fresh = report.claims_table({"fig": {"claims": [claim]}}, {"fig": "networks"})
    stored = report.claims_table({"fig": {"claims": [claim.to_dict()]}}, {"fig": "networks"})
    assert fresh == stored
    assert {e["claim"]: e["networks"]["verdict"] for e in fresh}["C1"] == "reproduced"


def test_report_builds_from_stored_results_without_recomputing(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    save_json(dict(figure="eigen", seconds=1.0, claims=[row("C3", "reproduced", "deficit 0.1")], data={}), tmp_path / "eigen.json")
    figure = plt.figure()
    figure.savefig(tmp_path / "eigen.png")
    plt.close(figure)
    # any attempt to compute a figure would be a failure here
    from figures import eigen

    monkeypatch.setattr(eigen, "compute", lambda config: pytest.fail("the report must not recompute"))
    assert paper_figs.main(["--report", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "report.md").read_text()
    assert "deficit 0.1" in text and "| **C3**" in text
    page = (tmp_path / "report.html").read_text()
    assert "data:image/png;base64," in page and "<table>" in page and "deficit 0.1" in page


def test_report_warns_when_a_png_does_not_belong_to_its_json(tmp_path):
    import hashlib

    (tmp_path / "eigen.png").write_bytes(b"new png")
    stored = dict(figure="eigen", claims=[row("C3", "reproduced")], data={},
                  files={"png": {"name": "eigen.png", "sha256": hashlib.sha256(b"old png").hexdigest()}})
    save_json(stored, tmp_path / "eigen.json")
    md_path, _ = report.build(tmp_path, ["eigen"], {"eigen": "theory"}, {"eigen": "d"})
    assert "eigen.png does not belong to eigen.json" in md_path.read_text()


def test_report_build_refuses_no_results_and_names_a_corrupt_file(tmp_path):
    with pytest.raises(report.ResultsError, match="no figure results"):
        report.build(tmp_path, ["eigen"], {"eigen": "theory"}, {})
    (tmp_path / "eigen.json").write_text("{")
    with pytest.raises(report.ResultsError, match="eigen.json"):
        report.load_results(tmp_path, ["eigen"])


def test_cells_show_intervals_and_exact_tolerances():
    from theory.evidence import Exact

    with_ci = Claim(claim="C1", setting="s", statement="t", evidence=Estimate(1.02, 0.98, 1.06),
                    criterion=greater_than(1.0), measured="slope 1.02").to_dict()
    assert report.interval_text(with_ci) == " (95% CI [0.98, 1.06])" and with_ci["verdict"] == "inconclusive"
    exact = Claim(claim="closed form", setting="s", statement="t", evidence=Exact(0.5, 1e-10),
                  criterion=greater_than(0.0)).to_dict()
    assert "exact ± 1e-10" in report.interval_text(exact)
    shown = dict(with_ci, measured="slope 1.02 [0.98, 1.06]")
    assert report.interval_text(shown) == ""  # already in the measured text
    text = report.markdown({"fig": {"claims": [with_ci]}}, {"fig": "networks"}, {})
    assert "95% CI [0.98, 1.06]" in text and "In which regime these verdicts were measured" in text
    assert report.PAPER_COMMAND in text


def test_settings_table_shows_the_paper_rows():
    ours = dict(dataset="cifar100", label_noise=0.0, teacher="resnet56, 200 ep", student="resnet56, 200 ep",
                teacher_model="resnet56", student_model="resnet56", temperature=4.0, seeds=5,
                teacher_test_accuracy=[0.72, 0.71, 0.73], student_test_accuracy=[0.74, 0.73, 0.75],
                control_test_accuracy=0.725, test_slope=[1.05, 1.01, 1.09], train_slope=[1.2, 1.1, 1.3],
                bootstrap="95% hierarchical bootstrap CI (seeds, then points), 5 seeds", train_saturation=0.9,
                train_teacher_entropy=0.01, test_correlation=0.9, test_spread_ratio=1.17, test_clip_moved=0.4)
    paper = [dict(label="CIFAR-100 ResNet-56", teacher_model="resnet56", student_model="resnet56", teacher=72.52,
                  student=74.55, ours=[ours]),
             dict(label="noisy CIFAR-100", teacher_model="resnet56", student_model="resnet56", teacher=69.8,
                  student=72.7, ours=[])]
    lines = report.settings_markdown([ours], paper)
    text = "\n".join(lines)
    assert "1.050 [1.010, 1.090]" in text and "72.00% [71.0, 73.0]" in text and "0.90 / 0.01" in text
    assert "ours: 1 row(s) above" in text and "not run here (needs CIFAR and a GPU)" in text


def test_report_lists_runs_measured_elsewhere(tmp_path):
    claim = Claim(claim="C1 test", setting="your runs", statement="t", evidence=Estimate(1.1, 1.05, 1.15),
                  criterion=greater_than(1.0), measured="slope 1.1 [1.05, 1.15]")
    save_json(dict(claims=[claim.to_dict()], source="theory.measure"), tmp_path / "measure.json")
    md_path, _ = report.build(tmp_path, [], {}, {})
    text = md_path.read_text()
    assert "`measure` C1 test: slope 1.1 [1.05, 1.15]" in text and "![measure]" not in text  # no panels stored
