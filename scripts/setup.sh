#!/usr/bin/env bash
# Creates .venv and installs dsproof with its pinned dependencies (pyproject.toml is the one place for pins).
# Idempotent: a second run only checks.  Refuses a CUDA torch build (multi-GB) on a CPU machine.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[dev]"
.venv/bin/python - <<'PY'
import torch, sys
if torch.version.cuda and not torch.cuda.is_available():
    sys.exit(f"a CUDA torch build ({torch.__version__}) was installed on a CPU machine; expected the CPU wheel")
print(f"dsproof environment ready: torch {torch.__version__}, python {sys.version.split()[0]}")
PY
