"""Execute the derivation notebooks (jupytext percent sources in notebooks/) and render them.

The ``.py`` files are the reviewable source; :func:`render_all` executes each one in a fresh kernel and writes
the executed ``.ipynb`` next to it (committed, readable on GitHub without running) and a self-contained HTML page
(``reports/notebooks/<name>.html``, linked from the report; sections carry the claim ids as anchors).
"""

from __future__ import annotations

import html
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
</style></head><body>
<p><a href="../index.html">&larr; dsproof report</a> &middot; source: <code>notebooks/{name}.py</code>
(executed copy <code>notebooks/{name}.ipynb</code>). Equations are drawn offline by matplotlib's mathtext; what it
cannot draw (matrices) is shown as LaTeX source.</p>
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
                       resources={"metadata": {"path": str(ROOT)}}).execute(cleanup_kc=True)
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
            img = latex_png(tex) if tex else None
            if img is not None:
                out["data"] = {"image/png": img[0], "text/plain": tex}
                out["metadata"] = {"image/png": {"alt": tex, "width": img[1]}}
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
