#!/usr/bin/env bash
# `make test`: lint, type-check, architecture contracts, then the whole pytest suite against a real broker.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export REFERENCE_DATA_REQUIRED=1 KAFKA_REQUIRED=1 POSTGRES_REQUIRED=1 PROMTOOL_REQUIRED=1 AMTOOL_REQUIRED=1 FRONTDOOR_BOOTSTRAP_SERVERS="${FRONTDOOR_BOOTSTRAP_SERVERS:-127.0.0.1:9092}"
started_kafka=0
start=$(date +%s)

stop_kafka() {
  if [ "$started_kafka" -eq 1 ]; then
    python3 deploy/kafka/launcher.py down || true
  fi
}
trap stop_kafka EXIT

if ! python3 deploy/kafka/launcher.py status >/dev/null 2>&1; then
  python3 deploy/kafka/launcher.py up || { echo "Kafka did not start: see the log above." >&2; exit 1; }
  started_kafka=1
else
  echo "Kafka is already running; using it."
fi

failed=()
step() {
  local name=$1; shift
  echo "== $name"
  if ! "$@"; then failed+=("$name"); fi
}
step "ruff check" "$BIN/ruff" check .
step "ruff format" "$BIN/ruff" format --check .
step "mypy" "$BIN/mypy"
step "import-linter" "$BIN/lint-imports"
step "JSON Schema drift" "$BIN/python" -m schemas.generate --check
step "pytest" "$BIN/python" -m pytest -q -p no:cacheprovider --durations=15 "$@"

echo "== make test took $(( $(date +%s) - start )) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED steps: ${failed[*]}" >&2
  exit 1
fi
echo "All checks passed."
