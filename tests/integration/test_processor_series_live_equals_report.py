"""A simulated year through Kafka and a worker gives council totals whose monthly series is `report --by month`'s.

The same totals, read back from the council totals topic (latest snapshot per council-month), are the worker's own;
a restarted worker publishes every month again, first to last.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
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
    read_topic,
    simulated_feed,
    status_totals,
    wait_caught_up,
)
from schemas.codec import decode_totals, encode
from schemas.totals import CouncilMonthTotals
from services.core.aggregates import AggregateKey
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
        published = await totals_on_topic(kafka_settings, processor.totals_topic)
        worker_totals = status_totals([status])["942"]
        months = sorted({month for month, _, _ in worker_totals})
        every_month = dense(months[0], months[-1])
        restarted = WorkerProcess("restarted", tmp_path, names.env()).start()
        try:  # the restart rebuilds its sums from the table and publishes every month, empty or not
            wanted = len(published) + len(every_month)
            republished = await totals_on_topic(kafka_settings, processor.totals_topic, wanted)
        finally:
            assert restarted.stop() == 0, restarted.log_tail()

    assert summed(latest(published)) == worker_totals  # the topic carries the worker's totals, nothing else
    before = max(s.timestamp for s in published)
    assert {s.snapshot.month for s in republished if s.timestamp > before} == set(every_month)
    assert summed(latest(republished)) == worker_totals

    live = series_by(summed(latest(published)), "month")  # the series from the topic, as the portal reads it
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


@dataclass(frozen=True)
class Published:
    snapshot: CouncilMonthTotals
    timestamp: int


async def totals_on_topic(settings: Settings, topic: str, at_least: int = 1) -> list[Published]:
    """Every snapshot on the totals topic, partition by partition in offset order, once there are `at_least`."""
    for _ in range(100):
        records = await read_topic(settings, topic)
        if len(records) >= at_least:
            break
        await asyncio.sleep(0.3)
    return [Published(decode_totals(r.value), r.timestamp) for r in records if r.value is not None]


def latest(published: list[Published]) -> list[CouncilMonthTotals]:
    """What compaction keeps: the last snapshot of each key (a key lives in one partition, in offset order)."""
    return list({p.snapshot.key: p.snapshot for p in published}.values())


def summed(snapshots: list[CouncilMonthTotals]) -> Counter[AggregateKey]:
    return Counter({(s.month, c.measure, c.label): c.count for s in snapshots for c in s.cells})


def dense(first: str, last: str) -> list[str]:
    start, end = (int(m[:4]) * 12 + int(m[5:]) - 1 for m in (first, last))
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(start, end + 1)]
