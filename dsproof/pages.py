"""HTML pages from the ledger's data, through Jinja2 templates (dsproof/templates/): the reviewer page
(reports/index.html) and a page per reproduction run (reports/reproduce/<run>/index.html).  Mathematics written
$...$ in any text is rendered as MathML (Chromium, Firefox and Safari draw MathML Core natively), through one
converter (latex2mathml)."""

from __future__ import annotations

import functools
import html
import re
from pathlib import Path

import jinja2
from markupsafe import Markup

from . import glossary, render
from . import verdict as rule
from .ledger import Entry
from .model import Evidence, Figure, Statement, table_rows

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: $...$ inline mathematics (no $ or newline inside)
_MATH = re.compile(r"\$([^$\n]+)\$")


@functools.lru_cache(maxsize=None)
def mathml(latex: str, display: str = "inline") -> str | None:
    """One LaTeX formula as a MathML element (``display``: 'inline' or 'block'); None where the converter cannot
    read it (a syntax error, or a command it does not know, which it would otherwise print as text)."""
    from latex2mathml import exceptions
    from latex2mathml.converter import convert

    errors = tuple(v for v in vars(exceptions).values() if isinstance(v, type) and issubclass(v, Exception))
    try:
        out = convert(latex, display=display)
    except errors + (IndexError, KeyError, ValueError):  # malformed input can also surface as these
        return None
    return None if "<mi>\\" in out else out


def math_html(text) -> Markup:
    """Text with its $...$ formulas as MathML and everything else escaped; a formula the converter cannot read is
    shown as its source."""
    text = str(text)
    out, pos = [], 0
    for m in _MATH.finditer(text):
        out.append(html.escape(text[pos:m.start()]))
        out.append(mathml(m.group(1)) or html.escape(m.group(0)))
        pos = m.end()
    out.append(html.escape(text[pos:]))
    return Markup("".join(out))


SOURCE_TEXT = {"quoted": "quoted", "summary": "the paper's formula or a summary of its text",
               "reconstruction": "a reconstruction: the paper does not say it in these words",
               "unavailable": "text not available"}


def evidence_table(e: Entry) -> dict:
    """The evidence table without its constant columns: (columns, rows of cells, tables of the rows), the cells as
    Markup."""
    columns = [c for c, _ in render.EVIDENCE_COLUMNS]
    rows = render.evidence_rows(e)
    keep = [i for i, c in enumerate(columns) if c in ("id", "what", "values")
            or len({r[i] for r in rows}) > 1]
    out_rows = []
    for ev, r in zip(e.evidence, rows):
        cells = [math_html(r[i]) for i in keep]
        tables = [(k, fig.value["columns"], [[c.text() for c in row] for row in table_rows(fig)])
                  for k, fig in render.tables_of(ev)]
        out_rows.append(dict(cells=cells, failed=ev.passed is False, tables=tables))
    return dict(columns=[columns[i] for i in keep],
                tips=[dict(render.EVIDENCE_COLUMNS)[columns[i]] for i in keep], rows=out_rows,
                checks=sum(ev.role == "check" for ev in e.evidence),
                failed=sum(ev.passed is False for ev in e.evidence))


def statement_view(st: Statement) -> dict:
    """What a card shows of a statement."""
    outcomes = []
    for o in st.outcomes:
        outcomes.append(dict(label=o.label() + ("" if o.settings == 1 else f" ({o.settings:,} settings)"),
                             shown=render.values_text(o.values), met=render.met_text(o.met), inside=o.inside,
                             scope=o.scope, note=o.note))
    return dict(id=st.id, short=st.id.split("/", 1)[1], verdict=st.verdict, words=st.words, location=st.location,
                source=SOURCE_TEXT[st.source], setting=st.setting, choices=", ".join(st.open_choices) or "none",
                model=st.model, quantity=st.quantity, threshold=st.threshold.text,
                predicate=" and ".join(c.text() for c in st.threshold.conditions), headline=render.headline(st),
                outcomes=outcomes, correction=st.correction, note=st.note)


def environment_jinja() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True,
                             lstrip_blocks=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["m"] = math_html
    env.filters["figure"] = lambda f: f.text() if isinstance(f, Figure) else str(f)
    return env


def index(entries: list[Entry], figures: dict, notebook_pages: dict[str, str], runs: list[dict], formal: dict,
          env: dict[str, str], skipped: list[tuple[str, str]], commit: str, dirty: str) -> str:
    """reports/index.html.  ``figures``: claim id -> [(name, relative path, caption)]; ``notebook_pages``: notebook
    name -> relative path; ``runs``: the reproduction runs' rows; ``formal``: the machine-checked section's data."""
    claims = []
    for e in entries:
        which, headline, threshold = render.claim_line(e)
        claims.append(dict(id=e.id, paper_ref=e.paper_ref, verdict=e.verdict, status=e.status, error=e.error,
                           deciding=which, headline=headline, threshold=threshold,
                           statements=[statement_view(st) for st in e.statements], evidence=evidence_table(e),
                           figures=figures.get(e.id, []), notebook=notebook_pages.get(e.notebook), notebook_name=e.notebook))
    counts = [(v, sum(e.verdict == v for e in entries)) for v in reversed(rule.VERDICTS)]
    terms = sorted(glossary.GLOSSARY.items(), key=lambda kv: kv[0].lower())
    figure_index = [(name, caption, claim) for claim, figs in figures.items() for name, _, caption in figs]
    seen, unique = set(), []
    for name, caption, claim in figure_index:
        if name not in seen:
            seen.add(name)
            unique.append(dict(name=name, caption=caption, claims=[c for c, fs in figures.items()
                                                                   if any(f[0] == name for f in fs)]))
    return environment_jinja().get_template("index.html.j2").render(
        claims=claims, counts=[(v, n) for v, n in counts if n], total=len(entries), rule=rule.RULE,
        meanings=rule.MEANING, glossary=terms, figure_index=unique, notebooks=notebook_pages, runs=runs,
        formal=formal, env=env, skipped=skipped, commit=commit, dirty=dirty,
        bad=[e.id for e in entries if e.status != "ok"], arxiv="https://arxiv.org/abs/2601.01580")


def run_page(name: str, data: dict, figures: list[tuple[str, str]]) -> str:
    """reports/reproduce/<run>/index.html: the run's description, its table and figures.  ``figures``: (file,
    caption)."""
    rows = data.get("table", [])
    columns = list(rows[0]) if rows else []
    return environment_jinja().get_template("run.html.j2").render(
        name=name, description=data.get("description", ""), preset=data.get("preset", {}), columns=columns,
        rows=[[str(r[c]) for c in columns] for r in rows], figures=figures)
