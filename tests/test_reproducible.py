"""The committed ledger is what any x86-64 machine of this kind writes: `dsproof check` in a subprocess with two
threads and other BLAS kernels (OpenBLAS's Prescott kernels for numpy, MKL restricted to SSE4.2 and its
conditional-numerical-reproducibility mode off the default for torch) writes reports/ledger.json byte for byte.
Figures are stored at their stated precision and round-off-level quantities as bounds, so the last bits of the
arithmetic do not reach the file.  (The notebooks are executed under the same settings: tests/conftest.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: another machine, emulated: thread counts and BLAS kernels that change the order and width of floating-point sums
OTHER_MACHINE = {"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2",
                 "OPENBLAS_CORETYPE": "Prescott", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2", "MKL_CBWR": "COMPATIBLE"}


def test_the_ledger_is_the_same_under_other_threads_and_blas_kernels(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_XDIST_WORKER",)} | OTHER_MACHINE
    run = subprocess.run([sys.executable, "-m", "dsproof.cli", "check", "--quiet", "--out", str(tmp_path)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-2000:]
    fresh, committed = (tmp_path / "ledger.json").read_text(), (ROOT / "reports" / "ledger.json").read_text()
    if fresh != committed:
        import difflib

        diff = "".join(list(difflib.unified_diff(committed.splitlines(True), fresh.splitlines(True), "committed",
                                                 "other machine"))[:60])
        raise AssertionError(f"the ledger changes on another machine (or is stale: run `dsproof report`):\n{diff}")
    assert (tmp_path / "ledger.md").read_text() == (ROOT / "reports" / "ledger.md").read_text()
