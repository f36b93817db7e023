"""``dsproof report``: the reviewer's page (reports/index.html, offline, self-contained apart from the PNG figures,
the notebook pages and the run pages beside it), written from the ledger's data through dsproof.pages.

At the top the verdict counts and one line per claim (its deciding figure against its threshold), the rule and a
glossary; then a card per claim with its statements, its deciding plot and its evidence (collapsed); the figure
index, the machine-checked theorems, the §4 runs (each with its own page), what was skipped here and why, the
notebooks and the environment.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

from . import ledger, pages

ROOT = Path(__file__).resolve().parent.parent


def environment() -> dict[str, str]:
    """What the page was generated with: the code commit and whether code had uncommitted changes, and the versions
    of what computed it.  Nothing that changes from one x86-64 machine to another of the same kind (no kernel
    version, no processor name, no timestamp): the page is committed, and regenerating it must not change it unless
    a result does."""
    import matplotlib
    import numpy
    import sympy
    import torch
    import transformers

    from numerics.reproduce.provenance import code_commit

    # the last commit that changed the code (generated files excluded): committing a regenerated report does not
    # change it, so the committed page is a fixed point of `dsproof report`
    commit, dirty = code_commit()
    cuda = torch.cuda.is_available()
    return {"dsproof code commit": commit, "uncommitted code changes": dirty,
            "python": ".".join(platform.python_version_tuple()[:2]), "platform": f"{platform.system()} {platform.machine()}",
            "torch": torch.__version__, "transformers": transformers.__version__, "sympy": sympy.__version__,
            "numpy": numpy.__version__, "matplotlib": matplotlib.__version__,
            "device": torch.cuda.get_device_name(0) if cuda else "CPU"}


def skipped_checks(entries: list[ledger.Entry], reproduction: dict | None) -> list[tuple[str, str]]:
    """What this run did not check, and why."""
    import torch

    out = []
    if not torch.cuda.is_available():
        out.append(("GPU tests (pytest -m gpu --require-gpu: the probe on a 0.5B Qwen2 in fp32 and bf16, the smoke "
                    "preset on CUDA)", "no CUDA device on this machine; their last run is recorded in "
                    "benchmarks/results/gpu_tests_h100.txt (from an older version of the probe)"))
        out.append(("the h100 and h100-cot reproduction presets", "never run: they need a GPU"))
        out.append(("the probe cost benchmark on a GPU (benchmarks/probe_cost.py)",
                    "needs a GPU; benchmarks/results/probe_cost_h100.txt is from an older version of the probe"))
    for e in entries:
        out += [(f"{e.id}: {ev.what}", "; ".join(f"{k} {v.text()}" for k, v in ev.values.items()))
                for ev in e.evidence if ev.kind == "skipped"]
        if e.status == "error":
            out.append((e.id, f"the check raised: {e.error.splitlines()[0]}"))
    if not reproduction:
        out.append(("empirical reproduction (dsproof reproduce)", "no results under reports/reproduce/"))
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
            self.open: list[list[str]] = []

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
    """Results of ``dsproof reproduce`` runs found under ``report_dir/reproduce/<run>/results.json``."""
    return {p.parent.name: json.loads(p.read_text())
            for p in sorted((Path(report_dir) / "reproduce").glob("*/results.json"))}


def run_rows(reproduction: dict[str, dict]) -> list[dict]:
    """One row per run for the runs table: its page, seed, attempt format and reflection recipe."""
    from numerics.reproduce.storage import RECIPE_FIELDS

    rows = []
    for name, r in reproduction.items():
        p = r.get("preset", {})
        rows.append(dict(name=name, page=f"reproduce/{name}/index.html", seed=p.get("seed", ""),
                         format=p.get("attempt_format", "answer"),
                         recipe=", ".join(f"{k} {p[k]}" for k in RECIPE_FIELDS if k in p)))
    return rows


def write_run_pages(report_dir: Path, reproduction: dict[str, dict]) -> list[Path]:
    """reports/reproduce/<run>/index.html for every run: its table and figures as an HTML page."""
    from .runs import FIGURES, figure_caption

    written = []
    for name, data in reproduction.items():
        folder = Path(report_dir) / "reproduce" / name
        figs = [(f"{fig}.png", figure_caption(fig)) for fig in FIGURES if (folder / f"{fig}.png").exists()]
        path = folder / "index.html"
        path.write_text(pages.run_page(name, data, figs))
        written.append(path)
    return written


def write(out_dir: Path, entries: list[ledger.Entry], figures: list[tuple[str, Path, str]],
          notebook_pages: dict[str, Path], rebuilt: str = "") -> Path:
    """Write ``out_dir/index.html`` and the run pages; figure and notebook paths are made relative to
    ``out_dir``."""
    from . import figures as figure_specs
    from .concordance import formal_section

    out_dir.mkdir(parents=True, exist_ok=True)
    rel = lambda p: Path(p).resolve().relative_to(out_dir.resolve()).as_posix()  # noqa: E731
    drawn = {name: (rel(path), caption) for name, path, caption in figures}
    by_claim = {}
    for e in entries:
        specs = [s for s in figure_specs.figures_of(e.id) if s.name in drawn]
        by_claim[e.id] = [(s.name, drawn[s.name][0], drawn[s.name][1]) for s in specs]
    reproduction = load_reproduction(out_dir)
    write_run_pages(out_dir, reproduction)
    env = environment()
    page = pages.index(entries, by_claim, {n: rel(p) for n, p in notebook_pages.items()}, run_rows(reproduction),
                       formal_section(entries, rebuilt), env, skipped_checks(entries, reproduction),
                       env["dsproof code commit"], env["uncommitted code changes"])
    path = out_dir / "index.html"
    path.write_text(page)
    return path
