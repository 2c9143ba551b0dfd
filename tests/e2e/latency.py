"""Latency from an alert produced to Kafka to its card visible in headless Chromium: p50 and p95 over 100 alerts.

    FRONTDOOR_BOOTSTRAP_SERVERS=127.0.0.1:9092 .venv/bin/python -m tests.e2e.latency [--alerts 100] [--gap 0.1]

The clock is the machine's: the produce time is taken just before the send, the visible time by a
MutationObserver in the page when the card is inserted. It includes the broker round trip (acks=all), the desk's
consumer, the audit record written before each push, the server-sent event and the browser's rendering.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import statistics
import sys
import time

from selenium.webdriver.support.ui import WebDriverWait

from services.alertdesk.settings import AlertDeskSettings
from services.settings import Settings
from tests.e2e.desk_runner import DeskThread, chromium, sign_in
from tests.integration.conftest import TestTopics
from tests.unit.alertdesk.desk_builders import PASSWORD, directory, make_rereferral

WATCH_CARDS = """
window.__seen = {};
new MutationObserver((changes) => {
  const now = Date.now();
  for (const change of changes) for (const node of change.addedNodes) {
    if (node.id && node.id.startsWith("alert-") && !(node.id in window.__seen)) window.__seen[node.id] = now;
  }
}).observe(document.getElementById("feed"), {childList: true});
"""


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure(count: int, gap_seconds: float) -> dict[str, float]:
    settings = Settings(profile="dev")
    topics = TestTopics(settings, "latency")
    config = AlertDeskSettings(
        alerts_topic=topics.unique_name("alerts"),
        actions_topic=topics.unique_name("actions"),
        audit_topic=topics.unique_name("audit"),
    )
    desk = DeskThread(settings, config, directory("dm.kent")).start()
    driver = chromium()
    produced: dict[str, float] = {}
    try:
        sign_in(driver, desk.url, "dm.kent", PASSWORD)
        driver.execute_script(WATCH_CARDS)
        for n in range(count):
            alert = make_rereferral(child_key=hashlib.sha256(f"latency-{n}".encode()).hexdigest())
            produced[f"alert-{alert.alert_id}"] = time.time() * 1000
            desk.produce_alert(alert)
            time.sleep(gap_seconds)
        WebDriverWait(driver, 30, poll_frequency=0.2).until(
            lambda d: d.execute_script("return Object.keys(window.__seen).length") >= count
        )
        seen: dict[str, float] = driver.execute_script("return window.__seen")
    finally:
        driver.quit()
        desk.stop()
        asyncio.run(topics.delete_all())
    latencies = [seen[card] - produced[card] for card in produced]
    return {
        "alerts": count,
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "max_ms": round(max(latencies), 1),
        "min_ms": round(min(latencies), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=100)
    parser.add_argument("--gap", type=float, default=0.1, help="seconds between alerts (default 0.1)")
    args = parser.parse_args()
    print(json.dumps(measure(args.alerts, args.gap)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
