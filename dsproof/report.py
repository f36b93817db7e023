"""``dsproof report``: the reviewer's HTML page (reports/index.html), offline and self-contained apart from the
PNG figures and notebook pages beside it.

At the top: the paper's arXiv link, the commit the page was generated from and whether code had uncommitted changes,
the verdict summary and the contents.  Sections (SECTIONS): the claims ledger, each claim in detail (verdict,
assumptions, evidence table, link to its notebook section), figures, the empirical reproduction (when its results
exist), checks that were skipped here and why, the notebooks, and the environment (versions, device, commit).
"""

from __future__ import annotations

import html
import json
import platform
import subprocess
from pathlib import Path

from . import ledger

ROOT = Path(__file__).resolve().parent.parent
VERDICT_COLOUR = {"proved": "#1a7f37", "holds-under-assumptions": "#9a6700", "fails-in-stated-setting": "#cf222e",
                  "setting-dependent": "#8250df", "open": "#57606a"}

CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; line-height: 1.45; }
table { border-collapse: collapse; margin: .5em 0 1em; font-size: 92%; }
td, th { border: 1px solid #d0d7de; padding: 4px 8px; vertical-align: top; text-align: left; }
th { background: #f6f8fa; } .verdict { font-weight: bold; } .bad { color: #cf222e; font-weight: bold; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #d0d7de; }
code { background: #f6f8fa; padding: 0 3px; } section.claim { border-top: 1px solid #d0d7de; margin-top: 1.2em; }
figcaption { font-size: 92%; color: #333; max-width: 60em; } p.meta { color: #57606a; }
nav.toc ol ol { columns: 3; font-size: 92%; } nav.toc h2 { margin-bottom: .2em; }
"""


ARXIV = "https://arxiv.org/abs/2601.01580"
#: the page's sections in order (anchor, heading): the claim details follow the ledger that links to them
SECTIONS = (("ledger", "Claims ledger"), ("claims", "Claims in detail"), ("figures", "Figures"),
            ("reproduction", "Empirical reproduction (§4, small scale)"), ("skipped", "Skipped here, and why"),
            ("notebooks", "Notebooks"), ("environment", "Environment"))
#: what the evidence tables' columns mean (one home: ledger.EVIDENCE_COLUMNS, also the tables' hover text)
CONSISTENT = "The columns of the evidence tables: " + "; ".join(
    f"<b>{name}</b>: {html.escape(meaning)}" for name, meaning in ledger.EVIDENCE_COLUMNS) + "."


def _e(x) -> str:
    return html.escape(str(x))


def environment() -> dict[str, str]:
    import matplotlib
    import numpy
    import sympy
    import torch
    import transformers

    # the last commit that changed the code (generated files excluded): committing a regenerated report does not
    # change it, so the committed page is a fixed point of `dsproof report`
    code = [".", ":(exclude)reports", ":(exclude)notebooks/*.ipynb", ":(exclude)README.md"]

    def git(*args) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()

    try:
        commit = git("log", "-1", "--format=%h", "--", *code) or "unknown"
        dirty = "yes" if git("status", "--porcelain", "--", *code) else "no"
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "unknown", "unknown"
    cuda = torch.cuda.is_available()
    return {"dsproof code commit": commit, "uncommitted code changes": dirty, "python": platform.python_version(), "platform": platform.platform(),
            "torch": torch.__version__, "transformers": transformers.__version__, "sympy": sympy.__version__,
            "numpy": numpy.__version__, "matplotlib": matplotlib.__version__,
            "device": torch.cuda.get_device_name(0) if cuda else f"CPU ({platform.processor() or platform.machine()})"}
    # no timestamp: the page is committed, and regenerating it must not change it unless a result does


def skipped_checks(entries: list[ledger.Entry], reproduction: dict | None) -> list[tuple[str, str]]:
    """What this run did not check, and why."""
    import torch

    out = []
    if not torch.cuda.is_available():
        out.append(("GPU tests (pytest -m gpu: the probe on a 0.5B Qwen2 in fp32/bf16)",
                    "no CUDA device on this machine; the latest GPU figures are in "
                    "benchmarks/results/gpu_tests_h100.txt"))
        out.append(("probe cost benchmark (benchmarks/probe_cost.py)",
                    "needs a GPU; the latest figures are in benchmarks/results/probe_cost_h100.txt"))
    for e in entries:
        out += [(f"{e.id}: {ev.description}", ev.figure) for ev in e.evidence if ev.kind == "skipped"]
        if e.status == "error":
            out.append((e.id, f"the check raised: {e.error.splitlines()[0]}"))
    if not reproduction:
        out.append(("empirical reproduction (dsproof reproduce)", "no results under reports/reproduce/"))
    else:
        for preset, r in reproduction.items():
            if r.get("status") != "ok":
                out.append((f"reproduction preset {preset}", r.get("status", "unknown")))
    return out


def image_is_blank(path: Path, min_fraction: float = 0.005) -> bool:
    """True when fewer than ``min_fraction`` of the pixels differ from the image's most common colour (an empty
    plot, a white page)."""
    import matplotlib.image as mpimg
    import numpy as np

    img = mpimg.imread(path)
    px = img.reshape(-1, img.shape[-1]) if img.ndim == 3 else img.reshape(-1, 1)
    levels = np.round(px * 255).astype(np.uint32)  # 8 bits per channel: one integer per colour, sorted in 1-D
    packed = sum(levels[:, c] << np.uint32(8 * c) for c in range(levels.shape[1]))
    _, counts = np.unique(packed, return_counts=True)
    return 1 - counts.max() / len(px) < min_fraction


def raw_tables(page: str) -> list[str]:
    """The Markdown tables a renderer left as text in an HTML page: each paragraph or table cell that starts with '|'
    and holds a '|---' rule or several '|'-separated cells (the first 80 characters of each)."""
    from html.parser import HTMLParser

    found = []

    class Paragraphs(HTMLParser):
        def __init__(self):
            super().__init__()
            self.open: list[list[str]] = []  # the text of each paragraph being read

        def handle_starttag(self, tag, attrs):
            if tag in ("p", "td"):
                self.open.append([])

        def handle_endtag(self, tag):
            if tag in ("p", "td") and self.open:
                text = "".join(self.open.pop()).strip()
                if text.startswith("|") and ("|---" in text.replace(" ", "") or text.count("|") >= 4):
                    found.append(text[:80])

        def handle_data(self, data):
            for words in self.open:
                words.append(data)

    Paragraphs().feed(page)
    return found


def load_reproduction(report_dir: Path) -> dict[str, dict]:
    """Results of ``dsproof reproduce`` presets found under ``report_dir/reproduce/<preset>/results.json``."""
    found = {}
    for p in sorted((report_dir / "reproduce").glob("*/results.json")):
        found[p.parent.name] = json.loads(p.read_text())
    return found


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _verdict(v: str) -> str:
    return f'<span class="verdict" style="color:{VERDICT_COLOUR.get(v, "#000")}">{_e(v)}</span>'


def _notebook_link(e: ledger.Entry, notebook_pages: dict[str, str]) -> str:
    if e.notebook in notebook_pages:
        return f'<a href="{_e(notebook_pages[e.notebook])}#{_e(e.id)}">{_e(e.notebook)} &sect;{_e(e.id)}</a>'
    return _e(e.notebook or "—")


def reproduction_html(reproduction: dict[str, dict]) -> str:
    """A section (table and figures) for each preset's own run (the folder named as the preset: its default seed
    and recipe); the other seeds and recipes as one table of links to their folders (their figures sit there, and
    the sec4-empirical evidence pools them)."""
    from numerics.reproduce import PRESETS

    from .reproduction import RECIPE_FIELDS

    parts = []
    others = {name: r for name, r in reproduction.items() if name not in PRESETS}
    for preset, r in reproduction.items():
        if preset in others:
            continue
        parts.append(f"<h3>Preset <code>{_e(preset)}</code></h3><p>{_e(r.get('description', ''))}</p>")
        rows = r.get("table", [])
        if rows:
            header = list(rows[0].keys())
            parts.append(_table(header, [[_e(row[h]) for h in header] for row in rows]))
        for fig in r.get("figures", []):
            name = Path(fig).stem
            parts.append(f'<figure><img src="reproduce/{_e(preset)}/{_e(fig)}" alt="{_e(name)}, preset {_e(preset)}">'
                         f"<figcaption><b>{_e(name)}, preset {_e(preset)}.</b> {_e(figure_caption(name))}"
                         "</figcaption></figure>")
    if others:
        parts.append(f"<h3>Other seeds and recipes ({len(others)} runs)</h3><p>Pooled per seed and per recipe in the "
                     '<a href="#sec4-empirical">sec4-empirical</a> evidence; each folder holds its table and figures.'
                     "</p>")
        rows = []
        for name, r in others.items():
            p = r.get("preset", {})
            recipe = ", ".join(f"{k} {p[k]}" for k in RECIPE_FIELDS if k in p)
            rows.append([f'<a href="reproduce/{_e(name)}/table.md">{_e(name)}</a>', _e(str(p.get("seed", ""))),
                         _e(p.get("attempt_format", "answer")), _e(recipe)])
        parts.append(_table(["run", "seed", "attempts", "reflection recipe"], rows))
    return "\n".join(parts)


def figure_caption(name: str) -> str:
    """A reproduction figure's caption: the docstring of the function that draws it (dsproof.reproduction.FIGURES),
    so a figure and its caption have one home."""
    import inspect

    from . import reproduction

    fn = reproduction.FIGURES.get(name)
    return " ".join(inspect.getdoc(fn).split()) if fn and fn.__doc__ else ""


def render(entries: list[ledger.Entry], figures: list[tuple[str, str, str]], notebook_pages: dict[str, str],
           reproduction: dict[str, dict], env: dict[str, str], skipped: list[tuple[str, str]]) -> str:
    """The index.html text.  ``figures``: (name, relative path, caption); ``notebook_pages``: name -> relative
    path of its HTML page."""
    counts = {v: sum(e.verdict == v for e in entries) for v in ledger.VERDICTS}
    summary = ", ".join(f"{n} {_verdict(v)}" for v, n in counts.items() if n)
    bad = [e.id for e in entries if e.status != "ok"]
    rows = [[f'<a href="#{_e(e.id)}">{_e(e.id)}</a>', _e(e.paper_ref), _verdict(e.verdict),
             _e(e.status) if e.status == "ok" else f'<span class="bad">{_e(e.status)}</span>', _e(e.summary),
             _notebook_link(e, notebook_pages)] for e in entries]
    sections = []
    for e in entries:
        sections.append(
            f'<section class="claim" id="{_e(e.id)}"><h3>{_e(e.id)} — {_e(e.paper_ref)}</h3>'
            f"<p><b>Claim.</b> {_e(e.statement)}</p><p><b>Verdict:</b> {_verdict(e.verdict)}. {_e(e.summary)}</p>"
            + (f'<p class="card"><b>Deciding figure.</b> {_e(e.deciding)} (threshold: {_e(e.threshold)})</p>'
               if e.deciding else "")
            + (f'<p class="card"><b>Corrected statement.</b> {_e(e.correction)}</p>' if e.correction else "")
            + f"<p><b>Assumptions.</b></p><ul>{''.join(f'<li>{_e(a)}</li>' for a in e.assumptions)}</ul>"
            + ledger.evidence_html(e)
            + (f"<pre>{_e(e.error)}</pre>" if e.error else "")
            + f"<p>Derivation: {_notebook_link(e, notebook_pages)}</p></section>")
    figs = "".join(f'<figure><img src="{_e(p)}" alt="{_e(n)}"><figcaption><b>{_e(n)}.</b> {_e(c)}</figcaption>'
                   f"</figure>" for n, p, c in figures)
    nbs = "".join(f'<li><a href="{_e(p)}">{_e(n)}</a></li>' for n, p in notebook_pages.items())
    commit, dirty = env.get("dsproof code commit", "unknown"), env.get("uncommitted code changes", "unknown")
    claim_toc = "<ol>" + "".join(f'<li><a href="#{_e(e.id)}">{_e(e.id)}</a></li>' for e in entries) + "</ol>"
    toc = "".join(f'<li><a href="#{anchor}">{_e(title)}</a>{claim_toc if anchor == "claims" else ""}</li>'
                  for anchor, title in SECTIONS)
    fixes = ledger.corrections(entries)
    corrections_html = ("<p><b>Corrections dsproof proposes</b> (each claim's card gives the deciding figure and its "
                        "threshold):</p><ul>" + "".join(f'<li><a href="#{_e(i)}">{_e(i)}</a>: {_e(c)}</li>'
                                                        for i, c in fixes) + "</ul>") if fixes else ""
    body = {
        "ledger": _table(["claim", "paper", "verdict", "status", "finding", "derivation"], rows),
        "claims": f"<p>{CONSISTENT}</p>" + "".join(sections),
        "figures": figs,
        "reproduction": reproduction_html(reproduction) if reproduction else
        "<p>No reproduction results (run <code>dsproof reproduce</code>).</p>",
        "skipped": _table(["check", "why"], [[_e(a), _e(b)] for a, b in skipped]) if skipped else
        "<p>Nothing skipped.</p>",
        "notebooks": f'<ul>{nbs or "<li>not rendered in this run (--skip-notebooks)</li>"}</ul>',
        "environment": _table(["", ""], [[_e(k), _e(v)] for k, v in env.items()]),
    }
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>dsproof report</title><style>{CSS}</style></head><body>
<h1>dsproof: proof-check of "The Two-Stage Decision-Sampling Hypothesis"
(<a href="{ARXIV}">arXiv:2601.01580</a>)</h1>
<p class="meta">Generated by <code>dsproof report</code> from the code at commit <code>{_e(commit)}</code> (the last
commit that changed code; generated files excluded), uncommitted code changes: {_e(dirty)}.</p>
<p>{len(entries)} claims: {summary}.
{"All checks consistent with their own derivations." if not bad else
 f'<span class="bad">Inconsistent or failed checks: {_e(", ".join(bad))}</span>'}
A verdict of <i>fails-in-stated-setting</i> is a finding (a counterexample inside what the paper states, verified
two ways), not a failure of dsproof; <i>setting-dependent</i> means the paper leaves a choice open and the evidence
maps where the claim holds and where not. The columns of the evidence tables are defined under
<a href="#claims">Claims in detail</a>.</p>
{corrections_html}
<nav class="toc"><h2>Contents</h2><ol>{toc}</ol></nav>
""" + "".join(f'<h2 id="{anchor}">{_e(title)}</h2>\n{body[anchor]}\n' for anchor, title in SECTIONS) + "</body></html>\n"


def write(out_dir: Path, entries: list[ledger.Entry], figures: list[tuple[str, Path, str]],
          notebook_pages: dict[str, Path]) -> Path:
    """Write ``out_dir/index.html``; figure and notebook paths are made relative to ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rel = lambda p: Path(p).resolve().relative_to(out_dir.resolve()).as_posix()  # noqa: E731
    reproduction = load_reproduction(out_dir)
    page = render(entries, [(n, rel(p), c) for n, p, c in figures], {n: rel(p) for n, p in notebook_pages.items()},
                  reproduction, environment(), skipped_checks(entries, reproduction))
    path = out_dir / "index.html"
    path.write_text(page)
    return path
