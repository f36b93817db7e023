"""The README as a front door (short; the two commands first; its runtimes the benchmarks' measurements; every unrun
item listed) and its details page's code: the "Objectives API" example runs as written, and scripts/gpu_evidence.sh
stops with a clear message (exit 2) on a machine without CUDA."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent


def readme_block(heading: str, lang: str, page: str = "docs/details.md") -> str:
    """The first ```lang code block of the section ``heading`` of the README's details page (or of ``page``)."""
    text = (ROOT / page).read_text()
    section = text.split(f"\n## {heading}", 1)[1].split("\n## ", 1)[0]
    m = re.search(rf"```{lang}\n(.*?)```", section, re.S)
    assert m, f"no {lang} block under '## {heading}'"
    return m.group(1)


def test_objectives_api_example_runs(capsys):
    code = readme_block("Objectives API", "python")
    namespace: dict = {}
    exec(compile(code, "README.md (Objectives API)", "exec"), namespace)  # noqa: S102 (the README's own code)
    out = capsys.readouterr().out
    assert out.count(" loss ") == len(namespace["objectives"]) == 5
    assert namespace["result"].norms["decision"] > 0 and "cross-term" in out


def test_gpu_evidence_stops_without_cuda(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the script would run the GPU evidence")
    before = sorted(p.name for p in (ROOT / "benchmarks" / "results").iterdir())
    r = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_evidence.sh")], capture_output=True, text=True,
                       timeout=120, cwd=tmp_path)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "no CUDA device" in lines[0] and "Traceback" not in r.stderr, r.stderr
    assert r.stdout == ""
    assert sorted(p.name for p in (ROOT / "benchmarks" / "results").iterdir()) == before


def test_readme_gpu_checks_point_to_the_script():
    block = readme_block("GPU checks", "bash")
    assert "bash scripts/gpu_evidence.sh" in block
    script = (ROOT / "scripts" / "gpu_evidence.sh").read_text()
    for cmd in ("-m pytest -m gpu --require-gpu -q", "benchmarks/probe_cost.py --size 0.5b --device cuda",
                "--dtype \"$dtype\" --flops", "benchmarks/rollouts_cost.py --device cuda --dtype \"$dtype\"",
                "for preset in h100 h100-cot", "reproduce --preset \"$preset\""):
        assert cmd in script, cmd


def test_require_gpu_turns_the_skip_into_a_failure():
    """The README's GPU checks: without CUDA a gpu test is skipped, and with --require-gpu it fails (exit code 1)."""
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the gpu tests would run")
    test = "tests/test_rollouts.py::test_rollouts_probe_on_cuda_in_fp32_and_bf16"
    base = [sys.executable, "-m", "pytest", test, "-q", "-n0", "-p", "no:cacheprovider"]
    skipped = subprocess.run(base, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert skipped.returncode == 0 and "2 skipped" in skipped.stdout, skipped.stdout[-500:]
    failed = subprocess.run([*base, "--require-gpu"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert failed.returncode == 1 and "--require-gpu given but no CUDA device is available" in failed.stdout, \
        failed.stdout[-500:]


def test_readme_is_a_front_door():
    """About 3,000 words at most; the two commands, what they print and how long they take within the first screen
    (the first 40 lines); the details page it links exists."""
    text = (ROOT / "README.md").read_text()
    assert len(text.split()) <= 3000, f"{len(text.split())} words"
    first = "\n".join(text.splitlines()[:40])
    assert "bash scripts/setup.sh && .venv/bin/dsproof report" in first and ".venv/bin/python -m pytest -q" in first
    assert "wrote reports/index.html" in first and "passed" in first
    assert "docs/details.md" in text and (ROOT / "docs" / "details.md").exists()
    assert not re.search(r"\b[A-Z_]{6,}\b(?<!README)", re.sub(r"`[^`]*`|```.*?```", "", text, flags=re.S)
                         .replace("GRPO", "").replace("CUDA", "").replace("MathML", "")), "a placeholder left"


def test_readme_runtimes_are_the_measured_ones():
    """Every runtime the README gives is one benchmarks/results/commands_cpu.txt records (measured by
    benchmarks/commands_cost.py)."""
    measured = (ROOT / "benchmarks" / "results" / "commands_cpu.txt").read_text()
    text = (ROOT / "README.md").read_text()
    for label, minutes in re.findall(r"# (\w[\w ]*): ([\d.]+ min)", measured):
        assert minutes in text, f"{label}: the README does not say {minutes}"


def test_skipped_here_lists_every_gpu_test_and_the_h100_presets():
    import ast

    text = (ROOT / "README.md").read_text()
    skipped = text.split("\n## Skipped here", 1)[1].split("\n## ", 1)[0]
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and any("gpu" in ast.unparse(d) for d in node.decorator_list):
                assert f"{path.name}::{node.name}" in skipped, f"{path.name}::{node.name} not in 'Skipped here'"
    assert "h100" in skipped and "h100-cot" in skipped
