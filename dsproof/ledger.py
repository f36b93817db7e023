"""Claims registry and ledger.

paper claim -> ``Claim`` (id, paper_ref, statement, assumptions, a check function) -> the check derives
with theory/, evaluates with numerics/, and returns a verdict and a list of ``Evidence`` -> ledger JSON and
Markdown.  One registry; the CLI, the report and the README table all read it.

``Evidence.passed`` says whether the check agreed with its *own* derivation (symbolic == autograd, MC
within tolerance, counterexample verified two ways).  A paper claim can be refuted with every piece of
evidence passed: that is a finding.  ``passed = False`` is a bug in dsproof, and makes the CLI exit 1.
"""

from __future__ import annotations

import json
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

#: proved: in general (symbolic T and L, or induction); holds-under-assumptions: true under assumptions the claim
#: states; fails-in-stated-setting: a counterexample inside what the paper states; setting-dependent: the paper leaves
#: a choice open and the answer turns on it (the evidence maps where it holds and where not); open: not decided.
#: A counterexample outside what the paper states is not a refutation.
VERDICTS = ("proved", "holds-under-assumptions", "fails-in-stated-setting", "setting-dependent", "open")
#: how far an evidence row reaches: a symbolic proof for every T and L, an induction, a check on some instances, or a
#: number at a stated point
SCOPES = ("general proof", "proof by induction", "instances", "numeric")
_DEFAULT_SCOPE = {"symbolic": "instances", "skipped": "numeric"}


@dataclass
class Evidence:
    kind: str  # symbolic | autograd | monte-carlo | counterexample | numeric | skipped
    description: str
    figure: str  # the number(s) measured, as text
    tolerance: str = ""
    passed: bool = True
    scope: str = ""  # one of SCOPES; defaults from the kind (symbolic -> instances, others -> numeric)

    def __post_init__(self) -> None:
        self.passed = bool(self.passed)  # numpy / torch booleans -> JSON-serialisable
        self.scope = self.scope or _DEFAULT_SCOPE.get(self.kind, "numeric")
        if self.scope not in SCOPES:
            raise ValueError(f"Evidence.scope must be one of {SCOPES}, got {self.scope!r}")


@dataclass
class Outcome:
    """A check's result.  With ``summary`` it makes the claim's *card*: ``deciding`` is the figure the verdict turns
    on, ``threshold`` what that figure is compared with (so a referee can re-derive the figure and decide the same
    way), ``correction`` the statement dsproof proposes in place of the paper's ("" where the paper's stands)."""

    verdict: str
    evidence: list[Evidence]
    summary: str = ""
    deciding: str = ""
    threshold: str = ""
    correction: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")
        if self.verdict != "open" and not (self.deciding and self.threshold):
            raise ValueError(f"a {self.verdict!r} verdict needs its deciding figure and threshold (the claim's card)")
        if self.verdict in ("fails-in-stated-setting", "setting-dependent") and not self.correction:
            raise ValueError(f"a {self.verdict!r} verdict needs the corrected statement dsproof proposes")


@dataclass
class Claim:
    id: str
    paper_ref: str
    statement: str
    assumptions: list[str]
    check: Callable[[], Outcome] = field(repr=False)
    notebook: str = ""


REGISTRY: dict[str, Claim] = {}


def claim(id: str, paper_ref: str, statement: str, assumptions: list[str], notebook: str = ""):
    """Decorator registering a check function as the evidence for one paper claim."""

    def wrap(fn: Callable[[], Outcome]) -> Callable[[], Outcome]:
        if id in REGISTRY:
            raise ValueError(f"claim id {id!r} registered twice")
        REGISTRY[id] = Claim(id, paper_ref, statement, assumptions, fn, notebook)
        return fn

    return wrap


CLAIM_MODULES = ("claims_core", "claims_objectives", "claims_values", "claims_training", "reproduction")  # the ledger's order: paper order by part


def load_all() -> dict[str, Claim]:
    """Import every module that registers claims; the claims in CLAIM_MODULES order (then any others), whatever
    order the modules happened to be imported in."""
    import importlib

    for m in CLAIM_MODULES:
        importlib.import_module(f"{__package__}.{m}")
    rank = {f"{__package__}.{m}": i for i, m in enumerate(CLAIM_MODULES)}
    return dict(sorted(REGISTRY.items(), key=lambda kv: rank.get(kv[1].check.__module__, len(rank))))


@dataclass
class Entry:
    id: str
    paper_ref: str
    statement: str
    assumptions: list[str]
    verdict: str
    summary: str
    evidence: list[Evidence]
    status: str  # ok | inconsistent (an evidence failed) | error (the check raised)
    seconds: float = 0.0  # this run's wall time: for the terminal only, never written (see RUN_ONLY_FIELDS)
    notebook: str = ""
    error: str = ""
    deciding: str = ""
    threshold: str = ""
    correction: str = ""


def run_claim(c: Claim) -> Entry:
    t0 = time.perf_counter()
    try:
        out = c.check()
        status = "ok" if all(e.passed for e in out.evidence) else "inconsistent"
        return Entry(c.id, c.paper_ref, c.statement, c.assumptions, out.verdict, out.summary, out.evidence,
                     status, time.perf_counter() - t0, c.notebook, deciding=out.deciding, threshold=out.threshold,
                     correction=out.correction)
    except Exception as exc:  # reported in the ledger, and the CLI exits non-zero
        return Entry(c.id, c.paper_ref, c.statement, c.assumptions, "open", "the check could not run", [],
                     "error", time.perf_counter() - t0, c.notebook,
                     f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=4)}")


#: Entry fields that describe one run rather than the claim (timings): the CLI prints them; the ledger files, the
#: report and the notebooks never contain them, so regenerating any of them changes nothing unless a result does.
RUN_ONLY_FIELDS = ("seconds",)


def to_json(entries: list[Entry]) -> str:
    return json.dumps({"claims": [{k: v for k, v in asdict(e).items() if k not in RUN_ONLY_FIELDS}
                                  for e in entries]}, indent=2)


def spread(values) -> str:
    """A figure over draws or settings: its median and 5-95% range."""
    import numpy as np

    lo, med, hi = np.percentile(np.asarray(values, float), [5, 50, 95])
    return f"median {med:.2f} (5-95% [{lo:.2f}, {hi:.2f}])"


def _cell(text: str) -> str:
    """A Markdown table cell: '|' (conditional probabilities, absolute values) escaped so the row stays one row."""
    return str(text).replace("|", "\\|")


#: the evidence tables' columns and what each says (the HTML tables show it on hover over the header)
EVIDENCE_COLUMNS = (
    ("evidence", "how the row was checked: symbolic, autograd, enumeration, Monte Carlo, a counterexample, ..."),
    ("scope", "how far the row reaches: a general proof, an induction, some instances, or a number at a stated point"),
    ("what", "what was computed, and in which setting"), ("figure", "the result"),
    ("tolerance", "what counts as agreement"),
    ("consistent", "whether the check agreed with its own independent derivation within the tolerance: dsproof's "
                   "computation is right. It does not say the paper's claim holds; the verdict does"))


def markdown_table_html(text: str) -> str | None:
    """A figure that is a Markdown table (the per-seed and per-recipe tables of sec4-empirical) as an HTML table with
    escaped cells and **bold** kept; None for any other text."""
    import html
    import re

    lines = text.strip().split("\n")
    if len(lines) < 2 or not all(line.startswith("|") and line.endswith("|") for line in lines) \
            or not re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", lines[1]):
        return None

    def bold(cell: str) -> str:
        return re.sub(r"[*][*](.+?)[*][*]", r"<b>\1</b>", html.escape(cell.strip()))

    def cells(line: str, tag: str) -> str:
        return "".join(f"<{tag}>{bold(c)}</{tag}>" for c in line[1:-1].split("|"))

    rows = [f"<tr>{cells(lines[0], 'th')}</tr>"] + [f"<tr>{cells(line, 'td')}</tr>" for line in lines[2:]]
    return '<table class="figure-table">' + "".join(rows) + "</table>"


def evidence_html(e: Entry) -> str:
    """The claim's evidence table as one HTML block with no blank line (Markdown passes it through as it is): the
    cells are escaped, so no '|', backslash or line break in them can turn the table into a paragraph of text."""
    import html

    def cell(text) -> str:
        table = markdown_table_html(str(text))
        return table if table is not None else html.escape(str(text)).replace("\n", "<br>")

    head = "".join(f'<th title="{cell(tip)}">{name}</th>' for name, tip in EVIDENCE_COLUMNS)
    rows = ["<tr>" + "".join(f"<td>{cell(c)}</td>" for c in (ev.kind, ev.scope, ev.description, ev.figure,
                                                            ev.tolerance))
            + ("<td>yes</td>" if ev.passed else '<td><strong class="bad">NO</strong></td>') + "</tr>"
            for ev in e.evidence]
    return "\n".join(['<table class="evidence">', f"<tr>{head}</tr>", *rows, "</table>"])


def entry_markdown(e: Entry, heading: str = "##", html_table: bool = False) -> str:
    """One claim's ledger section: statement, verdict, assumptions, evidence table (the notebooks and ledger.md use
    this).  ``html_table``: the evidence table as HTML (:func:`evidence_html`), for renderers whose Markdown tables
    break on escaped pipes or line breaks (Jupyter, nbconvert); otherwise a Markdown table (ledger.md, GitHub)."""
    lines = [f"{heading} {e.id} — {e.paper_ref}", "", f"**Statement.** {e.statement}", "",
             f"**Verdict: {e.verdict}.** {e.summary}", ""]
    lines += card_lines(e) + ["**Assumptions.**"]
    lines += [f"- {a}" for a in e.assumptions]
    if html_table:
        lines += ["", evidence_html(e)]
    else:
        lines += ["", "| evidence | scope | what | figure | tolerance | consistent |", "|---|---|---|---|---|---|"]
        lines += [f"| {ev.kind} | {ev.scope} | {_cell(ev.description)} | {_cell(ev.figure)} | {_cell(ev.tolerance)} | "
                  f"{'yes' if ev.passed else 'NO'} |" for ev in e.evidence]
    if e.error:
        lines += ["", "```", e.error, "```"]
    return "\n".join(lines)


def card_lines(e: Entry) -> list[str]:
    """The claim's card below its verdict: the deciding figure against its threshold, and the correction."""
    lines = []
    if e.deciding:
        lines += [f"**Deciding figure.** {e.deciding} (threshold: {e.threshold})", ""]
    if e.correction:
        lines += [f"**Corrected statement.** {e.correction}", ""]
    return lines


def corrections(entries: list[Entry]) -> list[tuple[str, str]]:
    """(claim id, corrected statement) for every claim whose statement dsproof proposes to correct."""
    return [(e.id, e.correction) for e in entries if e.correction]


def verdict_counts(entries: list[Entry]) -> str:
    """'N claims: n1 proved, n2 ...' in the order of VERDICTS (the line the ledger and the README open with)."""
    counts = ", ".join(f"{n} {v}" for v in VERDICTS if (n := sum(e.verdict == v for e in entries)))
    return f"{len(entries)} claims: {counts}."


def to_markdown(entries: list[Entry]) -> str:
    lines = ["# dsproof claims ledger", "", verdict_counts(entries), ""]
    if fixes := corrections(entries):
        lines += ["**Proposed corrections.**", ""] + [f"- **{i}**: {_cell(c)}" for i, c in fixes] + [""]
    lines += ["| id | paper | verdict | status | summary |", "|---|---|---|---|---|"]
    for e in entries:
        lines.append(f"| {e.id} | {_cell(e.paper_ref)} | **{e.verdict}** | {e.status} | {_cell(e.summary)} |")
    for e in entries:
        lines += ["", entry_markdown(e)]
    return "\n".join(lines) + "\n"


def load(path: Path) -> list[Entry]:
    """Entries from a ledger.json written by :func:`write` (older ledgers that still carry ``seconds`` load too)."""
    data = json.loads(Path(path).read_text())
    return [Entry(**{**c, "evidence": [Evidence(**ev) for ev in c["evidence"]]}) for c in data["claims"]]


def merge(old: list[Entry], new: list[Entry], order: list[str]) -> list[Entry]:
    """The ledger after re-running some claims: ``new`` replaces the entries of the same id in ``old``, the others
    are kept, all in ``order`` (the registry's); entries whose id is not in ``order`` (claims no longer
    registered) are dropped."""
    by_id = {e.id: e for e in old} | {e.id: e for e in new}
    return [by_id[i] for i in order if i in by_id]


def write(entries: list[Entry], out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    pj, pm = out_dir / "ledger.json", out_dir / "ledger.md"
    pj.write_text(to_json(entries))
    pm.write_text(to_markdown(entries))
    return pj, pm
