"""Execute the derivation notebooks (jupytext percent sources in notebooks/) and render them.

The ``.py`` files are the reviewable source; :func:`render_all` executes each one in a fresh kernel and writes
the executed ``.ipynb`` next to it (committed, readable on GitHub without running) and a self-contained HTML page
(``reports/notebooks/<name>.html``, linked from the report; sections carry the claim ids as anchors).
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIR = ROOT / "notebooks"
TIMEOUT_S = 600  # per cell

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
* {{ box-sizing: border-box; }}
body {{ font-family: system-ui, sans-serif; max-width: 980px; margin: 2em auto; padding: 0 1em; line-height: 1.45;
  overflow-wrap: anywhere; }}
pre, code {{ background: #f6f8fa; }} pre {{ padding: .6em; white-space: pre-wrap; }}
table {{ border-collapse: collapse; font-size: 90%; max-width: 100%; }} td, th {{ border: 1px solid #ccc; padding: 3px 6px; }}
table.evidence {{ width: 100%; table-layout: fixed; }}
img {{ max-width: 100%; }} .jp-InputPrompt, .jp-OutputPrompt {{ display: none; }}
.eq {{ margin: .3em 0; overflow-x: auto; }} .eq math {{ margin: .15em 0; }}
</style></head><body>
<p><a href="../index.html">&larr; dsproof report</a> &middot; source: <code>notebooks/{name}.py</code>
(executed copy <code>notebooks/{name}.ipynb</code>). Equations are MathML (drawn by the browser; long ones broken
into lines, one that cannot be broken scrolls sideways); what cannot be converted is shown as LaTeX source.</p>
{body}
</body></html>
"""


def sources(source_dir: Path = SOURCE_DIR) -> list[Path]:
    found = sorted(source_dir.glob("[0-9][0-9]_*.py"))
    if not found:
        raise FileNotFoundError(f"no notebook sources (NN_name.py) in {source_dir}")
    return found


#: notebook-level metadata that describes one execution, not the notebook (papermill / nbclient run records)
RUN_METADATA = ("papermill", "execution")


def strip_run_metadata(nb):
    """Remove what records one execution rather than the notebook: per-cell ``metadata.execution`` (timestamps
    of iopub/shell messages, written by nbclient with record_timing) and notebook-level run records
    (RUN_METADATA).  The executed copies are committed: regenerating one must change it only where a result
    does.  Returns ``nb`` (modified in place)."""
    for key in RUN_METADATA:
        nb.metadata.pop(key, None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    return nb


def execute(path: Path, timeout: int = TIMEOUT_S, env: dict | None = None):
    """Read a jupytext percent file and execute it in a fresh kernel (cwd = the repository root); the result
    carries no timing or timestamp (:func:`strip_run_metadata`), and driving the kernel prints nothing.  ``env``:
    variables added to the kernel's environment (the tests emulate another machine's threads and BLAS kernels)."""
    import tempfile

    import jupytext
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    nb = jupytext.read(path)
    for i, cell in enumerate(nb.cells):  # stable ids: a regenerated notebook differs only where its content does
        cell.id = f"cell-{i:03d}"
    with tempfile.TemporaryDirectory(prefix="dsproof-kernel-") as sockets:
        # IPC transport (unix sockets in a temporary folder): over TCP, ipykernel 7 logs "Kernel is running over
        # TCP without encryption" to the terminal at every kernel start
        km = KernelManager(kernel_name="python3", transport="ipc", ip=str(Path(sockets) / "kernel"))
        # cleanup_kc: nbclient shuts down only kernels it created itself; this one (our km) would otherwise outlive
        # the run, and when dsproof exits each orphan prints "Parent appears to have exited" to the terminal
        NotebookClient(nb, km=km, timeout=timeout, kernel_name="python3", record_timing=False,
                       resources={"metadata": {"path": str(ROOT)}}).execute(
            cleanup_kc=True,
            # one thread in the kernel: a figure's last digits must not depend on the machine's core count (the
            # executed notebooks are committed, and the tests compare them with a fresh execution)
            env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})})
    return strip_run_metadata(nb)


#: the widest equation line on a notebook page, in CSS pixels (the page's text column is about 950 px)
MAX_EQUATION_WIDTH = 860
#: one LaTeX token: a command (\name or \symbol), or one character
_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|.", re.S)


def _math_width(tex: str, fontsize: float = 13) -> float:
    """Display width in CSS pixels of ``tex`` as matplotlib's mathtext lays it out at ``fontsize`` (inf where mathtext
    cannot parse it): the measure :func:`split_lines` breaks lines by."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.mathtext import MathTextParser

    try:
        return MathTextParser("path").parse(f"${tex}$", dpi=100, prop=FontProperties(size=fontsize)).width
    except ValueError:
        return float("inf")


#: a sum inside \left(...\right) shorter than this (LaTeX characters) is not broken: no line ends in "(q"
MIN_BROKEN_GROUP = 60


def _sum_breaks(tex: str) -> list[tuple[int, int]]:
    r"""Where a line may break in ``tex``: before each binary ``+`` / ``-`` that lies outside every ``{...}`` group
    (so never inside a fraction, sub/superscript or function argument), at the top level or inside a
    ``\left(...\right)`` of at least MIN_BROKEN_GROUP characters.  Returns (position, number of \left delimiters
    open there)."""
    candidates, stack, prev = [], [], ""  # stack: (token, position) of the open { and \left
    group_length = {}  # position of a \left -> length of its group
    for m in _TOKEN.finditer(tex):
        tok = m.group(0)
        if tok in ("\\left", "{"):
            stack.append((tok, m.start()))
        elif tok in ("\\right", "}"):
            _, start = stack.pop()
            group_length[start] = m.end() - start
        elif (tok in "+-" and all(t == "\\left" for t, _ in stack) and prev == " " and tex[m.end():m.end() + 1] == " "
              and tex[:m.start()].rstrip()[-1:] not in ("", "=", ",", "(", "[", "+", "-")):
            candidates.append((m.start(), len(stack), stack[-1][1] if stack else None))
        prev = tok
    return [(pos, depth) for pos, depth, group in candidates
            if group is None or group_length.get(group, 0) >= MIN_BROKEN_GROUP]


def split_lines(tex: str, max_width: float = MAX_EQUATION_WIDTH, fontsize: float = 13) -> list[str]:
    r"""An equation too wide for the page as several lines of similar width, at most ``max_width`` pixels where the
    sums in it allow: broken before a ``+`` or ``-`` of a sum (:func:`_sum_breaks`), a line that ends inside
    ``\left(`` closed by ``\right.`` and the next one opened by ``\left.`` and indented.  Each line is drawable on
    its own.  A line's width is the sum of its pieces' widths (each measured once), slightly more than drawn."""
    import math

    tex = tex.strip().strip("$").replace(r"\displaystyle", "").strip()
    total = _math_width(tex, fontsize)
    if total <= max_width or math.isinf(total):  # fits, or mathtext cannot measure it (a matrix: left whole)
        return [tex]
    target = min(max_width, 1.15 * total / math.ceil(total / max_width))  # similar widths: no stub line at the end
    cuts = [(0, 0)] + _sum_breaks(tex) + [(len(tex), 0)]

    def line(a: int, b: int, indent: bool = True) -> str:  # the text between cuts a and b, drawable on its own
        (start, open_at_start), (end, open_at_end) = cuts[a], cuts[b]
        body = tex[start:end].strip()
        return (r"\qquad " if a and indent else "") + r"\left." * open_at_start + body + r"\right." * open_at_end

    widths = [_math_width(line(i, i + 1, indent=False), fontsize) for i in range(len(cuts) - 1)]
    indent = _math_width(r"\qquad", fontsize)
    lines, a = [], 0
    while a < len(cuts) - 1:
        b, width = a + 1, (indent if a else 0) + widths[a]  # at least one piece, even one too wide alone
        while b < len(cuts) - 1 and width + widths[b] <= target:
            width += widths[b]
            b += 1
        lines.append(line(a, b))
        a = b
    return lines


def mathml_block(tex: str) -> str | None:
    """One line of an equation as a MathML block; None where the converter cannot read the LaTeX."""
    from .pages import mathml

    return mathml(tex, "block")


def equation_html(latex: str, fontsize: float = 13, max_width: float = MAX_EQUATION_WIDTH) -> str | None:
    r"""An equation output as MathML: a long equation in lines (:func:`split_lines`, each line at most ``max_width``
    pixels as mathtext measures it, a close proxy of the browser's width), one ``<math display="block">`` a line; the
    LaTeX source is the container's ``data-latex``.  None where some line cannot be converted."""
    tex = latex.strip().strip("$").replace(r"\displaystyle", "").strip()
    lines = [mathml_block(t) for t in split_lines(tex, max_width, fontsize)]
    if None in lines:
        return None
    return f'<div class="eq" data-latex="{html.escape(latex.strip())}">{"".join(lines)}</div>'


#: inline math in markdown text: $...$ (no $ or newline inside), outside `code spans`
_CODE_OR_MATH = re.compile(r"(`[^`]*`)|\$([^$\n]+)\$")


def _inline_math(text: str) -> str:
    """Markdown with each ``$...$`` replaced by inline MathML; code spans and what the converter cannot read stay as
    they are."""
    from .pages import mathml

    def sub(m: re.Match) -> str:
        if m.group(1):
            return m.group(0)
        return mathml(m.group(2)) or m.group(0)

    return _CODE_OR_MATH.sub(sub, text)


def with_rendered_equations(nb):
    """A copy of ``nb`` whose LaTeX outputs, inline ``$...$`` in markdown cells and in Markdown outputs (the claims'
    cards) are MathML; what the converter cannot read keeps its LaTeX source."""
    import copy

    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = _inline_math(cell.source)
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            tex = data.get("text/latex")
            drawn = equation_html(tex) if tex else None
            if drawn is not None:
                out["data"] = {"text/html": drawn, "text/plain": tex}
                out["metadata"] = {}
            elif "text/markdown" in data:
                data["text/markdown"] = _inline_math(data["text/markdown"])
    return nb


def to_html(nb, name: str) -> str:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(template_name="basic").from_notebook_node(with_rendered_equations(nb))
    return PAGE.format(title=html.escape(name), name=html.escape(name), body=body)


def render_all(ipynb_dir: Path | None = SOURCE_DIR, html_dir: Path | None = None, names=None,
               progress=None, env: dict | None = None) -> dict[str, dict]:
    """Execute every notebook; write ``<ipynb_dir>/<name>.ipynb`` and ``<html_dir>/<name>.html`` (either may be
    None).  Returns name -> {"notebook": executed node, "html": path or None}."""
    import nbformat

    out = {}
    for src in sources():
        name = src.stem
        if names and name not in names:
            continue
        nb = execute(src, env=env)
        page = None
        if ipynb_dir is not None:
            ipynb_dir.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, ipynb_dir / f"{name}.ipynb")
        if html_dir is not None:
            html_dir.mkdir(parents=True, exist_ok=True)
            page = html_dir / f"{name}.html"
            page.write_text(to_html(nb, name))
        out[name] = {"notebook": nb, "html": page}
        if progress:
            progress(name)
    return out
