"""`dsproof report`: the reviewer page from the ledger's data, its run pages and figures, and its layout measured in
headless Chromium at 1400 x 900 (every <details> closed): at most 12 screens, nothing past the window's width, each
claim's plot in its card, every term of art in the glossary."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import torch

from dsproof import glossary, ledger, pages, render, report
from dsproof.cli import main

from . import browser

ROOT = Path(__file__).resolve().parent.parent
#: the committed reproduction runs the built report holds: one of each proxy
REPORTED_RUNS = ("cpu", "cpu-cot")
MAX_SCREENS = 12


@pytest.fixture(scope="module")
def built_report(tmp_path_factory):
    """The report built from the committed ledger, notebook pages and two reproduction runs (the notebooks are
    executed afresh by tests/test_notebooks.py, which also checks the committed pages are current; the Coq library is
    rebuilt by tests/test_formal.py)."""
    out = tmp_path_factory.mktemp("built") / "reports"
    shutil.copytree(ROOT / "reports" / "notebooks", out / "notebooks")
    for name in REPORTED_RUNS:  # the report redraws their figures (1-2 s a run: two runs, not every seed)
        (out / "reproduce" / name).mkdir(parents=True)
        shutil.copy(ROOT / "reports" / "reproduce" / name / "results.json", out / "reproduce" / name / "results.json")
    rc = main(["report", "--out", str(out), "--ledger", str(ROOT / "reports" / "ledger.json"), "--skip-notebooks",
               "--skip-formal", "--quiet"])
    assert rc == 0
    return out


def test_report_contents(built_report):
    page = (built_report / "index.html").read_text()
    entries = ledger.load(ROOT / "reports" / "ledger.json")
    for e in entries:
        assert f'<article class="card" id="{e.id}"' in page and e.verdict in page
        assert f'notebooks/{e.notebook}.html#{e.id}"' in page, f"{e.id}: no link to its notebook section"
        target = (built_report / "notebooks" / f"{e.notebook}.html").read_text()
        assert f'id="{e.id}"' in target, f"{e.id}: the notebook page has no such anchor"
        for st in e.statements:
            assert f'id="{st.id}"' in page, st.id
            if st.correction:
                assert str(pages.math_html(st.correction)) in page, f"{st.id}: correction not in its card"
            for o in st.outcomes:  # each outcome's figures, as render writes them
                assert str(pages.math_html(render.values_text(o.values))) in page, f"{st.id}: {o.label()} values"
    # no Python object's repr leaks into the page (a template reading a dict's key that is also a method name)
    assert "<built-in method" not in page and not re.search(r" object at 0x[0-9a-f]+", page)
    assert "Corrected:" not in page[:page.index('<h2 id="claims">')], "corrections belong in the cards"
    assert 'id="glossary"' in page and 'id="rule"' in page
    assert "Environment" in page and torch.__version__ in page
    assert "Skipped here, and why" in page
    if not torch.cuda.is_available():
        assert "no CUDA device" in page and "h100 and h100-cot" in page


def test_first_screen_answers_the_referee(built_report):
    """Right after the header: the verdict counts and one row per claim with its verdict, its deciding figure and
    its threshold, in ledger order."""
    page = (built_report / "index.html").read_text()
    entries = ledger.load(ROOT / "reports" / "ledger.json")
    table = page[page.index('<table class="summary'):page.index("</table>")]
    rows = re.findall(r'<tr><td><a href="#([^"]+)">', table)
    assert rows == [e.id for e in entries]
    for e in entries:
        row = table[table.index(f'href="#{e.id}"'):]
        row = row[:row.index("</tr>")]
        assert f"v-{e.verdict}" in row and "<td>" in row
    counts = page[page.index('id="verdicts"'):page.index('<table class="summary')]
    assert f"{len(entries)} claims:" in counts


def test_report_carries_no_timing_or_timestamp(built_report):
    """index.html is committed: regenerating it must change nothing unless a result does (no run seconds, no
    generation time, nothing of the machine but what its kind shares)."""
    page = (built_report / "index.html").read_text()
    assert not re.search(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}", page), "a timestamp in the report"
    env = report.environment()
    assert "generated" not in env and env["platform"].count(" ") == 1 and env["python"].count(".") == 1


def test_report_figures_are_not_blank(built_report):
    figs = sorted((built_report / "figures").glob("*.png"))
    assert len(figs) >= 3
    assert not [f.name for f in figs if report.image_is_blank(f)]


def test_blank_check_detects_an_empty_image(tmp_path):
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(2, 2))
    fig.savefig(tmp_path / "blank.png")
    plt.close(fig)
    assert report.image_is_blank(tmp_path / "blank.png")


def test_run_pages(built_report):
    """Every run is an HTML page (its table and figures), linked from the report's runs table."""
    page = (built_report / "index.html").read_text()
    for name in REPORTED_RUNS:
        run = built_report / "reproduce" / name / "index.html"
        assert f'href="reproduce/{name}/index.html"' in page
        text = run.read_text()
        assert "<table" in text and text.count("<img") == 3 and "../../index.html" in text
        assert not report.raw_tables(text)


def test_math_renders_as_mathml():
    assert "<math" in str(pages.math_html("a $p_s^2$ b")) and "&lt;b&gt;" in str(pages.math_html("<b>"))
    assert str(pages.math_html("$\\notacommand$")) == "$\\notacommand$"  # unreadable: shown as its source
    for e in ledger.load(ROOT / "reports" / "ledger.json"):
        for st in e.statements:
            for field in ("words", "setting", "quantity", "model", "correction", "note"):
                for m in re.finditer(r"\$([^$\n]+)\$", getattr(st, field)):
                    assert pages.mathml(m.group(1)) is not None, (st.id, field, m.group(0))


def test_report_layout_in_headless_chromium(built_report, tmp_path):
    """The index at 1400 x 900 with every <details> closed: at most MAX_SCREENS screens, no element past the
    window's width, each claim that has a plot shows it (loaded) in its card, and every term of art on the page
    (dsproof.glossary.JARGON) is defined in the glossary."""
    browser.need_chromium()
    m = browser.measure(built_report / "index.html", tmp_path / "profile")
    assert m["width"] == browser.WIDTH
    assert m["height"] <= MAX_SCREENS * browser.HEIGHT, f"{m['height'] / browser.HEIGHT:.1f} screens"
    assert m["n_over"] == 0, f"{m['n_over']} elements past the window: {m['over'][:8]}"
    from dsproof import figures

    for card in m["cards"]:
        want = [s.name for s in figures.figures_of(card["id"])]
        assert card["figures"] == want and card["images"] == len(want), card
    assert set(m["glossary"]) == set(glossary.GLOSSARY)
    undefined = sorted(t for t in glossary.terms_in(m["text"]) if not glossary.defined(t))
    assert not undefined, f"terms used but not in the glossary: {undefined}"


@pytest.mark.parametrize("page", ["notebooks/01_factorisation.html", "notebooks/03_kl.html",
                                  "notebooks/07_reproduction.html", "reproduce/cpu/index.html"])
def test_other_pages_fit_the_window(built_report, tmp_path, page):
    """The notebook and run pages in the same window: nothing past its width, and their equations and tables are
    there."""
    browser.need_chromium()
    m = browser.measure(built_report / page, tmp_path / "profile")
    assert m["n_over"] == 0, f"{page}: {m['n_over']} elements past the window: {m['over'][:8]}"
    assert m["height"] > browser.HEIGHT


def test_the_layout_check_can_fail(tmp_path):
    """The browser measurement sees an element wider than the window and a page longer than the limit."""
    browser.need_chromium()
    page = tmp_path / "wide.html"
    page.write_text('<!doctype html><html><body><div style="width: 3000px; height: 20000px">x</div></body></html>')
    m = browser.measure(page, tmp_path / "profile")
    assert m["n_over"] >= 1 and m["height"] > MAX_SCREENS * browser.HEIGHT


def test_metrics_figure_is_legible_at_page_width():
    """A run's metrics figure as saved (80 dpi) fits a 1100 px column without shrinking; panels in rows, each with a
    title, the bottom row an x label, the left column a y label."""
    from dsproof import runs
    from numerics.reproduce import storage

    run = storage.load_run(ROOT / "reports" / "reproduce" / "cpu" / "results.json")
    fig = runs.figure_metrics(run)
    try:
        width_px = fig.get_figwidth() * 80
        axes = fig.axes
        assert width_px <= 1100 and len(axes) == len(runs.METRIC_PANELS)
        assert all(ax.get_title() for ax in axes)
        rows = sorted({round(ax.get_position().y0, 3) for ax in axes})
        assert len(rows) >= 2, "all panels in one row"
        assert all(ax.get_position().width * width_px >= 250 for ax in axes), "panels narrower than 250 px"
        assert all(ax.get_xlabel() for ax in axes if round(ax.get_position().y0, 3) == rows[0])
        assert all(ax.get_ylabel() for ax in axes if ax.get_position().x0 < 0.15)
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)


def test_a_table_in_an_evidence_row_is_an_html_table():
    """The per-seed and per-recipe tables of sec4-empirical are tables on the page, cells escaped; raw_tables finds
    a Markdown table left as text in a cell."""
    import html

    from dsproof.model import record, table

    row = record("t", "numeric", "a table", {"per recipe": table(["recipe", "share"], [["masked", "91%"], ["a<b", "-"]])})
    e = ledger.Entry("x", "", [], [row], "open", "ok")
    view = pages.evidence_table(e)
    name, columns, rows = view["rows"][0]["tables"][0]
    assert (name, columns, rows) == ("per recipe", ["recipe", "share"], [["masked", "91%"], ["a<b", "-"]])
    text = "| recipe | share |\n|---|---|\n| masked | 91% |"
    assert report.raw_tables("<table><tr><td>" + html.escape(text).replace("\n", "<br>") + "</td></tr></table>")
