#!/usr/bin/env bash
# `make demo`: a local Kafka broker, the project's topics, and a synthetic front-door feed through a worker.
set -uo pipefail
cd "$(dirname "$0")/.."
export FRONTDOOR_PROFILE=dev  # synthetic children only: the built-in dev pseudonymisation key is allowed
export FRONTDOOR_BOOTSTRAP_SERVERS="${FRONTDOOR_BOOTSTRAP_SERVERS:-127.0.0.1:9092}"
started_kafka=0
finish() {
  if [ "$started_kafka" -eq 1 ] && [ "${KEEP_KAFKA:-0}" != "1" ]; then
    python3 deploy/kafka/launcher.py down
  fi
}
trap finish EXIT

if ! python3 deploy/kafka/launcher.py status >/dev/null 2>&1; then
  python3 deploy/kafka/launcher.py up || exit 1
  started_kafka=1
fi
.venv/bin/frontdoor topics create
.venv/bin/frontdoor demo
status=$?
[ "$started_kafka" -eq 1 ] && [ "${KEEP_KAFKA:-0}" != "1" ] && echo "(Kafka is stopped again; KEEP_KAFKA=1 make demo leaves it running.)"
exit $status
