"""All three brokers stopped and started again while the worker and the desk keep running: both recover by themselves,
and the desk's /healthz reports the outage while it lasts."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from bench.kafka_cluster import Cluster
from bench.processor.harness import delete_topics
from services.kafka.topics import partition_for
from tests.drills.desk import desk_settings, drill_desk
from tests.drills.drill import COUNCILS, drill_feed, drill_topics, reckon, until_acknowledged, until_running, worker
from tests.drills.feed import AlertClock, FeedRun, paced_feed, recovery_seconds
from tests.drills.report import DrillReport

pytestmark = [pytest.mark.slow, pytest.mark.timeout(360)]

EVENTS = 10_000
RATE = 500  # the feed spans the outage: events handed over while no broker answers are retried, then refused
STOP_AFTER_EVENTS = 2_500  # acknowledged: 5 s of feed, 15 s still to come
OUTAGE_SECONDS = 5.0  # after every node has stopped, before they start again


@dataclass(slots=True)
class HealthLog:
    """The desk's /healthz answers, polled: (wall time, HTTP status, the kafka part of the body)."""

    url: str
    answers: list[tuple[float, int, str]] = field(default_factory=list)

    async def poll(self, stop: asyncio.Event) -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            while not stop.is_set():
                try:
                    response = await http.get(f"{self.url}/healthz")
                    body = await response.json()
                    self.answers.append((time.time(), response.status, body.get("kafka", {}).get("status", "?")))
                except (aiohttp.ClientError, TimeoutError):
                    self.answers.append((time.time(), 0, "no answer"))
                await asyncio.sleep(0.25)

    def first(self, status: int, after: float) -> float | None:
        return next((t for t, s, _ in self.answers if s == status and t > after), None)


async def test_the_whole_cluster_restarted_under_a_running_worker_and_desk_loses_nothing(
    cluster: Cluster, drill_report: DrillReport, tmp_path: Path
) -> None:
    feed = drill_feed(seed=47, events=EVENTS)
    partition = partition_for(COUNCILS[1], cluster.settings.topic_partitions)
    async with drill_topics(cluster, "drill-restart") as names:
        processor = names.processor_settings()
        config = await desk_settings(cluster, names)
        live = worker(cluster, tmp_path, names).start()
        clock = AlertClock(cluster.settings, processor.alerts_topic)
        stop = asyncio.Event()
        try:
            await until_running(live)
            async with drill_desk(cluster, config) as (running, _kept):
                clock.start()
                health = HealthLog(running.url)
                polling = asyncio.create_task(health.poll(stop))
                run = FeedRun()
                flowing = asyncio.create_task(paced_feed(cluster.settings, processor.events_topic, feed, RATE, run))
                await until_acknowledged(run, STOP_AFTER_EVENTS)
                failed_at = time.time()
                await asyncio.to_thread(cluster.down)
                stopped_seconds = time.time() - failed_at
                await asyncio.sleep(OUTAGE_SECONDS)
                started_at = time.time()
                await asyncio.to_thread(cluster.up)
                up_seconds = time.time() - started_at
                recovered = await recovery_seconds(run, [live], failed_at, partition)
                await flowing
                outcome = await reckon(cluster, names, feed, run, [live], clock, failed_at=failed_at)
                expected = outcome.figures["alerts_expected"]
                async with asyncio.timeout(90):
                    while running.desk.state.total() < expected:
                        await asyncio.sleep(0.2)
                healthy_again = health.first(200, started_at)
                await asyncio.sleep(1.5)  # a last check of Kafka on the desk's 1 s interval
                stop.set()
                await polling
                desk_alerts = running.desk.state.total()
            assert live.alive(), f"the worker did not ride out the restart:\n{live.log_tail()}"
            worker_log = live.log_path.read_text(errors="replace")
        finally:
            stop.set()
            await clock.stop()
            live.stop()
            await delete_topics(cluster.settings, [config.actions_topic, config.audit_topic, config.identity_topic])

    outage = [(t, s, k) for t, s, k in health.answers if failed_at <= t]
    first_unhealthy = health.first(503, failed_at)
    drill_report.record(
        "all three brokers stopped and started under a running worker and desk",
        seconds_to_stop_all_nodes=round(stopped_seconds, 1),
        seconds_down_before_restart=OUTAGE_SECONDS,
        seconds_to_start_all_nodes=round(up_seconds, 1),
        seconds_failure_to_first_event_processed=round(recovered, 2),
        seconds_failure_to_desk_health_503=round(first_unhealthy - failed_at, 1) if first_unhealthy else None,
        desk_health_kafka_states_seen=sorted({k for _, _, k in outage}),
        seconds_restart_to_desk_health_200=round(healthy_again - started_at, 1) if healthy_again else None,
        desk_alerts_after=desk_alerts,
        worker_logged_kafka_not_writable="Kafka cannot take durable writes" in worker_log,
        **outcome.figures,
    )
    assert outcome.problems == []
    assert first_unhealthy is not None, "the desk's /healthz never reported the outage"
    assert healthy_again is not None, "the desk's /healthz did not recover"
    assert desk_alerts == outcome.figures["alerts_expected"], "the desk did not catch up with every alert"
