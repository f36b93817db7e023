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
body {{ font-family: system-ui, sans-serif; max-width: 980px; margin: 2em auto; padding: 0 1em; line-height: 1.45; }}
pre, code {{ background: #f6f8fa; }} pre {{ padding: .6em; overflow-x: auto; }}
table {{ border-collapse: collapse; font-size: 90%; }} td, th {{ border: 1px solid #ccc; padding: 3px 6px; }}
img {{ max-width: 100%; }} .jp-InputPrompt, .jp-OutputPrompt {{ display: none; }}
.eq {{ display: flex; align-items: center; flex-wrap: wrap; overflow-x: auto; margin: .3em 0; }}
.eq img {{ max-width: none; vertical-align: middle; }}
table.matrix {{ border-collapse: separate; border-spacing: 10px 2px; margin: 0 .4em; border: 0 solid #333;
  border-width: 0 2px; background: no-repeat linear-gradient(#333, #333) top left / 6px 2px,
  no-repeat linear-gradient(#333, #333) bottom left / 6px 2px, no-repeat linear-gradient(#333, #333) top right / 6px 2px,
  no-repeat linear-gradient(#333, #333) bottom right / 6px 2px; }}
table.matrix td {{ border: none; padding: 0; text-align: center; }}
</style></head><body>
<p><a href="../index.html">&larr; dsproof report</a> &middot; source: <code>notebooks/{name}.py</code>
(executed copy <code>notebooks/{name}.ipynb</code>). Equations are drawn offline by matplotlib's mathtext (long ones
broken into lines, matrices as a grid of drawn entries); what it cannot draw is shown as LaTeX source.</p>
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


def execute(path: Path, timeout: int = TIMEOUT_S):
    """Read a jupytext percent file and execute it in a fresh kernel (cwd = the repository root); the result
    carries no timing or timestamp (:func:`strip_run_metadata`), and driving the kernel prints nothing."""
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
            env={**os.environ, "OMP_NUM_THREADS": "1"})
    return strip_run_metadata(nb)


def latex_png(latex: str, dpi: int = 200, fontsize: float = 13) -> tuple[str, int] | None:
    """An equation output (``$...$``) drawn by matplotlib's mathtext: (base64 PNG at ``dpi``, display width in
    pixels at half that), so the HTML pages show rendered mathematics offline; None where mathtext cannot draw it
    (e.g. sympy matrices)."""
    import base64
    import io

    from matplotlib.figure import Figure

    tex = latex.strip().strip("$").replace(r"\displaystyle", "").strip()
    fig = Figure()
    fig.text(0, 0, f"${tex}$", fontsize=fontsize)
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", pad_inches=0.02, transparent=True,
                    metadata={"Software": None})
    except ValueError:  # mathtext's parse error
        return None
    width = int.from_bytes(buf.getvalue()[16:20], "big")  # the PNG header's IHDR width
    return base64.b64encode(buf.getvalue()).decode("ascii"), width * 100 // dpi


#: the widest equation line on a notebook page, in CSS pixels (the page's text column is about 950 px)
MAX_EQUATION_WIDTH = 860
#: a sympy matrix as LaTeX
_MATRIX = re.compile(r"\\left\[\\begin\{matrix\}(.*?)\\end\{matrix\}\\right\]", re.S)
#: one LaTeX token: a command (\name or \symbol), or one character
_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|.", re.S)


def _math_width(tex: str, fontsize: float = 13) -> float:
    """Display width in CSS pixels of ``tex`` drawn by mathtext as :func:`latex_png` draws it (inf where mathtext
    cannot parse it)."""
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
    if total <= max_width or math.isinf(total):  # fits, or mathtext cannot draw it (latex_png says so)
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


def _img(tex: str, fontsize: float) -> str | None:
    img = latex_png(tex, fontsize=fontsize)
    if img is None:
        return None
    return f'<img alt="{html.escape(tex)}" width="{img[1]}" src="data:image/png;base64,{img[0]}">'


def _lines_html(tex: str, fontsize: float, max_width: float) -> str | None:
    imgs = [_img(t, fontsize) for t in split_lines(tex, max_width, fontsize)]
    return None if None in imgs else "<br>".join(imgs)


def equation_html(latex: str, fontsize: float = 13, max_width: float = MAX_EQUATION_WIDTH) -> str | None:
    r"""An equation output as HTML with the mathematics drawn offline: mathtext PNGs (:func:`latex_png`), a long
    equation in lines (:func:`split_lines`), a sympy matrix as a bracketed grid of drawn entries (mathtext has no
    matrices).  The LaTeX source is the container's ``data-latex`` and each image's alt text.  None where some
    part cannot be drawn."""
    tex = latex.strip().strip("$").replace(r"\displaystyle", "").strip()
    parts, pos = [], 0
    for m in _MATRIX.finditer(tex):
        parts.append(tex[pos:m.start()])
        rows = [row.split("&") for row in m.group(1).split(r"\\")]
        cells = [[_lines_html(c.strip() or r"\ ", fontsize, max_width / max(len(r), 1)) for c in r] for r in rows]
        if any(c is None for r in cells for c in r):
            return None
        parts.append('<table class="matrix">' + "".join(
            "<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in cells) + "</table>")
        pos = m.end()
    parts.append(tex[pos:])
    out = []
    for i, part in enumerate(parts):
        if i % 2:  # a matrix, drawn above
            out.append(part)
        elif part.strip():
            drawn = _lines_html(part, fontsize, max_width)
            if drawn is None:
                return None
            out.append(f"<span>{drawn}</span>")
    return f'<div class="eq" data-latex="{html.escape(latex.strip())}">{"".join(out)}</div>'


#: inline math in markdown text: $...$ (no $ or newline inside), outside `code spans`
_CODE_OR_MATH = re.compile(r"(`[^`]*`)|\$([^$\n]+)\$")


def _inline_math(text: str) -> str:
    """Markdown with each drawable ``$...$`` replaced by an inline <img> (LaTeX as alt text); code spans and what
    mathtext cannot draw stay as they are."""

    def sub(m: re.Match) -> str:
        if m.group(1):
            return m.group(0)
        img = latex_png(m.group(2), fontsize=11)
        if img is None:
            return m.group(0)
        return (f'<img alt="{html.escape(m.group(0))}" width="{img[1]}" style="vertical-align: middle" '
                f'src="data:image/png;base64,{img[0]}">')

    return _CODE_OR_MATH.sub(sub, text)


def with_rendered_equations(nb):
    """A copy of ``nb`` whose LaTeX outputs and inline ``$...$`` in markdown are replaced by PNG images where
    mathtext can draw them (the LaTeX source becomes the image's alt text); the others keep their LaTeX source."""
    import copy

    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = _inline_math(cell.source)
        for out in cell.get("outputs", []):
            tex = out.get("data", {}).get("text/latex")
            drawn = equation_html(tex) if tex else None
            if drawn is not None:
                out["data"] = {"text/html": drawn, "text/plain": tex}
                out["metadata"] = {}
    return nb


def to_html(nb, name: str) -> str:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(template_name="basic").from_notebook_node(with_rendered_equations(nb))
    return PAGE.format(title=html.escape(name), name=html.escape(name), body=body)


def render_all(ipynb_dir: Path | None = SOURCE_DIR, html_dir: Path | None = None, names=None,
               progress=None) -> dict[str, dict]:
    """Execute every notebook; write ``<ipynb_dir>/<name>.ipynb`` and ``<html_dir>/<name>.html`` (either may be
    None).  Returns name -> {"notebook": executed node, "html": path or None}."""
    import nbformat

    out = {}
    for src in sources():
        name = src.stem
        if names and name not in names:
            continue
        nb = execute(src)
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
