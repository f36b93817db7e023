"""Measure a page in headless Chromium: a copy of the page with a script that, once everything has loaded, closes
every <details>, then reads the layout the browser computed (the page's height, every element whose box extends past
the window, the cards and the figures inside them, the glossary's terms, the page's text) and writes it as JSON into
the DOM, which ``--dump-dom`` returns.  Measured with the browser, not by searching the HTML."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         "--allow-file-access-from-files"]
#: the window a referee reads the report in
WIDTH, HEIGHT = 1400, 900

SCRIPT = """
<script>
window.addEventListener('load', () => {
  document.querySelectorAll('details').forEach(d => { d.open = false; });
  const W = document.documentElement.clientWidth;
  const over = [];
  let scrolled = 0;
  // an element inside a box that scrolls or clips horizontally, the box itself within the window, is not past it
  const clipped = el => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(p).overflowX))
        return p.getBoundingClientRect().right <= W + 0.5;
    }
    return false;
  };
  for (const el of document.body.querySelectorAll('*')) {
    if (el.id === 'dsproof-measure') continue;
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.height > 0 && r.right > W + 0.5 && clipped(el)) { scrolled++; continue; }
    if (r.width > 0 && r.height > 0 && r.right > W + 0.5)
      over.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ')[0] : '') +
                ' right=' + Math.round(r.right));
  }
  const cards = [...document.querySelectorAll('article.card')].map(a => ({
    id: a.id, figures: (a.dataset.figures || '').split(' ').filter(x => x),
    images: [...a.querySelectorAll('figure img')].filter(i => i.complete && i.naturalWidth > 0).length}));
  const glossary = [...document.querySelectorAll('#glossary dt')].map(d => d.textContent.trim());
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll('#glossary, script, #dsproof-measure, code, math').forEach(n => n.remove());
  const out = {width: W, height: document.documentElement.scrollHeight, over: over.slice(0, 50),
               n_over: over.length, n_scrolled: scrolled, cards: cards, glossary: glossary, text: clone.textContent};
  const pre = document.createElement('pre');
  pre.id = 'dsproof-measure';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""


def need_chromium():
    if CHROMIUM is None:
        if os.environ.get("DSPROOF_REQUIRE_CHROMIUM") == "1":
            pytest.fail("DSPROOF_REQUIRE_CHROMIUM=1 but no chromium on PATH")
        pytest.skip("no chromium on PATH (apt-get install chromium; .ci/run installs it)")


def measure(page: Path, profile: Path, width: int = WIDTH, height: int = HEIGHT) -> dict:
    """The layout of ``page`` (an HTML file, its relative links resolved beside it) in a ``width`` x ``height``
    window, every <details> closed."""
    page = Path(page)
    probe = page.with_name(page.stem + ".measure.html")
    text = page.read_text()
    probe.write_text(text.replace("</body>", SCRIPT + "</body>") if "</body>" in text else text + SCRIPT)
    try:
        dom = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
                              "--virtual-time-budget=20000", "--dump-dom", probe.as_uri()],
                             capture_output=True, text=True, timeout=180, check=True).stdout
    finally:
        probe.unlink()
    m = re.search(r'<pre id="dsproof-measure">(.*?)</pre>', dom, re.S)
    assert m, f"{page}: the measuring script did not run"
    import html

    return json.loads(html.unescape(m.group(1)))
