"""The same event file through `frontdoor replay` and through Kafka plus a worker gives the same alerts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.kafka_principals import principal_settings
from bench.processor.harness import (
    REPO,
    Names,
    WorkerProcess,
    alerts_by_child,
    fold,
    private_topics,
    produce,
    read_topic,
    simulated_feed,
    wait_caught_up,
)
from schemas.codec import decode_alert, encode
from services.settings import Settings


@pytest.mark.kafka
@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_a_simulated_year_through_a_worker_gives_exactly_the_alerts_replay_gives(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    feed = simulated_feed(("942",), annual_referrals=300)
    events_file = tmp_path / "events.jsonl"
    events_file.write_bytes(b"".join(encode(e) + b"\n" for e in feed))
    replay = [sys.executable, "-m", "services.cli", "replay", "--events", str(events_file), "--out-dir", str(tmp_path)]
    subprocess.run(replay, cwd=REPO, check=True, capture_output=True)  # our own argv
    offline = [decode_alert(line) for line in (tmp_path / "alerts.jsonl").read_bytes().splitlines()]

    names = Names.unique("it-live-offline")
    async with private_topics(kafka_settings, names):
        lines = events_file.read_bytes().splitlines()
        await produce(
            principal_settings("ingest"),  # the events a council's ingest would send, as the ingest principal
            names.processor_settings().events_topic,
            [(e.la_code.encode(), line) for e, line in zip(feed, lines, strict=True)],
        )
        worker = WorkerProcess("worker", tmp_path, names.env()).start()
        try:
            processor = names.processor_settings()
            await wait_caught_up(kafka_settings, processor.app_id, processor.events_topic, [worker], timeout=90)
        finally:
            assert worker.stop() == 0, worker.log_tail()
        live = alerts_by_child(await read_topic(kafka_settings, processor.alerts_topic))

    offline_by_child: dict[str, list[object]] = {}
    for message in offline:
        offline_by_child.setdefault(message.child_key, []).append(message)
    assert len(offline) > 100, "the feed should raise a fair number of alerts"
    # Child by child, the same messages in the same order: raised, revised and withdrawn alike.
    assert live == offline_by_child
    live_messages = [m for messages in live.values() for m in messages]
    assert {m.alert_id for m in live_messages} == {m.alert_id for m in offline}
    assert fold(live_messages) == fold(offline)
