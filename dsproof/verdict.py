"""The one verdict rule.  Every verdict in the ledger, the README and the report is computed here, from a
statement's threshold and outcomes (and each claim's from its statements'); none is written by hand.

The rule in words is :data:`RULE` (the README and the report print it).
"""

from __future__ import annotations

from .model import GENERAL_SCOPES, SCOPES, Evidence, Statement, conditions_hold

#: the verdicts, from the most severe (what a claim's verdict is when any of its statements has it) to the least
VERDICTS = ("fails-in-stated-setting", "setting-dependent", "open", "not-assessed", "holds", "proved")

#: what each verdict means (the report's glossary and the README)
MEANING = {
    "proved": "the threshold is met in every setting the paper states, and every outcome rests on a general proof "
              "(kernel-checked by Coq, or symbolic in T and L, or by induction)",
    "holds": "the threshold is met in every setting the paper states, on instances or numerically: checked, not "
             "proved in general",
    "setting-dependent": "the paper leaves a choice open, and the threshold is met under some of its values and not "
                         "under others (the outcomes map where)",
    "fails-in-stated-setting": "the threshold is not met under any value of the choices the paper leaves open: a "
                               "counterexample inside what the paper states",
    "open": "not decided: no outcome inside the stated setting, or some setting not yet determined",
    "not-assessed": "the paper's text for this statement is not available (a section title only), so there is no "
                    "statement to test; what dsproof computed for a natural reading is shown as a record",
}

RULE = (
    "A statement's outcomes are grouped into cells, one per value of the choices the paper leaves open; outcomes "
    "outside the stated setting (controls, contrasts) are shown but never decide. A cell meets the threshold when "
    "every outcome in it does (an instance that fails is a counterexample for its cell), fails it when one outcome "
    "fails, and is undetermined otherwise. Then: the statement's text unavailable: not-assessed; no cell, or some "
    "cell undetermined while no two cells disagree: open; cells that meet and cells that fail: setting-dependent; "
    "every cell fails: fails-in-stated-setting; every cell meets: proved when every outcome rests on a general "
    "proof (machine-checked, symbolic in T and L, or by induction), else holds. A claim asserts all its statements "
    "at once, so its verdict is the most severe of theirs, in the order " + " > ".join(VERDICTS) + ".")


def strongest_scope(scopes) -> str:
    given = set(scopes)
    ranked = [s for s in SCOPES if s in given]
    return ranked[0] if ranked else "numeric"


def evaluate(st: Statement, evidence: dict[str, Evidence]) -> Statement:
    """Fill in ``met`` and ``scope`` of every outcome (from the threshold and the cited evidence rows) and the
    statement's verdict; returns ``st``."""
    for o in st.outcomes:
        missing = [i for i in o.evidence if i not in evidence]
        if missing or not o.evidence:
            raise ValueError(f"{st.id}: outcome '{o.label()}' cites evidence {missing or '(none)'} that the claim "
                             "does not have")
        o.met = conditions_hold(st.threshold.conditions, o.values)
        o.scope = strongest_scope(evidence[i].scope for i in o.evidence)
    st.verdict = statement_verdict(st)
    if st.correction and st.verdict not in ("fails-in-stated-setting", "setting-dependent"):
        raise ValueError(f"{st.id}: a correction is proposed only where a statement fails or depends on the "
                         f"setting; its verdict is {st.verdict} (say it in the note instead)")
    return st


def cells(st: Statement) -> dict[tuple, list]:
    """The inside outcomes grouped by the values of the open choices."""
    out: dict[tuple, list] = {}
    for o in st.outcomes:
        if o.inside:
            out.setdefault(tuple(sorted(o.setting.items())), []).append(o)
    return out


def cell_state(outcomes) -> bool | None:
    met = [o.met for o in outcomes]
    if False in met:
        return False
    return None if None in met else True


def statement_verdict(st: Statement) -> str:
    """The rule (:data:`RULE`) for one statement whose outcomes carry ``met`` and ``scope``."""
    if st.source == "unavailable":
        return "not-assessed"
    states = [cell_state(os) for os in cells(st).values()]
    if not states:
        return "open"
    if True in states and False in states:
        return "setting-dependent"
    if None in states:
        return "open"
    if all(s is False for s in states):
        return "fails-in-stated-setting"
    general = all(o.scope in GENERAL_SCOPES for os in cells(st).values() for o in os)
    return "proved" if general else "holds"


def claim_verdict(statement_verdicts) -> str:
    """A claim asserts all its statements: its verdict is the most severe of theirs."""
    vs = list(statement_verdicts)
    if not vs:
        return "open"
    return min(vs, key=VERDICTS.index)
