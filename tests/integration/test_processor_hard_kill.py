"""kill -9 in the middle of the stream, then a restart: no alert lost, none duplicated, the same final state.

How duplicates are counted: the raw alerts topic may hold re-sends of messages already sent (a batch whose
offsets were not committed when the worker died is processed again and sends the same bytes). Consumers
fold by alert id, so the spec is on the folded view and on the set of distinct messages: both must equal
an uninterrupted offline run. The number of re-sent messages is reported, not forbidden.
"""

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
    committed,
    compare_alerts,
    end_offsets,
    keyed,
    offline,
    private_topics,
    produce,
    read_table,
    read_topic,
    resent,
    simulated_feed,
    wait_caught_up,
)
from schemas.codec import encode
from services.processor.app import changelog_names
from services.processor.tables import child_of, load
from services.settings import Settings

KILL_AFTER_EVENTS = 2_500
RESTART_BUDGET_SECONDS = 15.0


def comparable(history: object) -> tuple[object, ...]:
    """Everything in a child's state except its version counter, which depends on batch boundaries."""
    return (history.facts, history.seen, history.retracted, history.standing)  # type: ignore[attr-defined]


async def status_when(worker: WorkerProcess, ready: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    async with asyncio.timeout(60):
        while True:
            status = worker.status()
            if status is not None and ready(status):
                return status
            assert worker.alive(), worker.log_tail()
            await asyncio.sleep(0.05)


@pytest.mark.kafka
@pytest.mark.slow
@pytest.mark.timeout(150)
@pytest.mark.parametrize(
    "store",
    [
        pytest.param("rocksdb://", id="local-rocksdb-state-reused"),
        # Restored from the changelog by faust's own recovery.
        pytest.param("memory://", id="state-restored-from-the-changelog"),
    ],
)
async def test_a_worker_killed_mid_stream_and_restarted_loses_and_duplicates_no_alert(
    kafka_settings: Settings, tmp_path: Path, store: str
) -> None:
    feed = simulated_feed(("942", "886"), annual_referrals=250)
    assert len(feed) >= 10_000
    reference = offline(feed)
    names = Names.unique("it-hard-kill")
    processor = names.processor_settings()
    # Small batches and static membership: the kill lands mid-stream, and the restart rejoins at once.
    options = {"max_batch": "100", "group_instance_id": "hard-kill-worker"}
    async with private_topics(kafka_settings, names):
        await produce(principal_settings("ingest"), processor.events_topic, keyed(feed, encode))
        first = WorkerProcess("worker", tmp_path, names.env(), store=store, **options).start()
        second = WorkerProcess("worker", tmp_path, names.env(), store=store, **options)
        try:
            await status_when(first, lambda s: s["events"] >= KILL_AFTER_EVENTS)
            first.kill9()
            done_at_kill = sum((await committed(kafka_settings, processor.app_id, processor.events_topic)).values())
            assert 0 < done_at_kill < len(feed), "the kill must land while events are still in flight"

            second.start()  # the same data directory and the same group instance id
            status = await status_when(second, lambda s: s["first_batch_at"] is not None)
            restart_seconds = status["first_batch_at"] - second.started_at
            await wait_caught_up(kafka_settings, processor.app_id, processor.events_topic, [second], timeout=90)
        finally:
            first.kill9()
            assert second.stop() in (0, None), second.log_tail()
        records = await read_topic(kafka_settings, processor.alerts_topic)
        table = await read_table(kafka_settings, changelog_names(processor)[0])
        ends = await end_offsets(kafka_settings, processor.events_topic)

    assert sum(ends.values()) == len(feed)
    assert compare_alerts(records, reference.messages) == [], "alerts lost, invented or different"
    counts = f"{len(records)} raw alert messages, {resent(records)} re-sent, {len(reference.messages)} offline"
    print(f"\n{store} killed after {done_at_kill} committed events; first batch {restart_seconds:.2f}s after restart")
    print(counts)

    live_state = {child_of(key): load(value) for key, value in table.items()}
    assert set(live_state) == set(reference.children)
    assert {c: comparable(h) for c, h in live_state.items()} == {
        c: comparable(h) for c, h in reference.children.items()
    }
    assert restart_seconds < RESTART_BUDGET_SECONDS
