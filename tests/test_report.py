"""`dsproof report`: the HTML page, its links and figures, and a render in headless Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from dsproof import ledger, report
from dsproof.cli import main

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]


@pytest.fixture(scope="module")
def built_report(rendered_notebooks, tmp_path_factory):
    out = tmp_path_factory.mktemp("built") / "reports"
    (out / "notebooks").mkdir(parents=True)
    for r in rendered_notebooks.values():
        shutil.copy(r["html"], out / "notebooks" / r["html"].name)
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


def test_report_renders_in_headless_chromium(built_report, tmp_path):
    _need_chromium()
    url = (built_report / "index.html").as_uri()
    base = [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    assert "Claims ledger" in dom and "Environment" in dom
    assert dom.count("<img") >= 3
    shot = tmp_path / "report.png"
    subprocess.run([*base, "--window-size=1280,2400", f"--screenshot={shot}", url], capture_output=True,
                   timeout=120, check=True)
    assert shot.exists() and not report.image_is_blank(shot, min_fraction=0.05)
    import matplotlib.image as mpimg

    img = mpimg.imread(shot)
    # the figures section is below the ledger table: some rows of the page carry many colours (plots)
    assert np.unique(np.round(img[..., :3].reshape(-1, 3), 2), axis=0).shape[0] > 50
