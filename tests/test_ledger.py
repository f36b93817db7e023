"""The claims ledger and the dsproof command."""

import json

import pytest

from dsproof import cli, ledger


def test_registry_has_the_issue_claims():
    ids = set(ledger.load_all())
    assert {"lemma-3.1", "cor-3.1", "cross-terms", "calibration-4.2", "appC-toy"} <= ids


def test_check_writes_ledger(tmp_path, capsys):
    rc = cli.main(["check", "--quiet", "--out", str(tmp_path), "--only", "lemma-3.1", "calibration-4.2"])
    assert rc == 0
    data = json.loads((tmp_path / "ledger.json").read_text())
    by_id = {c["id"]: c for c in data["claims"]}
    assert by_id["lemma-3.1"]["verdict"] == "proved"
    assert all(ev["passed"] for c in data["claims"] for ev in c["evidence"])
    assert "lemma-3.1" in (tmp_path / "ledger.md").read_text()


def test_ledger_is_byte_identical_when_regenerated(tmp_path):
    """Run timings stay on the terminal: two runs of the same claims write byte-identical ledger files."""
    ids = ["lemma-3.1", "calibration-4.2"]
    for run in ("a", "b"):
        assert cli.main(["check", "--quiet", "--out", str(tmp_path / run), "--only", *ids]) == 0
    for name in ("ledger.json", "ledger.md"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    data = json.loads((tmp_path / "a" / "ledger.json").read_text())
    assert not [k for c in data["claims"] for k in c if k in ledger.RUN_ONLY_FIELDS]


def test_inconsistent_evidence_makes_exit_code_nonzero(tmp_path, monkeypatch):
    def broken():
        return ledger.Outcome("proved", [ledger.Evidence("autograd", "deliberately inconsistent", "1e3", "", False)])

    monkeypatch.setitem(ledger.REGISTRY, "broken", ledger.Claim("broken", "-", "-", [], broken))
    assert cli.main(["check", "--quiet", "--out", str(tmp_path), "--only", "broken"]) == 1


def test_a_check_that_raises_is_an_error_not_a_verdict(tmp_path, monkeypatch):
    def raises():
        raise ValueError("boom")

    monkeypatch.setitem(ledger.REGISTRY, "raises", ledger.Claim("raises", "-", "-", [], raises))
    assert cli.main(["check", "--quiet", "--out", str(tmp_path), "--only", "raises"]) == 1
    entry = json.loads((tmp_path / "ledger.json").read_text())["claims"][0]
    assert entry["status"] == "error" and "boom" in entry["error"]


def test_unknown_claim_id(tmp_path):
    assert cli.main(["check", "--out", str(tmp_path), "--only", "nope"]) == 2


def test_bad_verdict_rejected():
    with pytest.raises(ValueError, match="verdict"):
        ledger.Outcome("maybe", [])


def test_readme_table_is_generated_from_the_committed_ledger():
    """The README's claims table must be exactly what `dsproof readme` generates from reports/ledger.json."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    table = cli.claims_table(root / "reports" / "ledger.json")
    assert table in (root / "README.md").read_text(), "README claims table is stale: run `dsproof readme`"


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


def test_a_verdict_needs_its_card():
    """Every decided verdict names its deciding figure and threshold; a failed or setting-dependent one also the
    corrected statement."""
    with pytest.raises(ValueError, match="deciding figure"):
        ledger.Outcome("proved", [])
    with pytest.raises(ValueError, match="corrected statement"):
        ledger.Outcome("setting-dependent", [], deciding="x", threshold="y")
    assert ledger.Outcome("open", []).verdict == "open"


def test_cards_render_in_the_ledger_and_the_readme(tmp_path):
    entry = ledger.Entry("c", "Thm 9", "s", [], "fails-in-stated-setting", "sum", [], "ok", deciding="ratio 3.1",
                         threshold="grows iff power 1", correction="bounded, not ~L")
    md = ledger.to_markdown([entry])
    assert "**Deciding figure.** ratio 3.1 (threshold: grows iff power 1)" in md
    assert "**Corrected statement.** bounded, not ~L" in md
    assert md.index("Proposed corrections") < md.index("| id |"), "corrections must open the ledger"
    path = tmp_path / "ledger.json"
    path.write_text(ledger.to_json([entry]))
    table = cli.claims_table(path)
    assert table.startswith("1 claims: 1 fails-in-stated-setting.")
    assert "- **c**: bounded, not ~L" in table


def test_every_committed_claim_has_a_card():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for e in ledger.load(root / "reports" / "ledger.json"):
        if e.verdict != "open":
            assert e.deciding and e.threshold, f"{e.id}: no deciding figure / threshold"
        if e.verdict in ("fails-in-stated-setting", "setting-dependent"):
            assert e.correction, f"{e.id}: no corrected statement"
