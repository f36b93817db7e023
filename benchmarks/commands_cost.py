"""Wall time of the README's two commands on this machine, printed (never asserted): `dsproof report` into a scratch
folder (claims, figures, the Coq rebuild and coqchk, the notebooks; it does not touch reports/ or notebooks/), and the
test suite.  Run it on an otherwise idle machine; the README quotes its last result (benchmarks/results/
commands_cpu.txt).

    PYTHONPATH=. .venv/bin/python benchmarks/commands_cost.py > benchmarks/results/commands_cpu.txt
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(cmd: list[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if run.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({run.returncode}):\n{run.stdout[-4000:]}\n{run.stderr[-2000:]}")
    return seconds, (run.stdout.strip().splitlines() or [""])[-1]


def main() -> None:
    print(f"# {platform.system()} {platform.machine()}, {os.cpu_count()} cores; the README's two commands, wall time")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "reports"
        import shutil

        shutil.copytree(ROOT / "reports" / "reproduce", out / "reproduce")  # the runs the report reads
        report, last = timed([sys.executable, "-m", "dsproof.cli", "report", "--out", str(out), "--quiet",
                              "--no-update-notebooks"])
    print(f"# dsproof report: {report / 60:.1f} min")
    print(f"  {last}")
    tests, last = timed([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"])
    print(f"# pytest: {tests / 60:.1f} min")
    print(f"  {last}")


if __name__ == "__main__":
    main()
