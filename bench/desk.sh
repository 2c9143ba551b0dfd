#!/usr/bin/env bash
# The desk benchmark (bench/README.md, "desk"): Kent's simulated history, replayed to alerts, through the desk.
# Needs a broker (FRONTDOOR_BOOTSTRAP_SERVERS) and Debian's chromium + chromium-driver. Extra arguments go to
# bench.desk.run (e.g. --database postgresql, --samples 20).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
YEARS="${DESK_BENCH_YEARS:-5}"
WORK="${TMPDIR:-/tmp}/frontdoor-bench-desk"
mkdir -p "$WORK"
if [ ! -s "$WORK/out/alerts.jsonl" ]; then
  FRONTDOOR_PROFILE=dev "$PYTHON" -m services.cli simulate --council 886 --years "$YEARS" --seed 7 --out "$WORK/history.jsonl"
  FRONTDOOR_PROFILE=dev "$PYTHON" -m services.cli replay --events "$WORK/history.jsonl" --out-dir "$WORK/out"
fi
"$PYTHON" -m bench.desk.run --events "$WORK/history.jsonl" --alerts "$WORK/out/alerts.jsonl" "$@"
