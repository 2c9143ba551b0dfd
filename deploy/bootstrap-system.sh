#!/usr/bin/env bash
# Installs the system packages a fresh machine lacks (Debian): Java 17 and Maven for Kafka, Prometheus,
# Alertmanager and Chromium for the tests. Only what is missing; quiet when everything is there.
set -euo pipefail

need=()
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v amtool >/dev/null 2>&1 || need+=(prometheus-alertmanager)
command -v chromium >/dev/null 2>&1 || need+=(chromium chromium-driver)
command -v python3.11 >/dev/null 2>&1 || need+=(python3.11 python3.11-venv)

[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "Missing system packages: ${need[*]}. Install them with apt-get (needs root)." >&2
  exit 1
fi
echo "Installing system packages: ${need[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian's prometheus packages start their services on install; the tests run their own instances.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  "${sudo[@]}" systemctl disable --now prometheus prometheus-alertmanager prometheus-node-exporter 2>/dev/null || true
fi
pkill -x prometheus 2>/dev/null || true
pkill -x prometheus-alertmanager 2>/dev/null || true
pkill -x prometheus-node-exporter 2>/dev/null || true
echo "System packages installed."
