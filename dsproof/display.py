"""Notebook display helpers: render theory/ objects as LaTeX and a claim's ledger entry as a table.

The notebooks import these (and theory/, numerics/, dsproof.figures) and define nothing of their own.
"""

from __future__ import annotations

import os
from pathlib import Path

import sympy as sp
from IPython.display import Markdown, Math, display

from theory.terms import Term

from . import ledger, render


def show_expr(name: str, expr, simplify: bool = False) -> None:
    """Display ``name = expr`` as rendered LaTeX."""
    e = sp.simplify(expr) if simplify else expr
    display(Math(f"{name} = {sp.latex(e)}"))


def show_terms(terms: list[Term], simplify: bool = False) -> None:
    """Display each labelled term: stage, source, name = expression, and its note."""
    for t in terms:
        display(Markdown(f"**{t.name}** — stage *{t.stage}*, {t.source}. {t.note}"))
        show_expr(r"\mathrm{" + t.name.replace("_", r"\_").replace(" ", r"\ ") + "}", t.expr, simplify)


def claim_markdown(e: ledger.Entry) -> str:
    """A claim's ledger entry as a notebook shows it: the evidence table in HTML (Markdown tables in Jupyter and
    nbconvert break on an escaped '|' or a line break in a cell), and no timing (the executed notebook is
    committed, and regenerating it must not change it unless a result does)."""
    return render.entry_markdown(e, "###", html_table=True) + ("" if e.status == "ok" else f"\n\n*status {e.status}*")


#: the ledger a notebook shows: ``dsproof check`` / ``dsproof report`` write it (``$DSPROOF_LEDGER`` overrides; the
#: notebooks run with the repository root as working directory)
LEDGER_FILE = Path("reports") / "ledger.json"


def show_claim(claim_id: str) -> ledger.Entry:
    """Display one claim's entry of the ledger ``dsproof check`` wrote (:data:`LEDGER_FILE`), so a notebook shows
    the report's figures; tests/test_reproducible.py checks that the code reproduces that ledger byte for byte."""
    path = Path(os.environ.get("DSPROOF_LEDGER", LEDGER_FILE))
    if not path.exists():
        raise FileNotFoundError(f"{path}: no ledger; run dsproof check first")
    entries = {e.id: e for e in ledger.load(path)}
    if claim_id not in entries:
        raise KeyError(f"claim {claim_id!r} is not in {path}; known: {list(entries)}")
    e = entries[claim_id]
    display(Markdown(claim_markdown(e)))
    if e.status != "ok":
        raise RuntimeError(f"claim {claim_id} is {e.status}: {e.error or 'an evidence item disagreed'}")
    return e


def show_reproduction() -> str | None:
    """Display the saved reproduction results the ledger reads (table and figures); returns the preset name."""
    import matplotlib.pyplot as plt

    from numerics.reproduce import storage

    from . import runs

    found = storage.latest_results()
    if found is None:
        display(Markdown("No reproduction results under `reports/reproduce/`: run `dsproof reproduce --preset cpu`."))
        return None
    name, _ = found
    run = storage.load_run(storage.OUT / name / "results.json")
    display(Markdown((storage.OUT / name / "table.md").read_text()))
    for fn in runs.FIGURES.values():
        fig = fn(run)
        display(fig)
        plt.close(fig)  # or the inline backend shows it a second time at the end of the cell
    return name


def show_scaling_table(T: int = 2) -> None:
    """The attribution ratio of every objective under the three ways of scaling the model with L: exact values and
    the derived leading order, with the ratio over the surrogate's (dsproof.scaling)."""
    from . import scaling

    columns = ["objective", "scaling", "leading order", "exact at L = " + ", ".join(f"{n:,}" for n in scaling.LENGTHS),
               "/ surrogate"]
    rows = [[obj, name, row.leading(), ", ".join(f"{v:.4g}" for v in row.exact.values()),
             "—" if obj == "surrogate" else row.relative()] for (obj, name), row in scaling.table(T).items()]
    display(Markdown(render.markdown_table(columns, rows)))
