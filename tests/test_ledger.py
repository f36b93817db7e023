"""The claims ledger and the dsproof command: the registry, the ledger files, the status of a claim, and the
README's table generated from the committed ledger."""

import json

from dsproof import cli, ledger, render
from dsproof.model import Outcome, Statement, check, exact, threshold


def test_registry_has_the_issue_claims():
    ids = set(ledger.load_all())
    assert {"lemma-3.1", "cor-3.1", "cross-terms", "calibration-4.2", "appC-toy"} <= ids


def test_check_writes_ledger(tmp_path):
    rc = cli.main(["check", "--quiet", "--out", str(tmp_path), "--only", "lemma-3.1", "calibration-4.2"])
    assert rc == 0
    data = json.loads((tmp_path / "ledger.json").read_text())
    by_id = {c["id"]: c for c in data["claims"]}
    assert by_id["lemma-3.1"]["verdict"] == "proved"
    assert all(ev["passed"] is not False for c in data["claims"] for ev in c["evidence"])
    assert data["rule"] and set(data["verdicts"]) == set(ledger.rule.VERDICTS)
    assert "lemma-3.1" in (tmp_path / "ledger.md").read_text()


def test_ledger_is_byte_identical_when_regenerated(tmp_path):
    """Run timings stay on the terminal: two runs of the same claims write byte-identical ledger files."""
    ids = ["lemma-3.1", "calibration-4.2"]
    for run in ("a", "b"):
        assert cli.main(["check", "--quiet", "--out", str(tmp_path / run), "--only", *ids]) == 0
    for name in ("ledger.json", "ledger.md"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert "seconds" not in (tmp_path / "a" / "ledger.json").read_text()


def _claim(result):
    return ledger.Claim("broken", "-", lambda: result)


def test_inconsistent_evidence_makes_exit_code_nonzero(tmp_path, monkeypatch):
    bad = check("bad", "autograd", "deliberately inconsistent", {"error/tolerance": exact(1000)},
                ("error/tolerance", "<=", 1))
    st = Statement("broken/s", "-", "-", "summary", "-", (), "-", "-", threshold("t", ("x", "==", 0)),
                   [Outcome({}, {"x": exact(0)}, ("bad",))])
    monkeypatch.setitem(ledger.REGISTRY, "broken", _claim(ledger.Result([st], [bad])))
    assert cli.main(["check", "--quiet", "--out", str(tmp_path), "--only", "broken"]) == 1
    entry = ledger.load(tmp_path / "ledger.json")[0]
    assert entry.status == "inconsistent" and entry.verdict == "holds"  # the verdict is the rule's, the status says why not to trust it


def test_a_check_that_raises_is_an_error_not_a_verdict(tmp_path, monkeypatch):
    def raises():
        raise ValueError("boom")

    monkeypatch.setitem(ledger.REGISTRY, "raises", ledger.Claim("raises", "-", raises))
    assert cli.main(["check", "--quiet", "--out", str(tmp_path), "--only", "raises"]) == 1
    entry = json.loads((tmp_path / "ledger.json").read_text())["claims"][0]
    assert entry["status"] == "error" and "boom" in entry["error"]


def test_unknown_claim_id(tmp_path):
    assert cli.main(["check", "--out", str(tmp_path), "--only", "nope"]) == 2


def test_statement_ids_and_evidence_ids_are_checked(monkeypatch):
    st = Statement("other/s", "-", "-", "summary", "-", (), "-", "-", threshold("t", ("x", "==", 0)),
                   [Outcome({}, {"x": exact(0)}, ("r",))])
    row = check("r", "symbolic", "-", {"x": exact(0)}, ("x", "==", 0))
    e = ledger.run_claim(_claim(ledger.Result([st], [row])))
    assert e.status == "error" and "must be unique and start with 'broken/'" in e.error
    e = ledger.run_claim(_claim(ledger.Result([], [row, row])))
    assert e.status == "error" and "evidence ids repeat" in e.error


def test_readme_table_is_generated_from_the_committed_ledger():
    """The README's claims table must be exactly what `dsproof readme` generates from reports/ledger.json."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    table = cli.claims_table(root / "reports" / "ledger.json")
    assert table in (root / "README.md").read_text(), "README claims table is stale: run `dsproof readme`"
    assert table.startswith(render.verdict_counts(ledger.load(root / "reports" / "ledger.json")))


def test_readme_reproduction_table_is_generated():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    assert cli.reproduction_table() in (root / "README.md").read_text(), \
        "README reproduction table is stale: run `dsproof readme`"


def test_readme_markers_missing_is_an_error(tmp_path):
    p = tmp_path / "R.md"
    p.write_text("no markers")
    assert cli.main(["readme", "--readme", str(p)]) == 2


def test_committed_ledger_is_current():
    """reports/ledger.json holds every registered claim (regenerate with `dsproof report` / `dsproof check`)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    ids = [e.id for e in ledger.load(root / "reports" / "ledger.json")]
    assert ids == list(ledger.load_all()), "reports/ledger.json is stale: run `dsproof report`"


def test_the_ledger_round_trips_through_json():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    text = (root / "reports" / "ledger.json").read_text()
    assert ledger.to_json(ledger.load(root / "reports" / "ledger.json")) == text
