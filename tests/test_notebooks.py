"""The derivation notebooks: import-only sources, executed here (so they cannot rot), committed executed copies
kept in step with their sources, one anchored section per claim."""

from __future__ import annotations

import ast
import re

import nbformat
import pytest

from dsproof import ledger, notebooks

ROOT = notebooks.ROOT

ALLOWED_IMPORTS = ("theory", "numerics", "dsproof", "sympy", "numpy")


def _code_sources(nb) -> list[str]:
    return [c.source.strip() for c in nb.cells if c.cell_type == "code"]


@pytest.mark.parametrize("src", notebooks.sources(), ids=lambda p: p.stem)
def test_notebook_source_defines_nothing(src):
    tree = ast.parse(src.read_text())
    defs = [type(n).__name__ for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                                           ast.ClassDef, ast.Lambda))]
    assert not defs, f"{src.name} defines {defs}: derivations belong in theory/ or numerics/"
    mods = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    mods += [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert all(m.split(".")[0] in ALLOWED_IMPORTS for m in mods), f"{src.name} imports {mods}"


def test_notebooks_execute_cleanly(rendered_notebooks):
    assert set(rendered_notebooks) == {p.stem for p in notebooks.sources()}
    for name, r in rendered_notebooks.items():
        outs = [o for c in r["notebook"].cells if c.cell_type == "code" for o in c.outputs]
        assert not [o for o in outs if o.output_type == "error"], name
        mimes = {m for o in outs for m in o.get("data", {})}
        assert "text/latex" in mimes, f"{name} renders no equation"
        assert "text/markdown" in mimes, f"{name} shows no claim"
        assert r["html"].stat().st_size > 2000


@pytest.mark.parametrize("name", ["03_kl", "05_toy_model", "06_calibration"])
def test_notebook_figures(rendered_notebooks, name):
    outs = [o for c in rendered_notebooks[name]["notebook"].cells if c.cell_type == "code" for o in c.outputs]
    assert any("image/png" in o.get("data", {}) for o in outs), f"{name} has no figure output"


def test_committed_executed_notebooks_match_sources(rendered_notebooks):
    """The committed notebooks/NN.ipynb (rendered outputs for reading without running) hold the same code as the
    .py sources and were executed (regenerate with `dsproof report`)."""
    for name, r in rendered_notebooks.items():
        path = notebooks.SOURCE_DIR / f"{name}.ipynb"
        assert path.exists(), f"{path} missing: run `dsproof report`"
        committed = nbformat.read(path, as_version=4)
        assert _code_sources(committed) == _code_sources(r["notebook"]), f"{path} is stale: run `dsproof report`"
        assert all(c.execution_count for c in committed.cells if c.cell_type == "code"), f"{path} not executed"


def test_committed_notebook_pages_are_current(rendered_notebooks):
    """The committed reports/notebooks/NN.html (the pages the report links, and builds from in tests/test_report.py)
    are what a fresh execution renders: the same text, equations and numbers, and as many images (the images'
    bytes are compared by count only, so a PNG encoder's version does not fail the check)."""
    def text(page: str) -> tuple[str, int]:
        return re.subn(r"data:image/png;base64,[A-Za-z0-9+/=]+", "IMG", page)

    for name, r in rendered_notebooks.items():
        path = ROOT / "reports" / "notebooks" / f"{name}.html"
        assert path.exists(), f"{path} missing: run `dsproof report`"
        assert text(path.read_text()) == text(r["html"].read_text()), f"{path} is stale: run `dsproof report`"


def test_executed_notebooks_carry_no_timing(rendered_notebooks):
    """The executed copies are committed: no execution timestamps in their metadata and no run time in the claim
    displays (show_claim), so re-executing one changes it only where a result changes."""
    import re

    for name, r in rendered_notebooks.items():
        nb = r["notebook"]
        assert not [k for k in notebooks.RUN_METADATA if k in nb.metadata], name
        assert not [c.id for c in nb.cells if "execution" in c.metadata], f"{name}: execution timestamps kept"
        text = nbformat.writes(nb)
        assert not re.search(r"status \w+, [0-9.]+ s", text), f"{name}: a claim's run time is displayed"
        assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", text), f"{name}: a timestamp"


def test_executing_a_notebook_prints_no_kernel_warnings(tmp_path, capfd):
    """`dsproof report` executes notebooks: nothing from driving the kernel (ipykernel's TCP warning, jupyter_client
    / zmq warnings) reaches the terminal, whether printed by the kernel process or warned in this one."""
    import warnings

    src = tmp_path / "01_probe.py"
    src.write_text("# %%\nprint(1 + 1)\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nb = notebooks.execute(src)
    out, err = capfd.readouterr()
    assert nb.cells[0].outputs[0]["text"] == "2\n"
    assert err.strip() == "", f"the kernel printed to the terminal: {err[:300]}"
    assert not [str(w.message) for w in caught], [str(w.message)[:120] for w in caught]


def test_strip_run_metadata_removes_execution_records():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    nb.cells[0].metadata["execution"] = {"iopub.execute_input": "2026-01-01T00:00:00.000000Z"}
    nb.metadata["papermill"] = {"start_time": "2026-01-01T00:00:00"}
    nb.metadata["kernelspec"] = {"name": "python3"}
    out = notebooks.strip_run_metadata(nb)
    assert out.cells[0].metadata == {} and set(out.metadata) == {"kernelspec"}


def test_every_claim_has_an_anchored_section():
    anchors = {p.stem: p.read_text() for p in notebooks.sources()}
    for c in ledger.load_all().values():
        assert c.notebook in anchors, f"claim {c.id}: notebook {c.notebook!r} does not exist"
        assert f'<a id="{c.id}"></a>' in anchors[c.notebook], f"claim {c.id}: no anchor in {c.notebook}"
        assert f'show_claim("{c.id}")' in anchors[c.notebook], f"claim {c.id}: not shown in {c.notebook}"


def test_equations_render_as_mathml(rendered_notebooks):
    """The HTML pages render every equation output as MathML (long ones in lines, matrices included), with the LaTeX
    kept on the container, and the inline $...$ of the text; no line of an equation is much wider than the page (as
    mathtext measures it, the break rule's proxy; the browser test measures the pages)."""
    import html

    for name, r in rendered_notebooks.items():
        page = r["html"].read_text()
        equations = [o["data"]["text/latex"] for c in r["notebook"].cells if c.cell_type == "code" for o in c.outputs
                     if "text/latex" in o.get("data", {})]
        drawn = {html.unescape(t) for t in re.findall(r'<div class="eq" data-latex="([^"]*)"', page)}
        missing = [tex[:60] for tex in equations if tex.strip() not in drawn]
        assert not missing, f"{name}: equations not rendered: {missing}"
        inline = [m.group(0) for c in r["notebook"].cells if c.cell_type == "markdown"
                  for m in re.finditer(r"\$([^$\n]+)\$", re.sub(r"`[^`]*`", "", c.source))]
        assert not [t for t in inline if t in re.sub(r"<code>.*?</code>", "", page, flags=re.S)], \
            f"{name}: inline LaTeX left as source"
        assert page.count('display="block"') >= len(equations), name
        for tex in equations:
            lines = notebooks.split_lines(tex)
            assert all(notebooks._math_width(t) < 1.3 * notebooks.MAX_EQUATION_WIDTH or len(lines) == 1
                       for t in lines), f"{name}: a line wider than the page: {tex[:60]}"
    # markdown: code spans and what the converter cannot read are left alone
    kept = "`$x$` and $\\notacommand{x}$"
    assert notebooks._inline_math(kept) == kept
    assert notebooks._inline_math("a $p_s$ b").startswith('a <math')


def test_notebook_pages_show_tables_and_each_figure_once(rendered_notebooks):
    """Every claim shown in a notebook is an HTML evidence table on its page (none left as '| ... |' text), and 07
    shows each reproduction figure once."""
    from dsproof import report, runs
    from numerics.reproduce import storage

    for name, r in rendered_notebooks.items():
        page = r["html"].read_text()
        shown = (notebooks.SOURCE_DIR / f"{name}.py").read_text().count('show_claim("')
        assert page.count('<table class="evidence">') == shown > 0, name
        assert not report.raw_tables(page), f"{name}: {report.raw_tables(page)[:2]}"
    if storage.latest_results() is not None:
        cell = next(c for c in rendered_notebooks["07_reproduction"]["notebook"].cells
                    if c.cell_type == "code" and c.source.strip() == "show_reproduction()")
        pngs = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        assert len(pngs) == len(runs.FIGURES)


def test_no_kernel_outlives_its_notebook(tmp_path):
    """A kernel left running when `dsproof report` exits prints "Parent appears to have exited" to the terminal a
    second later: executing a notebook must shut its kernel down.  A child process executes one; its stderr pipe
    stays open (and is read) until every process holding it, an orphaned kernel included, has gone."""
    import subprocess
    import sys

    src = tmp_path / "01_probe.py"
    src.write_text("# %%\nprint(1 + 1)\n")
    code = f"from pathlib import Path\nfrom dsproof import notebooks\nnotebooks.execute(Path({str(src)!r}))\n"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=notebooks.ROOT)
    assert run.returncode == 0, run.stderr[-500:]
    assert run.stderr.strip() == "", f"printed after the notebook ran: {run.stderr[-300:]}"


#: evidence cells that break a Markdown table in nbconvert (an escaped pipe in the text, a line break) or garble it
AWKWARD_CELLS = ("|x| and p(a|b)", "KL(P \\| Q) with a backslash-pipe", "`|x|` in code", "two\nlines", "<b>not bold</b>")


def _awkward_entry():
    from dsproof.model import exact, record

    rows = [record(f"r{i}", "numeric", text, {"figure": exact(i)}) for i, text in enumerate(AWKWARD_CELLS)]
    return ledger.Entry("demo", "Lemma 0", [], rows, "proved", "ok")


def test_claim_display_keeps_its_evidence_table_a_table():
    """show_claim's display, rendered as the notebook pages render it (nbconvert's Markdown), is one table with a
    row per evidence item and each cell's text intact, whatever the cells contain."""
    import html

    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    from dsproof import display, report

    page = markdown2html_mistune(display.claim_markdown(_awkward_entry()))
    assert page.count("<table") == 1 and page.count("<tr>") == 1 + len(AWKWARD_CELLS), page
    assert not report.raw_tables(page)
    cells = [html.unescape(c).replace("<br>", "\n") for c in re.findall(r"<td>(.*?)</td>", page, re.S)]
    assert [c for c in cells if c in AWKWARD_CELLS] == list(AWKWARD_CELLS)


def test_long_equations_break_into_lines_that_fit():
    """A sum too wide for the page is drawn as lines no wider than the page, broken only before a + or - of a sum
    (never inside a fraction, a function's argument or a short bracket), each drawable on its own, together the
    whole equation."""
    import sympy as sp

    q, r = sp.symbols("q q_{ref}", positive=True)
    p = sp.symbols("p_1:13", positive=True)
    body = sum((-1) ** k * pk * (q - 1) * sp.log(1 + q + pk / (1 - r) + pk ** 2 / (1 - r) ** 2) + q * sp.log(pk / q) for k, pk in enumerate(p))
    tex = r"\mathrm{dKL/dtheta\_s} = " + sp.latex(-q * (q - 1) * body)
    short = "\\left(q - 1\\right)"
    lines = notebooks.split_lines(tex)
    assert notebooks._math_width(tex) > 3 * notebooks.MAX_EQUATION_WIDTH
    assert len(lines) >= 3
    assert all(notebooks._math_width(t) <= notebooks.MAX_EQUATION_WIDTH for t in lines)
    assert all(notebooks.mathml_block(t) is not None for t in lines)
    for t in lines[1:]:
        assert re.match(r"\\qquad (\\left\.)*[+-] ", t), t[:40]  # a continuation starts with the sum's sign
    assert sum(t.count(short) for t in lines) == tex.count(short) > 10, "a short bracket was broken"
    assert all(t.count("{") == t.count("}") for t in lines), "broken inside a {...} group"
    joined = "".join(re.sub(r"^\\qquad |\\left\.|\\right\.", "", t) for t in lines)
    assert joined.replace(" ", "") == tex.replace(" ", "")
    narrow = r"x = a + b"
    assert notebooks.split_lines(narrow) == [narrow]


def test_matrices_are_mathml_tables():
    """A sympy matrix (E[g_sampling g_decision^T] = 0, 3 x 3) is one MathML table after the left-hand side; the
    LaTeX stays on the container; LaTeX the converter cannot read gives None (the page then shows the source)."""
    tex = r"$\displaystyle E[g_{sampling} g_{decision}^T] = \left[\begin{matrix}0 & 0 & 0\\0 & 0 & 0\\1 & \frac{a}{b} & 0\end{matrix}\right]$"
    out = notebooks.equation_html(tex)
    assert out is not None and out.count("<mtable") == 1 and out.count("<mtr") == 3 and out.count("<mtd") == 9
    assert "<mfrac>" in out and 'data-latex="$\\displaystyle E[g_{sampling}' in out
    assert notebooks.equation_html(r"$\notacommand{x}$") is None
