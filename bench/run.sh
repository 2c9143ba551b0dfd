#!/usr/bin/env bash
# `make bench`: every benchmark, one line each, with the project's virtualenv. Results go to bench/results/.
# Extra arguments go to each benchmark, e.g. `bash bench/run.sh --referrals 200000` for a quick check
# (a quick check overwrites bench/results: pass --results-dir elsewhere to keep the committed figures).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"

# replay (events/s) and report (seconds) on a 10-year, 5M-referral history, against a DuckDB query
"$PYTHON" -m bench.replay_vs_duckdb "$@"

# report --by month (every series key, councils in parallel) against DuckDB's C1 monthly flags, same history
"$PYTHON" -m bench.series_vs_duckdb

# the report pack for a mid-size council (Wirral) and for Kent from two years of history: seconds, peak memory
"$PYTHON" -m bench.pack_build

# the live worker against a naive faust table agent and the raw aiokafka ceiling, latency, restart, restore,
# memory per 100k children: needs a broker, started here if none answers and stopped again afterwards
started_kafka=0
if ! python3 deploy/kafka/launcher.py status >/dev/null 2>&1; then
  python3 deploy/kafka/launcher.py up
  started_kafka=1
fi
trap '[ "$started_kafka" -eq 1 ] && python3 deploy/kafka/launcher.py down' EXIT
FRONTDOOR_PROFILE=dev "$PYTHON" -m bench.processor.run

# the alert desk with a large council's alerts: cold start, memory, page loads in Chromium (bench/README.md, "desk")
bash bench/desk.sh
