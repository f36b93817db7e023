#!/usr/bin/env bash
# One command for a CUDA machine: the GPU evidence the README's "GPU checks" section cites.
#
#   bash scripts/setup.sh && bash scripts/gpu_evidence.sh
#
# Runs, in order, saving each output (stdout and stderr) as it goes:
#   1. the GPU tests (pytest -m gpu --require-gpu)       -> benchmarks/results/gpu_tests_<gpu>.txt
#   2. probe_cost.py --size 0.5b --dtype fp32 --flops     -> benchmarks/results/probe_cost_fp32_<gpu>.txt
#   3. probe_cost.py --size 0.5b --dtype bf16 --flops     -> benchmarks/results/probe_cost_bf16_<gpu>.txt
#   4. rollouts_cost.py --device cuda --dtype fp32/bf16    -> benchmarks/results/rollouts_cost_<dtype>_<gpu>.txt
#   5. dsproof reproduce --preset h100                    -> reports/reproduce/h100/ (log: reproduce_h100_<gpu>.txt)
#   6. dsproof reproduce --preset h100-cot                -> reports/reproduce/h100-cot/ (log: reproduce_h100-cot_<gpu>.txt)
# <gpu> is a short name of the device (h100, a100, ...).  Every step runs even when an earlier one fails (GPU time
# is scarce); the exit code is 1 if any failed.  Without CUDA it stops at once, writes nothing, and exits 2.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}

if [ ! -x "$PY" ]; then
  echo "gpu_evidence.sh: $PY not found: run bash scripts/setup.sh first (or set PYTHON)" >&2
  exit 2
fi
if ! GPU=$("$PY" - <<'PY'
import re, sys
import torch
if not torch.cuda.is_available():
    sys.exit(f"gpu_evidence.sh: torch {torch.__version__} has no CUDA device: run this on a CUDA machine "
             "(nothing was run or written)")
name = torch.cuda.get_device_name(0)
m = re.search(r"\b([A-Z]{1,2}\d{2,4}[A-Z]?)\b", name.upper())
print(m.group(1).lower() if m else "cuda")
PY
); then
  exit 2
fi

RESULTS=benchmarks/results
mkdir -p "$RESULTS"
failed=()

step() {  # step NAME OUTFILE COMMAND...: run COMMAND, its output to the terminal and to OUTFILE
  local name=$1 out=$2
  shift 2
  echo "== $name -> $out"
  if ! "$@" 2>&1 | tee "$out"; then
    failed+=("$name")
  fi
}

step "GPU tests" "$RESULTS/gpu_tests_$GPU.txt" "$PY" -m pytest -m gpu --require-gpu -q
for dtype in fp32 bf16; do
  step "probe cost $dtype" "$RESULTS/probe_cost_${dtype}_$GPU.txt" \
    "$PY" benchmarks/probe_cost.py --size 0.5b --device cuda --dtype "$dtype" --flops
done
for dtype in fp32 bf16; do
  step "rollouts probe cost $dtype" "$RESULTS/rollouts_cost_${dtype}_$GPU.txt" \
    "$PY" benchmarks/rollouts_cost.py --device cuda --dtype "$dtype" --sizes 16 64 256
done
for preset in h100 h100-cot; do
  step "reproduce $preset" "$RESULTS/reproduce_${preset}_$GPU.txt" "$PY" -m dsproof.cli reproduce --preset "$preset" \
    --quiet
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "gpu_evidence.sh: failed: ${failed[*]} (outputs in $RESULTS/*_$GPU.txt)" >&2
  exit 1
fi
echo "gpu_evidence.sh: done on $GPU: $RESULTS/*_$GPU.txt, reports/reproduce/h100/ and reports/reproduce/h100-cot/"
