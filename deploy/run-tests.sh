#!/usr/bin/env bash
# `make test`: lint, type-check, architecture contracts, then the whole pytest suite against a real broker.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export REFERENCE_DATA_REQUIRED=1 KAFKA_REQUIRED=1 POSTGRES_REQUIRED=1 PROMTOOL_REQUIRED=1 AMTOOL_REQUIRED=1
export FRONTDOOR_BOOTSTRAP_SERVERS="${FRONTDOOR_BOOTSTRAP_SERVERS:-127.0.0.1:9092}"
# The broker this run uses: the port of FRONTDOOR_BOOTSTRAP_SERVERS, its controller on the next port (9092/9093),
# state in ~/.cache/frontdoor/kafka-run/<port>-secure (secured) or <port> (KAFKA_SECURE=0) unless KAFKA_STATE_DIR
# says otherwise.
export KAFKA_PORT="${KAFKA_PORT:-${FRONTDOOR_BOOTSTRAP_SERVERS##*:}}"
export KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
# The CI broker is the secured one (SASL_SSL, SCRAM, ACLs); KAFKA_SECURE=0 runs the suite on a PLAINTEXT broker.
KAFKA_SECURE="${KAFKA_SECURE:-1}"
if [ "$KAFKA_SECURE" = 1 ] && [ -z "${KAFKA_STATE_DIR:-}" ]; then
  # Its own state, apart from the PLAINTEXT dev broker's (`make kafka-up`, `make demo`) on the same port, which
  # would otherwise refuse to be started secured.
  export KAFKA_STATE_DIR="$HOME/.cache/frontdoor/kafka-run/$KAFKA_PORT-secure"
fi
started_kafka=0
start=$(date +%s)

stop_kafka() {
  if [ "$started_kafka" -eq 1 ]; then
    python3 deploy/kafka/launcher.py down || true
  fi
}
trap stop_kafka EXIT

running=0
if python3 deploy/kafka/launcher.py status >/dev/null 2>&1; then
  running=1
  echo "Kafka is already running on port $KAFKA_PORT; using it."
fi
if [ "$KAFKA_SECURE" = 1 ]; then
  # --test-acls: the production ACLs also hold for the tests' private topics (deploy/kafka/README.md, "CI").
  up_log=$(mktemp)
  python3 deploy/kafka/launcher.py up --secure --test-acls | tee "$up_log"
  up_status=${PIPESTATUS[0]}
  [ "$running" -eq 0 ] && [ "$up_status" -eq 0 ] && started_kafka=1
  credentials=$(sed -n 's/^CREDENTIALS=//p' "$up_log")
  rm -f "$up_log"
  if [ "$up_status" -ne 0 ] || [ -z "$credentials" ]; then
    echo "No secured broker on port $KAFKA_PORT (a PLAINTEXT one there is not replaced): stop it, choose another" \
      "port (FRONTDOOR_BOOTSTRAP_SERVERS=127.0.0.1:19092 make test), or KAFKA_SECURE=0 make test." >&2
    exit 1
  fi
  # Test setup (topics, reading results back) as the admin principal; each service a test starts connects as its
  # own principal from KAFKA_CREDENTIALS (bench/kafka_principals.py).
  export KAFKA_CREDENTIALS="$credentials"
  set -a
  # shellcheck disable=SC1091
  . "$(dirname "$credentials")/env/admin.env"
  set +a
  echo "Secured broker: SASL_SSL at $FRONTDOOR_BOOTSTRAP_SERVERS as $FRONTDOOR_SASL_USERNAME for test setup."
elif [ "$running" -eq 0 ]; then
  python3 deploy/kafka/launcher.py up || { echo "Kafka did not start: see the log above." >&2; exit 1; }
  started_kafka=1
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
