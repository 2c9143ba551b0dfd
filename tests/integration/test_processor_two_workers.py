"""Two workers sharing six partitions give the same alerts and council aggregates as one worker (and as replay)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bench.kafka_principals import principal_settings
from bench.processor.harness import (
    Names,
    WorkerProcess,
    compare_alerts,
    council_totals,
    keyed,
    offline,
    private_topics,
    produce,
    read_topic,
    resent,
    settled_statuses,
    simulated_feed,
    status_totals,
    wait_caught_up,
)
from schemas.codec import encode
from services.settings import Settings


async def until(worker: WorkerProcess, ready: Callable[[dict[str, Any]], bool]) -> None:
    async with asyncio.timeout(180):  # generous: a loaded machine
        while not ((status := worker.status()) and ready(status)):
            assert worker.alive(), worker.log_tail()
            await asyncio.sleep(0.05)


@pytest.mark.kafka
@pytest.mark.slow
@pytest.mark.timeout(400)  # generous for a loaded machine; well under 30 s on a quiet one
async def test_two_workers_sharing_six_partitions_one_joining_mid_stream_give_the_alerts_and_totals_of_one(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    # Two councils whose contributions land in different partitions (942 -> 1, 886 -> 4 of 6).
    feed = simulated_feed(("942", "886"), annual_referrals=200, seed=11)
    reference = offline(feed)
    names = Names.unique("it-two-workers")
    processor = names.processor_settings()
    half = len(feed) // 2
    async with private_topics(kafka_settings, names):
        first = WorkerProcess("worker-1", tmp_path, names.env(), max_batch="100").start()
        second = WorkerProcess("worker-2", tmp_path, names.env(), max_batch="100")
        workers = [first, second]
        try:
            await produce(principal_settings("ingest"), processor.events_topic, keyed(feed[:half], encode))
            await until(first, lambda s: s["events"] >= 1_000)
            # The second worker joins while the first is busy: a rebalance in mid-stream.
            second.start()
            await produce(principal_settings("ingest"), processor.events_topic, keyed(feed[half:], encode))
            await wait_caught_up(kafka_settings, processor.app_id, processor.events_topic, workers, timeout=240)
            statuses = await settled_statuses(workers)
        finally:
            for worker in workers:
                worker.stop()
        records = await read_topic(kafka_settings, processor.alerts_topic)

    assert all(s is not None and s["events"] > 0 for s in statuses), f"both workers must take part: {statuses}"
    # Re-sends are allowed (a rebalance can hand a partition over mid-batch); lost or different alerts are not.
    assert compare_alerts(records, reference.messages) == []
    print(f"\n{len(records)} raw alert messages, {resent(records)} re-sent, {len(reference.messages)} offline")
    # Each council is summed by exactly one worker, and the sums are those of the offline histories.
    assert status_totals(statuses) == council_totals(reference.children.values())
