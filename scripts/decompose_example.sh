#!/usr/bin/env bash
# The worked example of `dsproof decompose` (reports/decompose/cpu/, see its README.md): re-run seeds 0-7 of the cpu
# proxy with the evaluation generations exported (about 3 min a seed on 2 cores, single-threaded), keep each run's
# generations and results.json, and read the generations back.  Run from anywhere; PY overrides the interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=reports/decompose/cpu
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
for s in 0 1 2 3 4 5 6 7; do
  "$PY" -m dsproof.cli reproduce --preset cpu --seed "$s" --out "$TMP" --export-generations --quiet >/dev/null
  run="$TMP/cpu$([ "$s" = 0 ] || echo "-seed$s")"
  mkdir -p "$OUT/seed$s"
  cp "$run"/generations/*.jsonl.gz "$run/results.json" "$OUT/seed$s/"
done
"$PY" -m dsproof.cli decompose $OUT/seed? --budget 3 --id-buckets 1 2 --bootstrap 500 --out "$OUT"
