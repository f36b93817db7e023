"""Text renderings of the ledger's data: figures, outcomes, statement and claim cards, the ledger page and the README
table.  Every sentence with a number in it is written here from stored values; the claims hold no prose with
figures, and no verdict word is written anywhere but :mod:`dsproof.verdict`."""

from __future__ import annotations

import html

from . import verdict as rule
from .ledger import Entry
from .model import Evidence, Figure, Outcome, Statement, table_rows

#: the columns of an evidence table and what each says
EVIDENCE_COLUMNS = (
    ("id", "the row's id (outcomes cite it)"),
    ("kind", "how the row was computed: Coq, symbolic, autograd, enumeration, Monte Carlo, numeric"),
    ("scope", "how far the row reaches: machine-checked, a general proof, an induction, instances, or a number"),
    ("role", "check: compared with an independent derivation, can fail; record: a reported value"),
    ("what", "what was computed, and in which setting"),
    ("values", "the result, at its stated precision"),
    ("check", "the condition a check must meet (for a record: none)"),
    ("passed", "whether the check met its condition: dsproof's computation is right. It says nothing about the "
               "paper's claim; the statements' verdicts do"))


def values_text(values: dict[str, Figure], keys=None) -> str:
    """``name value; name value`` (tables are named, not inlined)."""
    keys = list(values) if not keys else [k for k in keys if k in values]
    return "; ".join(f"{k} {values[k].text()}" for k in keys)


def cell(text) -> str:
    """A Markdown table cell: '|' escaped and line breaks removed, so the row stays one row."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown_table(columns, rows) -> str:
    lines = ["| " + " | ".join(cell(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def met_text(met: bool | None) -> str:
    return {True: "met", False: "not met", None: "undetermined"}[met]


def outcome_line(st: Statement, o: Outcome, keys=None) -> str:
    where = o.label() + ("" if o.settings == 1 else f" ({o.settings} settings)")
    ctx = "" if o.inside else " [outside the stated setting: shown, not deciding]"
    if not o.inside and not o.setting:
        where = "outside the stated setting"
    return f"{where}{ctx}: {values_text(o.values, keys)} -> {met_text(o.met)}"


def deciding_text(st: Statement) -> str:
    """The statement's deciding figures: each inside outcome's deciding values and whether it meets the
    threshold."""
    inside = [o for o in st.outcomes if o.inside]
    return "; ".join(outcome_line(st, o, st.deciding or None) for o in inside) or "no outcome inside the stated setting"


def _short(values, keys) -> str:
    """Deciding values in few words: a trend ('grows', 'constant', 'vanishes') bare, other values named."""
    return ", ".join(values[k].text() if k.endswith("growth") else f"{k} {values[k].text()}" for k in keys
                     if k in values)


def headline(st: Statement) -> str:
    """The statement's deciding figure in a line: the deciding values of each cell (the outcomes grouped by the open
    choices) where there are a few, or how many cells (and concrete settings) meet the threshold; a statement with
    outcomes outside the stated setting only shows theirs, marked as such."""
    if st.source == "unavailable":
        return "text not available"
    cells = rule.cells(st)
    keys = list(st.deciding) or ([next(iter(st.outcomes[0].values))] if st.outcomes else [])
    if not cells:
        outside = [o for o in st.outcomes if not o.inside]
        if not outside:
            return "no outcome"
        return "outside the stated setting only: " + "; ".join(f"{o.label()}: {_short(o.values, keys[1:2] or keys)}"
                                                              for o in outside)
    if len(cells) <= 3 and all(len(os) == 1 for os in cells.values()):
        several = len(cells) > 1
        return "; ".join((", ".join(os[0].setting.values()) + ": " if os[0].setting else "")
                         + _short(os[0].values, keys[:1] if several else keys[:2]) for os in cells.values())
    states = {k: rule.cell_state(os) for k, os in cells.items()}
    met = sum(s is True for s in states.values())
    settings = sum(o.settings for os in cells.values() for o in os)
    settings_met = sum(o.settings for k, os in cells.items() if states[k] for o in os)
    return f"met in {met} of {len(cells)} cells" + (f" ({settings_met:,} of {settings:,} settings)"
                                                     if settings > len(cells) else "")


def claim_line(e: Entry) -> tuple[str, str, str]:
    """(the deciding statement(s), their headline figures, their thresholds) for the claim's one-line row: the
    statements whose verdict is the claim's."""
    if e.status == "error":
        return "-", "the check raised: " + e.error.splitlines()[0], "-"
    deciding = [s for s in e.statements if s.verdict == e.verdict]
    return (", ".join(s.id.split("/", 1)[1] for s in deciding), " | ".join(headline(s) for s in deciding),
            " | ".join(dict.fromkeys(s.threshold.text for s in deciding)))


def evidence_rows(e: Entry) -> list[list[str]]:
    return [[ev.id, ev.kind, ev.scope, ev.role, ev.what + (f" ({ev.note})" if ev.note else ""),
             values_text({k: v for k, v in ev.values.items() if v.fmt != "table"}),
             "; ".join(c.text() for c in ev.check) if ev.check else "-",
             "-" if ev.passed is None else ("yes" if ev.passed else "NO")] for ev in e.evidence]


def tables_of(ev: Evidence) -> list[tuple[str, Figure]]:
    return [(k, v) for k, v in ev.values.items() if v.fmt == "table"]


def evidence_html(e: Entry) -> str:
    """The evidence table as one HTML block with no blank line (Markdown passes it through as it is; Jupyter and
    nbconvert break Markdown tables on an escaped '|' or a line break in a cell)."""
    head = "".join(f'<th title="{html.escape(tip)}">{name}</th>' for name, tip in EVIDENCE_COLUMNS)
    rows = []
    for ev, row in zip(e.evidence, evidence_rows(e)):
        cells = [html.escape(c) for c in row]
        if ev.passed is False:
            cells[-1] = '<strong class="bad">NO</strong>'
        extra = "".join(f"<br><b>{html.escape(k)}</b>{table_html(v)}" for k, v in tables_of(ev))
        cells[5] += extra
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return "\n".join(['<table class="evidence">', f"<tr>{head}</tr>", *rows, "</table>"])


def table_html(fig: Figure) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in fig.value["columns"])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c.text())}</td>" for c in r) + "</tr>" for r in table_rows(fig))
    return f'<table class="figure-table"><tr>{head}</tr>{body}</table>'


def statement_markdown(st: Statement, heading: str = "####") -> str:
    src = {"quoted": "quoted from the paper", "summary": "the paper's formula / summary of its text",
           "reconstruction": "reconstruction: the paper does not state it in these words",
           "unavailable": "text not available: not assessed"}[st.source]
    lines = [f"{heading} {st.id}: {st.verdict}", "",
             f"- **Paper** ({st.location}; {src}): {st.words}",
             f"- **Setting the paper states:** {st.setting}",
             f"- **Choices it leaves open:** {', '.join(st.open_choices) or 'none'}",
             f"- **Model here:** {st.model}",
             f"- **Quantity tested:** {st.quantity}",
             f"- **Threshold:** {st.threshold.text} (`" + " and ".join(c.text() for c in st.threshold.conditions)
             + "`)", "- **Outcomes:**"]
    lines += [f"  - {outcome_line(st, o)} (scope: {o.scope}; evidence {', '.join(o.evidence)})"
              + (f". {o.note}" if o.note else "") for o in st.outcomes]
    if st.correction:
        lines.append(f"- **Corrected statement:** {st.correction}")
    if st.note:
        lines.append(f"- **Note:** {st.note}")
    return "\n".join(lines)


def entry_markdown(e: Entry, heading: str = "##", html_table: bool = False) -> str:
    """One claim's card: verdict, each statement, the evidence table (HTML for notebook renderers, else
    Markdown)."""
    lines = [f"{heading} {e.id} — {e.paper_ref}", "", f"**Verdict: {e.verdict}** ({rule.MEANING[e.verdict]}; the "
             "claim's verdict is the most severe of its statements')." if e.status != "error" else
             "**The check raised**; no verdict.", ""]
    for st in e.statements:
        lines += [statement_markdown(st, heading + "#"), ""]
    lines.append("**Evidence.**")
    if html_table:
        lines += ["", evidence_html(e)]
    else:
        lines += ["", markdown_table([c for c, _ in EVIDENCE_COLUMNS], evidence_rows(e))]
        for ev in e.evidence:
            for k, fig in tables_of(ev):
                lines += ["", f"*{ev.id}: {k}*", "", markdown_table(fig.value["columns"],
                                                                    [[c.text() for c in r] for r in table_rows(fig)])]
    if e.error:
        lines += ["", "```", e.error, "```"]
    return "\n".join(lines)


def verdict_counts(entries: list[Entry]) -> str:
    """'N claims: n1 proved, n2 ...' in the order of the verdicts, least severe first."""
    counts = ", ".join(f"{n} {v}" for v in reversed(rule.VERDICTS) if (n := sum(e.verdict == v for e in entries)))
    return f"{len(entries)} claims: {counts}."


def summary_rows(entries: list[Entry]) -> list[list[str]]:
    rows = []
    for e in entries:
        which, figures, thresholds = claim_line(e)
        rows.append([e.id, e.paper_ref, f"**{e.verdict}**" + ("" if e.status == "ok" else f" ({e.status})"),
                     which, figures, thresholds])
    return rows


SUMMARY_COLUMNS = ("claim", "paper", "verdict", "deciding statement", "deciding figure", "threshold")


def claims_table(entries: list[Entry]) -> str:
    """The README's and ledger.md's one-line-per-claim table with the verdict counts."""
    return (verdict_counts(entries) + "\n\n" + markdown_table(SUMMARY_COLUMNS, summary_rows(entries)))


def ledger_markdown(entries: list[Entry]) -> str:
    lines = ["# dsproof claims ledger", "", claims_table(entries), "", "**The verdict rule.** " + rule.RULE, ""]
    lines += [f"- **{v}**: {m}" for v, m in rule.MEANING.items()]
    for e in entries:
        lines += ["", entry_markdown(e)]
    return "\n".join(lines) + "\n"
