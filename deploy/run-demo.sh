#!/usr/bin/env bash
# `make demo`: the whole stack on this machine. Kafka, the topics, a worker (with /metrics), the alert desk
# and a synthetic MASH feed for one council (a year of history, then live), with a live tail of alerts.
# Runs until Ctrl-C; DEMO_SECONDS=N stops it after N seconds of live feed.
set -uo pipefail
cd "$(dirname "$0")/.."
export FRONTDOOR_PROFILE=dev  # synthetic children only: the built-in dev pseudonymisation key is allowed
export FRONTDOOR_BOOTSTRAP_SERVERS="${FRONTDOOR_BOOTSTRAP_SERVERS:-127.0.0.1:9092}"
COUNCIL="${DEMO_COUNCIL:-942}"   # Cumberland: the median council by 2024-25 referrals
SEED="${DEMO_SEED:-1}"
BIN=.venv/bin
work=.demo
mkdir -p "$work"
pids=()
started_kafka=0

finish() {
  [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null
  wait 2>/dev/null
  if [ "$started_kafka" -eq 1 ] && [ "${KEEP_KAFKA:-0}" != "1" ]; then
    python3 deploy/kafka/launcher.py down
  fi
}
trap finish EXIT
trap 'exit 0' INT TERM

if ! python3 deploy/kafka/launcher.py status >/dev/null 2>&1; then
  python3 deploy/kafka/launcher.py up || exit 1
  started_kafka=1
fi
"$BIN/frontdoor" topics create

# A fresh demo user with a random password each run: the desk has no default user.
password=$(python3 -c 'import secrets; print(secrets.token_urlsafe(12))')
rm -f "$work/alertdesk-users.toml"
printf '%s\n' "$password" | "$BIN/frontdoor" alertdesk add-user --users-file "$work/alertdesk-users.toml" \
  --username demo.duty --role duty_manager --la-code "$COUNCIL" --password-stdin >/dev/null || exit 1

"$BIN/frontdoor" worker --store memory:// --datadir "$work/worker-$$" --metrics-port 9464 >"$work/worker.log" 2>&1 &
pids+=($!)
FRONTDOOR_ALERTDESK_USERS_FILE="$work/alertdesk-users.toml" \
FRONTDOOR_ALERTDESK_SESSION_SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(32))') \
FRONTDOOR_ALERTDESK_COOKIE_SECURE=false \
  "$BIN/frontdoor" alertdesk serve --host 127.0.0.1 --port 8080 >"$work/alertdesk.log" 2>&1 &
pids+=($!)

echo "Sending a year of history for council $COUNCIL ..."
"$BIN/frontdoor" simulate --council "$COUNCIL" --years 1 --start "$(date -d '1 year ago' +%F)" --seed "$SEED" --to kafka
"$BIN/frontdoor" simulate --mode live --council "$COUNCIL" --rate "${DEMO_RATE:-20}" --seed "$SEED" \
  >"$work/simulate.log" 2>&1 &
pids+=($!)

cat <<EOT

  Front Door Monitor is running.
    alert desk   http://127.0.0.1:8080/login   user: demo.duty   password: $password
    metrics      http://127.0.0.1:9464/metrics
    logs         $work/worker.log  $work/alertdesk.log  $work/simulate.log
  Live alerts follow (Ctrl-C stops everything).

EOT
if [ "${DEMO_SECONDS:-0}" -gt 0 ]; then
  timeout "$DEMO_SECONDS" "$BIN/frontdoor" alerts tail
  echo
  echo "After ${DEMO_SECONDS}s of live feed:"
  curl -s 127.0.0.1:9464/metrics | grep -E '^frontdoor_(alerts_raised_total|rereferral_rolling_12_months_ratio|events_consumed_total\{outcome="applied")' \
    | grep -v ' 0.0$' | head -12
else
  "$BIN/frontdoor" alerts tail
fi
