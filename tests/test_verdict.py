"""The one verdict rule (dsproof.verdict): a small statement per case, the claim rule, and the rule re-applied to the
whole committed ledger from its stored values (every check's 'passed', every outcome's 'met' and scope, every
statement's and claim's verdict)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dsproof import ledger, verdict
from dsproof.model import (Outcome, Statement, bound, check, conditions_hold, count, dec, exact, pct, record, sig,
                           signed, threshold)

LEDGER = Path(__file__).resolve().parent.parent / "reports" / "ledger.json"
GROWS = threshold("grows like L", ("L power", "==", 1))


def _statement(outcomes, source="summary", choices=("scaling",), correction=""):
    return Statement("c/s", "Theorem 9", "the ratio grows like L", source, "as stated", choices, "a model",
                     "a ratio's power of L", GROWS, outcomes, correction=correction)


def _rows(*scopes):
    return {f"r{i}": record(f"r{i}", "symbolic", "a row", {"x": exact(1)}, scope=s) for i, s in enumerate(scopes)}


def _decide(outcomes, rows, **kw) -> str:
    return verdict.evaluate(_statement(outcomes, **kw), rows).verdict


def _o(setting, power, cites=("r0",), inside=True):
    return Outcome(setting, {"L power": exact(power)}, cites, inside=inside)


def test_proved_needs_a_general_scope_on_every_outcome():
    rows = _rows("general proof", "instances", "machine-checked")
    assert _decide([_o({"scaling": "a"}, 1, ("r0",)), _o({"scaling": "b"}, 1, ("r2",))], rows) == "proved"
    # one outcome resting on instances only: holds, not proved
    assert _decide([_o({"scaling": "a"}, 1, ("r0",)), _o({"scaling": "b"}, 1, ("r1",))], rows) == "holds"
    # the strongest cited row gives the scope
    assert _decide([_o({"scaling": "a"}, 1, ("r1", "r0"))], rows) == "proved"


def test_setting_dependent_needs_outcomes_that_differ_across_the_open_choices():
    rows = _rows("general proof")
    assert _decide([_o({"scaling": "a"}, 1), _o({"scaling": "b"}, 0)], rows) == "setting-dependent"


def test_fails_needs_every_open_choice_to_fail_inside_the_stated_setting():
    rows = _rows("general proof")
    assert _decide([_o({"scaling": "a"}, 0), _o({"scaling": "b"}, 0)], rows) == "fails-in-stated-setting"
    # a counterexample outside the stated setting is not a refutation: shown, never deciding
    assert _decide([_o({"scaling": "a"}, 1), _o({"scaling": "b"}, 0, inside=False)], rows) == "proved"
    assert _decide([_o({"scaling": "a"}, 0, inside=False)], rows) == "open"


def test_an_instance_that_fails_is_a_counterexample_for_its_cell():
    """Outcomes with the same value of the open choices are instances of one universally quantified cell."""
    rows = _rows("instances")
    assert _decide([_o({"scaling": "a"}, 1), _o({"scaling": "a"}, 0)], rows) == "fails-in-stated-setting"
    assert _decide([_o({}, 1), _o({}, 0)], rows, choices=()) == "fails-in-stated-setting"


def test_open_when_undetermined():
    rows = _rows("general proof")
    undetermined = Outcome({"scaling": "a"}, {"other": exact(1)}, ("r0",))
    assert _decide([undetermined], rows) == "open"
    assert _decide([undetermined, _o({"scaling": "b"}, 1)], rows) == "open"
    assert _decide([undetermined, _o({"scaling": "b"}, 0)], rows) == "open"
    assert _decide([], rows) == "open"
    # two cells that disagree decide it even beside an undetermined one
    assert _decide([undetermined, _o({"scaling": "b"}, 1), _o({"scaling": "c"}, 0)], rows) == "setting-dependent"


def test_not_assessed_when_the_text_is_unavailable():
    rows = _rows("general proof")
    assert _decide([_o({"scaling": "a"}, 1)], rows, source="unavailable") == "not-assessed"


def test_claim_verdict_is_the_most_severe_of_its_statements():
    assert verdict.claim_verdict(["proved", "fails-in-stated-setting"]) == "fails-in-stated-setting"
    assert verdict.claim_verdict(["proved", "holds"]) == "holds"
    assert verdict.claim_verdict(["holds", "not-assessed"]) == "not-assessed"
    assert verdict.claim_verdict(["not-assessed", "setting-dependent"]) == "setting-dependent"
    assert verdict.claim_verdict(["open", "proved"]) == "open"
    assert verdict.claim_verdict([]) == "open"
    assert set(verdict.VERDICTS) == set(verdict.MEANING)


def test_a_correction_only_where_a_statement_fails_or_depends_on_the_setting():
    rows = _rows("general proof")
    with pytest.raises(ValueError, match="correction"):
        _decide([_o({"scaling": "a"}, 1)], rows, correction="a better statement")
    assert _decide([_o({"scaling": "a"}, 0)], rows, correction="a better statement") == "fails-in-stated-setting"


def test_outcomes_must_cite_existing_evidence_and_name_open_choices():
    with pytest.raises(ValueError, match="cites evidence"):
        _decide([_o({"scaling": "a"}, 1, ("missing",))], _rows("general proof"))
    with pytest.raises(ValueError, match="not among the open choices"):
        _statement([_o({"reading": "a"}, 1)])


def test_a_check_passes_by_its_condition_and_a_record_has_no_verdict_of_its_own():
    assert check("c", "autograd", "x", {"error/tolerance": bound(1e-8, 1e-3)}, ("error/tolerance", "<=", 1)).passed
    assert not check("c", "autograd", "x", {"error/tolerance": sig(3.2)}, ("error/tolerance", "<=", 1)).passed
    assert not check("c", "autograd", "x", {"e": dec(0.5)}, ("missing", "<=", 1)).passed  # cannot be evaluated
    assert record("r", "numeric", "x", {"v": dec(0.5)}).passed is None
    with pytest.raises(ValueError, match="must be able to fail"):
        check("c", "autograd", "x", {"v": dec(0.5)})


def test_figures_are_stored_at_their_precision():
    assert sig(40.30841590785721, 3).value == 40.3 and sig(40.30841590785721, 3).text() == "40.3"
    assert sig(3002.08, 3).text() == "3000" and sig(29849.48, 4).text() == "29,850"
    assert dec(0.123456, 2).value == 0.12 and signed(-0.2044, 3).text() == "-0.204"
    assert pct(0.8972, 0).value == 0.9 and pct(0.8972, 0).text() == "90%"
    assert bound(1.4e-7, 1e-3).text() == "< 0.001" and bound(1.1e-7, 1e-3) == bound(1.4e-7, 1e-3)
    assert bound(0.02, 1e-3).text() == "0.020"  # above the bound: no longer round-off, printed at 2 digits
    assert count(3, 16).text() == "3/16" and exact(0).text() == "0"
    assert conditions_hold(GROWS.conditions, {"L power": exact(1)}) is True
    assert conditions_hold(GROWS.conditions, {}) is None
    with pytest.raises(ValueError, match="exact"):
        exact(0.5)


# ------------------------------------------------------------------ the rule applied to the whole committed ledger
def test_every_committed_verdict_follows_from_its_stored_values():
    """From reports/ledger.json alone: each check's 'passed' from its conditions on its stored values; each outcome's
    'met' from its statement's threshold, its scope from the rows it cites; each statement's verdict by the rule;
    each claim's verdict as the most severe of its statements'."""
    entries = ledger.load(LEDGER)
    assert entries
    for e in entries:
        by_id = {ev.id: ev for ev in e.evidence}
        for ev in e.evidence:
            if ev.check is None:
                assert ev.passed is None, (e.id, ev.id)
            else:
                assert ev.passed is bool(conditions_hold(ev.check, ev.values)), (e.id, ev.id)
        for st in e.statements:
            stored = [(o.met, o.scope) for o in st.outcomes], st.verdict
            verdict.evaluate(st, by_id)  # recomputes met, scope and the verdict in place
            assert ([(o.met, o.scope) for o in st.outcomes], st.verdict) == stored, st.id
        assert e.verdict == verdict.claim_verdict(s.verdict for s in e.statements), e.id
        assert e.status == ("ok" if all(ev.passed is not False for ev in e.evidence) else "inconsistent")


def test_no_verdict_word_or_measured_figure_is_written_by_hand():
    """Statements' notes and corrections explain; figures live in values and verdicts come from the rule, so the
    prose names no verdict and quotes no measured decimal."""
    words = re.compile(r"\b(proved|fails-in-stated-setting|setting-dependent|not-assessed|holds-under-assumptions)\b")
    decimal = re.compile(r"(?<![\w.^-])\d+\.\d+")
    reference = re.compile(r"(Theorem|Lemma|Corollary|Definition|Appendix|Table|§|D\.)\s*\d+(\.\d+)*")
    for e in ledger.load(LEDGER):
        for st in e.statements:
            for field in ("note", "correction", "words", "quantity"):
                text = getattr(st, field)
                assert not words.search(text), (st.id, field, words.search(text))
            for field in ("note", "correction"):
                text = reference.sub("", getattr(st, field))
                assert not decimal.search(text), (st.id, field, decimal.search(text))


def test_every_claim_splits_into_statements_with_the_papers_words():
    for e in ledger.load(LEDGER):
        assert e.statements, e.id
        for st in e.statements:
            assert st.words and st.location and st.quantity and st.threshold.conditions, st.id
            if st.source != "unavailable":
                assert st.setting and st.model, st.id
            if st.verdict in ("proved", "holds"):
                assert any(o.inside for o in st.outcomes), st.id
