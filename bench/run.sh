#!/usr/bin/env bash
# `make bench`: every benchmark, one line each, with the project's virtualenv. Results go to bench/results/.
# Extra arguments go to each benchmark, e.g. `bash bench/run.sh --referrals 200000` for a quick check
# (a quick check overwrites bench/results: pass --results-dir elsewhere to keep the committed figures).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"

# replay (events/s) and report (seconds) on a 10-year, 5M-referral history, against a DuckDB query
"$PYTHON" -m bench.replay_vs_duckdb "$@"
