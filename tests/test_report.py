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
