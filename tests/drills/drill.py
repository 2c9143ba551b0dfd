"""What every drill does around its failure: private topics on the cluster, the worker, and the final reckoning.

The reckoning reads the topics back: every event on the events topic exactly once, the alerts those events give
through the offline engine (what `frontdoor replay` runs) equal to the live alerts topic, folded by alert id.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.kafka_cluster import Cluster
from bench.processor.harness import (
    Names,
    WorkerProcess,
    compare_alerts,
    create_topics,
    delete_topics,
    fold,
    offline,
    read_topic,
    resent,
    simulated_feed,
    wait_caught_up,
)
from schemas.codec import decode_alert, decode_event
from schemas.events import InboundEvent
from tests.drills.feed import AlertClock, FeedRun

FEED_EVENTS = 20_000
COUNCILS = ("942", "886")
WORKER_READY_SECONDS = 120.0


def drill_feed(seed: int, events: int = FEED_EVENTS) -> list[InboundEvent]:
    """A calibrated feed of two councils cut to `events` (warm-up year and one more, late and duplicate records too)."""
    feed = simulated_feed(COUNCILS, annual_referrals=800, seed=seed)
    assert len(feed) >= events, f"the simulated feed has only {len(feed)} events"
    return feed[:events]


@contextlib.asynccontextmanager
async def drill_topics(cluster: Cluster, purpose: str) -> AsyncIterator[Names]:
    """A drill's own events, alerts, dead-letter and changelog topics (replication 3), deleted afterwards."""
    names = Names.unique(purpose)
    await create_topics(cluster.settings, names)
    try:
        yield names
    finally:
        with contextlib.suppress(Exception):  # the cluster may be the thing that failed; never mask the drill's error
            await delete_topics(cluster.settings, names.all_topics())


def worker(cluster: Cluster, tmp_path: Path, names: Names, name: str = "worker", **extra: str) -> WorkerProcess:
    """`frontdoor worker` on the cluster (RocksDB state, static membership), checking Kafka's health every second."""
    env = names.env() | cluster.service_env() | {"FRONTDOOR_PROCESSOR_KAFKA_HEALTH_INTERVAL_SECONDS": "1"}
    options = {"group_instance_id": f"drill-{name}", "max_batch": "500"} | extra
    return WorkerProcess(name, tmp_path, env, **options)


async def until_running(*workers: WorkerProcess, timeout: float = WORKER_READY_SECONDS) -> None:
    async with asyncio.timeout(timeout):
        while any(w.status() is None for w in workers):
            for w in workers:
                assert w.alive(), f"{w.name} exited while starting:\n{w.log_tail()}"
            await asyncio.sleep(0.1)


async def until_acknowledged(run: FeedRun, count: int, timeout: float = 120.0) -> None:
    """Until the broker has acknowledged `count` of the feed: the failure then lands while the feed still flows,
    however far behind a loaded machine leaves the worker."""
    async with asyncio.timeout(timeout):
        while len(run.written) < count:
            await asyncio.sleep(0.05)


async def until_events(workers: Sequence[WorkerProcess], count: int, timeout: float = 120.0) -> None:
    async with asyncio.timeout(timeout):
        while sum((w.status() or {}).get("events", 0) for w in workers) < count:
            await asyncio.sleep(0.05)


@dataclass(frozen=True, slots=True)
class Reckoning:
    """The drill's outcome, read back from the topics after the worker caught up."""

    figures: dict[str, Any]
    problems: list[str]


async def reckon(
    cluster: Cluster,
    names: Names,
    feed: Sequence[InboundEvent],
    run: FeedRun,
    workers: Sequence[WorkerProcess],
    clock: AlertClock,
    *,
    failed_at: float,
) -> Reckoning:
    """Wait for the group to commit every event, then compare what the topics hold with the offline engine's run."""
    processor = names.processor_settings()
    settings = cluster.settings
    await wait_caught_up(settings, processor.app_id, processor.events_topic, list(workers), timeout=180)
    await asyncio.sleep(0.5)  # the status files are rewritten every 0.1 s
    on_topic = [decode_event(r.value or b"") for r in await read_topic(settings, processor.events_topic, timeout=60)]
    records = await read_topic(settings, processor.alerts_topic, timeout=60)
    reference = offline(on_topic)  # the topic's order: what `frontdoor replay` of these events gives
    problems = compare_alerts(records, reference.messages)
    # The simulated feed repeats some records on purpose (a council re-sending a row): the topic must hold each
    # record as often as the feed sent it, no more (a producer retry written twice) and no fewer (a lost write).
    # A refusal is ambiguous (the broker may have written the batch before the producer gave up): the record sent
    # again may then be there twice, which consumers ignore by event id. A record acknowledged must be there once.
    on_topic_ids, sent_ids = Counter(e.event_id for e in on_topic), Counter(e.event_id for e in feed)
    extra = on_topic_ids - sent_ids
    if unexplained := {e: n for e, n in extra.items() if e not in run.resent_ids}:
        problems.append(f"{sum(unexplained.values())} records written more often than sent and never refused")
    if lost := sent_ids - on_topic_ids:
        acknowledged = [e for e in lost if e in run.written]
        problems.append(
            f"{sum(lost.values())} records sent and not on the topic, {len(acknowledged)} of them acknowledged: "
            f"{[(e, run.written[e]) for e in acknowledged[:5]]}"
        )
    if run.refused:
        problems.append(f"{len(run.refused)} events never acknowledged: {Counter(run.refused.values())}")
    live = [decode_alert(r.value or b"") for r in records]
    latencies = clock.latencies(run)
    during = clock.latencies(run, sent_from=failed_at - 1.0, sent_until=failed_at + 30.0)
    statuses = [w.status() or {} for w in workers]
    figures = {
        "events_sent": len(feed),
        "events_on_topic": len(on_topic),
        "events_resent_after_refusal": run.resent,
        "refused_events_that_had_been_written": sum(extra.values()),
        "producer_errors": dict(run.errors),
        "events_processed_by_workers": sum(s.get("events", 0) for s in statuses),
        "alerts_expected": len(fold(reference.messages)),
        "alerts_seen": len(fold(live)),
        "alert_messages_expected": len(reference.messages),
        "alert_messages_seen": len(records),
        "alert_messages_resent": resent(records),
        "latency_p50_seconds": round(statistics.median(latencies), 3) if latencies else None,
        "latency_max_seconds": round(latencies[-1], 3) if latencies else None,
        "latency_max_during_failure_seconds": round(during[-1], 3) if during else None,
        "drill_seconds": round(time.time() - failed_at, 1),
    }
    return Reckoning(figures, problems)
