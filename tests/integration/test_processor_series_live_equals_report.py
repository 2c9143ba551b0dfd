"""A simulated year through Kafka and a worker gives council totals whose monthly series is `report --by month`'s."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.kafka_principals import principal_settings
from bench.processor.harness import (
    REPO,
    Names,
    WorkerProcess,
    keyed,
    private_topics,
    produce,
    simulated_feed,
    status_totals,
    wait_caught_up,
)
from schemas.codec import encode
from services.core.series import series_by
from services.settings import Settings


@pytest.mark.kafka
@pytest.mark.slow
@pytest.mark.timeout(150)
async def test_a_simulated_year_through_a_worker_gives_the_monthly_series_of_report_by_month_for_every_key(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    feed = simulated_feed(("942",), annual_referrals=300, seed=5)
    events_file = tmp_path / "events.jsonl"
    events_file.write_bytes(b"".join(encode(e) + b"\n" for e in feed))
    report = [sys.executable, "-m", "services.cli", "report", "--events", str(events_file), "--by", "month"]
    done = subprocess.run([*report, "--format", "json"], cwd=REPO, check=True, capture_output=True)  # our own argv
    offline = [row for row in json.loads(done.stdout)["months"] if row["la_code"] == "942"]

    names = Names.unique("it-series-live")
    processor = names.processor_settings()
    async with private_topics(kafka_settings, names):
        await produce(principal_settings("ingest"), processor.events_topic, keyed(feed, encode))
        worker = WorkerProcess("worker", tmp_path, names.env()).start()
        try:
            await wait_caught_up(kafka_settings, processor.app_id, processor.events_topic, [worker], timeout=100)
            await asyncio.sleep(0.5)  # the status file is rewritten every 0.1 s
            status = worker.status()
        finally:
            assert worker.stop() == 0, worker.log_tail()

    live = series_by(status_totals([status])["942"], "month")
    assert len(live) >= 24 and sum(int(row["referrals"] or 0) for row in live) > 300
    assert [row["month"] for row in live] == [row["month"] for row in offline]
    # Every key of the live series, month by month, as the report prints it (the report adds benchmarks beside).
    differences = [
        (mine["month"], key, theirs.get(key), value)
        for mine, theirs in zip(live, offline, strict=True)
        for key, value in mine.items()
        if theirs.get(key) != value
    ]
    assert differences == [], f"(month, key, report, live): {differences[:20]}"
