"""Latency to a card visible in headless Chromium, p50 and p95 over 100 alerts, along two paths:

- `events`, the live path: from an inbound event (a child's second referral) produced to the events topic,
  through `frontdoor worker` (memory store), its alerts topic and the desk, to the re-referral's card;
- `alerts`, the desk alone: from an alert produced straight to the desk's alerts topic, to its card.

    FRONTDOOR_BOOTSTRAP_SERVERS=127.0.0.1:9092 .venv/bin/python -m tests.e2e.latency [--alerts 100] [--gap 0.1]
        [--path events|alerts|both]

The clock is the machine's: the produce time is taken just before the send, the visible time by a
MutationObserver in the page when the card is inserted. It includes every broker round trip (acks=all), the
worker's batch window and state write on the events path, the desk's consumer, the audit record written before
each push, the server-sent event and the browser's rendering. Each path prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import hashlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from selenium.webdriver.support.ui import WebDriverWait

from bench.processor.harness import offline, wait_caught_up
from schemas.alerts import Alert
from schemas.codes import ClosureReason
from schemas.events import InboundEvent
from services.alertdesk.settings import AlertDeskSettings
from services.ingest.identity import Pseudonymiser
from services.settings import Settings
from tests.builders import make_closure, make_referral
from tests.e2e.desk_runner import DeskThread, chromium, sign_in
from tests.e2e.pipeline import live_pipeline
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
Send = tuple[str, Callable[[], None]]  # the card that must appear, and the send that makes it appear


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def time_cards(desk: DeskThread, sends: list[Send], gap_seconds: float) -> list[float]:
    """Sign in, send one message every `gap_seconds`, and return each card's milliseconds from send to visible."""
    driver = chromium()
    produced: dict[str, float] = {}
    try:
        sign_in(driver, desk.url, "dm.kent", PASSWORD)
        driver.execute_script(WATCH_CARDS)
        for card, send in sends:
            produced[card] = time.time() * 1000
            send()
            time.sleep(gap_seconds)  # the pacing of the load, not a wait for a result
        WebDriverWait(driver, 60, poll_frequency=0.2).until(
            lambda d: d.execute_script("return Object.keys(window.__seen).length") >= len(sends)
        )
        seen: dict[str, float] = driver.execute_script("return window.__seen")
    finally:
        driver.quit()
    return [seen[card] - produced[card] for card in produced]


def summary(path: str, latencies: list[float]) -> dict[str, float | str]:
    return {
        "path": path,
        "alerts": len(latencies),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "max_ms": round(max(latencies), 1),
        "min_ms": round(min(latencies), 1),
    }


def measure_alerts(settings: Settings, count: int, gap_seconds: float) -> dict[str, float | str]:
    """The desk alone: alerts produced straight to its alerts topic."""
    topics = TestTopics(settings, "latency")
    config = AlertDeskSettings(
        alerts_topic=topics.unique_name("alerts"),
        actions_topic=topics.unique_name("actions"),
        audit_topic=topics.unique_name("audit"),
        events_topic=topics.unique_name("events"),
        totals_topic="",
        database_url="sqlite:///:memory:",
        history_after_days=100_000,  # the builders' alerts are dated 2024: keep them in the live feed
    )
    desk = DeskThread(settings, config, directory("dm.kent")).start()
    try:
        alerts = [make_rereferral(child_key=hashlib.sha256(f"latency-{n}".encode()).hexdigest()) for n in range(count)]
        sends: list[Send] = [(f"alert-{a.alert_id}", functools.partial(desk.produce_alert, a)) for a in alerts]
        latencies = time_cards(desk, sends, gap_seconds)
    finally:
        desk.stop()
        asyncio.run(topics.delete_all())
    return summary("alerts", latencies)


def referral_histories(count: int) -> tuple[list[InboundEvent], list[InboundEvent]]:
    """Per child, a referral closed NFA last autumn (no alert), and the referral in June that re-refers it.

    Nine months apart, so each trigger raises exactly one alert (a re-referral, not two referrals in six months).
    """
    pseudonyms = Pseudonymiser(b"latency key, not a council's")
    history: list[InboundEvent] = []
    triggers: list[InboundEvent] = []
    for n in range(count):
        key = pseudonyms.pseudonymise_child("886", f"886-{n:07d}").pseudonym
        first = make_referral("2023-09-01", child_key=key)
        history += [first, make_closure(first, "2023-10-13", reason=ClosureReason.CLOSED_AFTER_ASSESSMENT_NFA)]
        triggers.append(make_referral("2024-06-05", child_key=key))
    return history, triggers


def measure_events(settings: Settings, count: int, gap_seconds: float) -> dict[str, float | str]:
    """The live path: each child's second referral produced to the events topic, through the worker."""
    history, triggers = referral_histories(count)
    raised = [m for m in offline(history + triggers).messages if isinstance(m, Alert)]
    card_of = {m.trigger_event_id: f"alert-{m.alert_id}" for m in raised}
    assert len(card_of) == count, "one alert per trigger"
    with (
        tempfile.TemporaryDirectory(prefix="latency-") as workdir,
        live_pipeline(settings, Path(workdir), directory("dm.kent"), "latency") as pipeline,
    ):
        pipeline.produce_events(*history)
        processor = pipeline.names.processor_settings()
        # Histories applied before the clock starts, so each trigger is timed alone.
        asyncio.run(wait_caught_up(settings, processor.app_id, processor.events_topic, [pipeline.worker], 120))
        sends: list[Send] = [(card_of[t.event_id], functools.partial(pipeline.produce_events, t)) for t in triggers]
        latencies = time_cards(pipeline.desk, sends, gap_seconds)
        assert pipeline.dead_letters() == []
    return summary("events", latencies)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=100)
    parser.add_argument("--gap", type=float, default=0.1, help="seconds between sends (default 0.1)")
    parser.add_argument("--path", choices=["events", "alerts", "both"], default="both")
    args = parser.parse_args()
    settings = Settings(profile="dev")
    if args.path in ("events", "both"):
        print(json.dumps(measure_events(settings, args.alerts, args.gap)), flush=True)
    if args.path in ("alerts", "both"):
        print(json.dumps(measure_alerts(settings, args.alerts, args.gap)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
