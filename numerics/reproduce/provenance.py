"""What a §4 run records about how it was made, so that a re-run can tell whether it reproduces it: the software and
the CPU kernels that computed it (``environment``), and a cheap fingerprint of its first base-training steps
(``fingerprint``: the first losses and a digest of the weights after them), which ``pipeline.fingerprint`` re-runs
alone in seconds.

Why: a run is a long chain of float32 sums, and their rounding depends on the kernels torch and MKL pick for the
processor (ATen's AVX-512 / AVX2 / default kernels, MKL's code path), not only on the code and the seed.  The cpu
runs committed on 2026-11-24 do not reproduce on the machine of 2026-12-05 with the same code, the same pinned
torch / transformers / numpy and one thread (cpu seed 0's base loss after 400 steps: 0.726 committed, 0.756 there;
0.715 with ATen's AVX2 kernels forced, 0.693 with its default ones).  Other kernels change the base losses in their
last bits within the first few steps; the weights' digest also catches a change the losses' rounding hides."""

from __future__ import annotations

import hashlib
import platform
import subprocess
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
#: base-training steps the fingerprint covers (about 5 s single-threaded for the cpu preset)
FINGERPRINT_STEPS = 20


def weights_digest(model) -> str:
    """sha256 (first 16 hex digits) of every parameter and buffer of ``model``, by name, bit for bit."""
    module = getattr(model, "model", model)
    h = hashlib.sha256()
    for name, t in module.state_dict().items():
        h.update(name.encode())
        h.update(str(t.dtype).encode())
        h.update(np.ascontiguousarray(t.detach().cpu().numpy()).tobytes())
    return h.hexdigest()[:16]


def cpuinfo() -> dict[str, str]:
    """The first processor's fields in /proc/cpuinfo ({} where there is none)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().split("\n\n", 1)[0].splitlines()
    except OSError:
        return {}
    return {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in lines if ":" in line)}


def cpu_vendor() -> str:
    """The processor's vendor id (GenuineIntel, AuthenticAMD, ...): MKL picks its code path by it; '' if unknown."""
    return cpuinfo().get("vendor_id") or platform.processor() or ""


def cpu_model() -> str:
    """The processor's family and model numbers ('family 25 model 17'; '' if unknown): one capability and vendor
    covers several microarchitectures, whose kernels may round differently."""
    info = cpuinfo()
    return f"family {info['cpu family']} model {info['model']}" if "cpu family" in info and "model" in info else ""


def code_commit() -> tuple[str, str]:
    """(the last commit that changed the code, 'yes'/'no' for uncommitted code changes), as dsproof.report reads
    them (generated files excluded); ('unknown', 'unknown') outside a git checkout."""
    code = [".", ":(exclude)reports", ":(exclude)notebooks/*.ipynb", ":(exclude)README.md"]

    def git(*args) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()

    try:
        commit = git("log", "-1", "--format=%h", "--", *code) or "unknown"
        dirty = ("yes" if git("status", "--porcelain", "--", *code) else "no") if commit != "unknown" else "unknown"
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "unknown", "unknown"
    return commit, dirty


def environment(device: str) -> dict:
    """What computed a run: code commit, versions, and the kernels (torch's CPU capability, the BLAS vendor path,
    the processor's family and model, threads; the GPU's name on CUDA).  Called inside pipeline.run, so ``threads``
    is the count the run used."""
    import transformers

    commit, dirty = code_commit()
    env = {"code commit": commit, "uncommitted code changes": dirty,
           "python": ".".join(platform.python_version_tuple()[:2]), "torch": torch.__version__,
           "transformers": transformers.__version__, "numpy": np.__version__,
           "cpu capability": torch.backends.cpu.get_cpu_capability(), "cpu vendor": cpu_vendor(),
           "cpu model": cpu_model(), "mkl": torch.backends.mkl.is_available(), "threads": torch.get_num_threads()}
    if str(device).startswith("cuda") and torch.cuda.is_available():
        env["gpu"] = torch.cuda.get_device_name(0)
    return env


def fingerprint_record(losses: list[float], digest: str, steps: int = FINGERPRINT_STEPS) -> dict:
    """A run's fingerprint: its first ``steps`` base-training losses and the weights' digest after them."""
    return {"base steps": steps, "base losses": [float(x) for x in losses[:steps]], "base weights": digest}


def fingerprint_mismatch(recorded: dict, rerun: dict) -> str | None:
    """None when a re-run's fingerprint equals the recorded one bit for bit; else what differs first."""
    if recorded["base steps"] != rerun["base steps"]:
        return f"the fingerprints cover {recorded['base steps']} and {rerun['base steps']} steps"
    for i, (a, b) in enumerate(zip(recorded["base losses"], rerun["base losses"])):
        if a != b:
            return f"base loss at step {i}: recorded {a!r}, re-run {b!r}"
    if len(recorded["base losses"]) != len(rerun["base losses"]):
        return "the fingerprints hold different numbers of losses"
    if recorded["base weights"] != rerun["base weights"]:
        return (f"the first {recorded['base steps']} losses agree but the weights after them do not (digest recorded "
                f"{recorded['base weights']}, re-run {rerun['base weights']}): the same code on other kernels")
    return None
