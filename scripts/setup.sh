#!/usr/bin/env bash
# Creates .venv and installs dsproof with its pinned dependencies (pyproject.toml is the one place for pins), and
# Coq with Coquelicot (Debian packages; the machine-checked proofs in formal/) where apt-get can install them.
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
# Coq 8.16 + Coquelicot 3.2 (about 30 s): dsproof report rebuilds and audits formal/ with them; without them the
# report shows the committed audit and says it was not rebuilt here
if ! command -v coqc >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  ($SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq make coq libcoq-coquelicot) \
    >/tmp/dsproof-apt-coq.log 2>&1 || echo "WARNING: coq not installed (see /tmp/dsproof-apt-coq.log)"
fi
if command -v coqc >/dev/null 2>&1; then
  echo "coq ready: $(coqc --print-version 2>/dev/null || coqc --version | head -1)"
fi
