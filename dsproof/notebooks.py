"""Execute the derivation notebooks (jupytext percent sources in notebooks/) and render them.

The ``.py`` files are the reviewable source; :func:`render_all` executes each one in a fresh kernel and writes
the executed ``.ipynb`` next to it (committed, readable on GitHub without running) and a self-contained HTML page
(``reports/notebooks/<name>.html``, linked from the report; sections carry the claim ids as anchors).
"""

from __future__ import annotations

import html
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
(executed copy <code>notebooks/{name}.ipynb</code>). Equations are shown as LaTeX source where no MathJax is
available offline.</p>
{body}
</body></html>
"""


def sources(source_dir: Path = SOURCE_DIR) -> list[Path]:
    found = sorted(source_dir.glob("[0-9][0-9]_*.py"))
    if not found:
        raise FileNotFoundError(f"no notebook sources (NN_name.py) in {source_dir}")
    return found


def execute(path: Path, timeout: int = TIMEOUT_S):
    """Read a jupytext percent file and execute it in a fresh kernel (cwd = the repository root)."""
    import jupytext
    from nbclient import NotebookClient

    nb = jupytext.read(path)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    return nb


def to_html(nb, name: str) -> str:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(template_name="basic").from_notebook_node(nb)
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
