"""`dsproof report`: the HTML page, its links and figures, and a render in headless Chromium."""

from __future__ import annotations

import html
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

from dsproof import ledger, report
from dsproof.cli import main

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-dev-shm-usage",
                  "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]


#: the committed reproduction runs the built report holds: one of each proxy
REPORTED_RUNS = ("cpu", "cpu-cot")


@pytest.fixture(scope="module")
def built_report(tmp_path_factory):
    """The report built from the committed ledger, notebook pages and two reproduction runs (the notebooks are
    executed afresh by tests/test_notebooks.py, which also checks the committed pages are current)."""
    out = tmp_path_factory.mktemp("built") / "reports"
    shutil.copytree(ROOT / "reports" / "notebooks", out / "notebooks")
    for name in REPORTED_RUNS:  # the report redraws their figures (1-2 s a run: two runs, not every seed)
        (out / "reproduce" / name).mkdir(parents=True)
        shutil.copy(ROOT / "reports" / "reproduce" / name / "results.json", out / "reproduce" / name / "results.json")
    rc = main(["report", "--out", str(out), "--ledger", str(ROOT / "reports" / "ledger.json"), "--skip-notebooks",
               "--quiet"])
    assert rc == 0
    return out


def test_report_contents(built_report):
    page = (built_report / "index.html").read_text()
    entries = ledger.load(ROOT / "reports" / "ledger.json")
    for e in entries:
        assert f'id="{e.id}"' in page and e.verdict in page
        assert f'notebooks/{e.notebook}.html#{e.id}"' in page, f"{e.id}: no link to its notebook section"
        target = (built_report / "notebooks" / f"{e.notebook}.html").read_text()
        assert f'id="{e.id}"' in target, f"{e.id}: the notebook page has no such anchor"
        if e.deciding:
            assert html.escape(e.deciding) in page, f"{e.id}: the card's deciding figure is not on the page"
        if e.correction:
            assert page.count(html.escape(e.correction)) == 2, f"{e.id}: correction not at the top and in the card"
    assert page.index("Corrections dsproof proposes") < page.index('id="ledger"'), "the page opens with the corrections"
    assert "Environment" in page and torch.__version__ in page
    assert "Skipped here, and why" in page
    if not torch.cuda.is_available():
        assert "no CUDA device" in page


def test_report_carries_no_timing_or_timestamp(built_report):
    """index.html is committed: regenerating it must change nothing unless a result does (no run seconds per claim,
    no generation time)."""
    import re

    page = (built_report / "index.html").read_text()
    assert not re.search(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}", page), "a timestamp in the report"
    assert not re.search(r"&middot; \d+\.\d s<", page), "a claim's run time in the report"
    assert "generated" not in report.environment()


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


def _need_chromium():
    if CHROMIUM is None:
        if os.environ.get("DSPROOF_REQUIRE_CHROMIUM") == "1":
            pytest.fail("DSPROOF_REQUIRE_CHROMIUM=1 but no chromium on PATH")
        pytest.skip("no chromium on PATH (apt-get install chromium; .ci/run installs it)")


#: the pages the render test opens in Chromium: (path under the report, window size, what the page must show)
BROWSER_PAGES = (("index.html", "1280,2400", ("Claims ledger", "Contents", "Environment")),
                 ("notebooks/01_factorisation.html", "1100,9000", ('class="evidence"', 'class="eq"', 'class="matrix"')),
                 ("notebooks/03_kl.html", "1100,9000", ('class="evidence"', 'class="eq"')),
                 ("notebooks/07_reproduction.html", "1100,6000", ('class="evidence"', 'class="eq"')))


def test_report_renders_in_headless_chromium(built_report, tmp_path):
    """The index and notebook pages 01, 03, 07 in headless Chromium: the DOM Chromium builds holds the expected
    sections, drawn equations, matrices and evidence tables, and no Markdown table left as text; a screenshot of
    each (under tmp_path; DSPROOF_SCREENSHOTS=DIR keeps a copy) is not blank."""
    _need_chromium()
    shots = tmp_path / "screenshots"
    shots.mkdir()
    for i, (page, size, expected) in enumerate(BROWSER_PAGES):
        url = (built_report / page).as_uri()
        base = [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / f'profile{i}'}"]  # fresh profile per run
        shot = shots / (Path(page).stem + ".png")
        dom = subprocess.run([*base, f"--window-size={size}", f"--screenshot={shot}", "--dump-dom", url],
                             capture_output=True, text=True, timeout=120, check=True).stdout
        assert all(x in dom for x in expected), f"{page}: {[x for x in expected if x not in dom]} missing"
        assert not report.raw_tables(dom), f"{page}: raw Markdown tables {report.raw_tables(dom)[:2]}"
        assert dom.count("<img") >= 3, page
        assert shot.exists() and not report.image_is_blank(shot, min_fraction=0.05), page
    if os.environ.get("DSPROOF_SCREENSHOTS"):
        shutil.copytree(shots, os.environ["DSPROOF_SCREENSHOTS"], dirs_exist_ok=True)


def _index_page(tmp_path=None) -> str:
    """index.html rendered from the committed ledger and reproduction results (no figures drawn, no notebooks)."""
    entries = ledger.load(ROOT / "reports" / "ledger.json")
    reproduction = report.load_reproduction(ROOT / "reports")
    figs = [("figure1", "figures/figure1.png", "a caption")]
    env = {"dsproof code commit": "abc1234", "uncommitted code changes": "no", "torch": torch.__version__}
    return report.render(entries, figs, {"01_factorisation": "notebooks/01_factorisation.html"}, reproduction, env,
                         report.skipped_checks(entries, reproduction))


def test_index_reads_as_a_document():
    """Contents linking every section and claim; the arXiv link; the commit and dirty flag at the top; the
    evidence columns defined; the claim details straight after the ledger, the reproduction (with its per-seed
    tables) after them; a caption on every figure."""
    import re

    page = _index_page()
    entries = ledger.load(ROOT / "reports" / "ledger.json")
    toc = page[page.index('<nav class="toc">'):page.index("</nav>")]
    for anchor, title in report.SECTIONS:
        assert f'href="#{anchor}"' in toc and f'<h2 id="{anchor}">' in page, anchor
    assert all(f'href="#{e.id}"' in toc for e in entries)
    assert '<a href="https://arxiv.org/abs/2601.01580">' in page
    top = page[:page.index('<nav class="toc">')]
    assert "abc1234" in top and "uncommitted code changes: no" in top
    assert "<b>consistent</b>: whether the check agreed" in page
    order = [page.index(f'<h2 id="{a}">') for a in ("ledger", "claims", "reproduction")]
    assert order == sorted(order)
    assert page.index(f'id="{entries[-1].id}"') < page.index('<h2 id="reproduction">') < page.index("<h3>Preset")
    figures = re.findall(r"<figure>.*?</figure>", page, re.S)
    assert len(figures) > 1 and all(re.search(r"<figcaption><b>[^<]+</b> \S", f) for f in figures), \
        [f[:120] for f in figures if "<figcaption>" not in f]
    assert not report.raw_tables(page)


def test_reproduction_shows_each_presets_run_and_links_the_others():
    """One section (table, figures) per preset's own run; every other seed or recipe a row linking its folder."""
    import re

    from numerics.reproduce import PRESETS

    runs = report.load_reproduction(ROOT / "reports")
    page = report.reproduction_html(runs)
    sections = re.findall(r"<h3>Preset <code>([^<]+)</code>", page)
    assert sections == [name for name in runs if name in PRESETS] and "cpu" in sections and "cpu-cot" in sections
    others = [name for name in runs if name not in PRESETS]
    assert len(others) >= 14 and f"Other seeds and recipes ({len(others)} runs)" in page
    assert all(page.count(f'href="reproduce/{name}/table.md"') == 1 for name in others)
    assert all((ROOT / "reports" / "reproduce" / name / "table.md").exists() for name in others)


def test_metrics_figure_is_legible_at_page_width():
    """The reproduction's metrics figure as saved (80 dpi) fits the report's 1100 px column without shrinking;
    panels in rows, each with a title, the bottom row an x label, the left column a y label."""
    from dsproof import reproduction

    run = reproduction.load_run(ROOT / "reports" / "reproduce" / "cpu" / "results.json")
    fig = reproduction.figure_metrics(run)
    try:
        width_px = fig.get_figwidth() * 80
        axes = fig.axes
        assert width_px <= 1100 and len(axes) == len(reproduction.METRIC_PANELS)
        assert all(ax.get_title() for ax in axes)
        rows = sorted({round(ax.get_position().y0, 3) for ax in axes})
        assert len(rows) >= 2, "all panels in one row"
        assert all(ax.get_position().width * width_px >= 250 for ax in axes), "panels narrower than 250 px"
        assert all(ax.get_xlabel() for ax in axes if round(ax.get_position().y0, 3) == rows[0])
        assert all(ax.get_ylabel() for ax in axes if ax.get_position().x0 < 0.15)
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)


def test_a_markdown_table_in_an_evidence_figure_is_drawn_as_a_table():
    """The per-seed and per-recipe tables of sec4-empirical are Markdown in the ledger: on the pages they are HTML
    tables (bold kept, cells escaped), and raw_tables finds one left as text in a table cell."""
    figure = "| recipe | share |\n|---|---|\n| **masked** | 91% |\n| a<b | - |"
    e = ledger.Entry(id="x", paper_ref="", statement="", verdict="open", status="ok", summary="", assumptions=[],
                     evidence=[ledger.Evidence("numeric", "a table", figure, "")])
    page = ledger.evidence_html(e)
    assert ('<table class="figure-table"><tr><th>recipe</th><th>share</th></tr><tr><td><b>masked</b></td><td>91%</td>'
            "</tr><tr><td>a&lt;b</td><td>-</td></tr></table>") in page
    assert not report.raw_tables(page)
    assert report.raw_tables("<table><tr><td>" + html.escape(figure).replace("\n", "<br>") + "</td></tr></table>")
    assert ledger.markdown_table_html("a | b\n|---|") is None and ledger.markdown_table_html("| a |") is None
