#!/usr/bin/env bash
# `make demo`: starts the local Kafka broker if none is running, runs `frontdoor demo` (the topics, a worker, the
# alert desk, a year of synthetic history for one council then a live feed, and a live tail of alerts), and stops
# the broker afterwards if this script started it (KEEP_KAFKA=1 leaves it running).
# DEMO_COUNCIL, DEMO_SEED, DEMO_RATE, DEMO_SECONDS, DEMO_KEEP_RUNNING=1, DEMO_DESK_PORT, DEMO_METRICS_PORT,
# DEMO_PROMETHEUS_PORT and DEMO_ALERTMANAGER_PORT
# become the demo's flags (`frontdoor demo --help`); DEMO_SECONDS=N stops it after N seconds of live feed.
set -uo pipefail
cd "$(dirname "$0")/.."
export FRONTDOOR_PROFILE=dev  # synthetic children only: the built-in dev pseudonymisation key is allowed
export FRONTDOOR_BOOTSTRAP_SERVERS="${FRONTDOOR_BOOTSTRAP_SERVERS:-127.0.0.1:9092}"
demo=(.venv/bin/python -m services.cli demo)
[ -n "${DEMO_COUNCIL:-}" ] && demo+=(--council "$DEMO_COUNCIL")
[ -n "${DEMO_SEED:-}" ] && demo+=(--seed "$DEMO_SEED")
[ -n "${DEMO_RATE:-}" ] && demo+=(--rate "$DEMO_RATE")
[ -n "${DEMO_SECONDS:-}" ] && demo+=(--seconds "$DEMO_SECONDS")
[ "${DEMO_KEEP_RUNNING:-0}" = "1" ] && demo+=(--keep-running)
[ -n "${DEMO_DESK_PORT:-}" ] && demo+=(--desk-port "$DEMO_DESK_PORT")
[ -n "${DEMO_METRICS_PORT:-}" ] && demo+=(--metrics-port "$DEMO_METRICS_PORT")
[ -n "${DEMO_PROMETHEUS_PORT:-}" ] && demo+=(--prometheus-port "$DEMO_PROMETHEUS_PORT")
[ -n "${DEMO_ALERTMANAGER_PORT:-}" ] && demo+=(--alertmanager-port "$DEMO_ALERTMANAGER_PORT")

if python3 deploy/kafka/launcher.py status >/dev/null 2>&1; then
  exec "${demo[@]}"
fi
python3 deploy/kafka/launcher.py up || exit 1
if [ "${KEEP_KAFKA:-0}" = "1" ]; then
  exec "${demo[@]}"
fi

# The demo runs as a child so the broker can be stopped after it. It stops its own children on SIGINT or SIGTERM;
# a signal to this script alone is passed on to it.
"${demo[@]}" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null' INT TERM HUP
status=0
while kill -0 "$pid" 2>/dev/null; do
  wait "$pid"
  status=$?
done
python3 deploy/kafka/launcher.py down
exit "$status"
