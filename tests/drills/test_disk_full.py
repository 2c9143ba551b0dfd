"""Brokers' disks made full while events flow: producers get an error, nothing is acknowledged that was not written,
and everything recovers when the space returns.

Nodes 2 and 3 keep their log dirs on 192 MiB tmpfs mounts (tests/drills/conftest.py), filled with a filler file.
A broker whose only log dir fails stops itself. With one such broker the other two still make min.insync.replicas=2
and writes go on; with two, fewer than two replicas are left (and the KRaft quorum with them), so writes are refused.

What "producers get an error" means with an idempotent aiokafka producer: the broker answers KafkaStorageError or
NotEnoughReplicasError, which aiokafka logs as a warning and retries (an idempotent batch is never expired), or, with
the quorum gone too, the request just waits; either way the send neither succeeds nor fails until the brokers are
back, and nothing is acknowledged meanwhile. The services' own check (services/kafka/health.py) is what turns that
wait into a clear error: logged, on /metrics, in /healthz; the drill asserts the worker logged it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from pathlib import Path

import pytest

from bench.kafka_cluster import Cluster
from services.kafka.topics import partition_for
from tests.drills.drill import COUNCILS, drill_feed, drill_topics, reckon, until_acknowledged, until_running, worker
from tests.drills.feed import AlertClock, FeedRun, paced_feed, recovery_seconds
from tests.drills.report import DrillReport

pytestmark = [pytest.mark.slow, pytest.mark.timeout(360)]

EVENTS = 8_000
RATE = 400  # 20 s of feed: it spans both disks filling, the refusals and the recovery
FILL_AFTER_EVENTS = 2_000  # acknowledged: 5 s of feed, 15 s still to come
STOP_TIMEOUT_SECONDS = 30.0
REFUSING_SECONDS = 5.0  # writes refused for at least this long before the space returns
BROKER_ERRORS = ("NotEnoughReplicasError", "NotEnoughReplicasAfterAppendError", "KafkaStorageError")


async def test_full_disks_refuse_writes_with_an_error_lose_nothing_acknowledged_and_recover(
    cluster: Cluster, drill_report: DrillReport, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="aiokafka.producer.sender")
    if not cluster.small_disks:
        pytest.skip("no tmpfs could be mounted for the brokers' log dirs here (needs CAP_SYS_ADMIN, e.g. root)")
    first, second = cluster.small_disks
    feed = drill_feed(seed=59, events=EVENTS)
    partition = partition_for(COUNCILS[1], cluster.settings.topic_partitions)
    async with drill_topics(cluster, "drill-disk") as names:
        processor = names.processor_settings()
        live = worker(cluster, tmp_path, names).start()
        clock = AlertClock(cluster.settings, processor.alerts_topic)
        try:
            await until_running(live)
            clock.start()
            run = FeedRun()
            flowing = asyncio.create_task(paced_feed(cluster.settings, processor.events_topic, feed, RATE, run))
            await until_acknowledged(run, FILL_AFTER_EVENTS)
            filled_at = time.time()
            cluster.fill_disk(first)
            first_stopped = await asyncio.to_thread(cluster.wait_stopped, first, STOP_TIMEOUT_SECONDS)
            errors_with_one_full = sum(run.errors.values())
            cluster.fill_disk(second)
            second_stopped = await asyncio.to_thread(cluster.wait_stopped, second, STOP_TIMEOUT_SECONDS)
            refusing_from = time.time()
            await asyncio.sleep(REFUSING_SECONDS)
            for node in (first, second):
                cluster.free_disk(node)
            freed_at = time.time()
            restart_seconds = await asyncio.to_thread(cluster.up)
            recovered = await recovery_seconds(run, [live], freed_at, partition)
            await flowing
            outcome = await reckon(cluster, names, feed, run, [live], clock, failed_at=filled_at)
            assert live.alive(), f"the worker did not ride out the full disks:\n{live.log_tail()}"
            worker_log = live.log_path.read_text(errors="replace")
        finally:
            for node in (first, second):
                cluster.free_disk(node)
            await clock.stop()
            live.stop()
        in_sync = await cluster.wait_all_in_sync([processor.events_topic, processor.alerts_topic])
    logs = [cluster.log(node).read_text(errors="replace") for node in (first, second)]
    broker_errors = Counter(
        name
        for r in caplog.records
        for name in BROKER_ERRORS
        if name in r.getMessage() and "retrying" in r.getMessage()
    )
    acknowledged_while_refusing = sum(1 for _p, _o, at in run.written.values() if refusing_from <= at <= freed_at)

    drill_report.record(
        "two brokers' disks full (tmpfs) while events flow",
        seconds_fill_to_first_broker_stopped=round(first_stopped, 1) if first_stopped is not None else None,
        seconds_fill_to_second_broker_stopped=round(second_stopped, 1) if second_stopped is not None else None,
        brokers_logged_log_dir_failure=sum("No space left on device" in log for log in logs),
        producer_errors_with_one_disk_full=errors_with_one_full,
        broker_errors_retried_by_the_producer=dict(broker_errors),
        writes_acknowledged_while_two_disks_full=acknowledged_while_refusing,
        worker_logged_kafka_not_writable="Kafka cannot take durable writes" in worker_log,
        seconds_space_back_to_nodes_restarted=round(restart_seconds, 1),
        seconds_space_back_to_first_event_processed=round(recovered, 2),
        seconds_until_replicas_in_sync_again=round(in_sync, 1),
        **outcome.figures,
    )
    assert outcome.problems == [], "an acknowledged write is missing, or one was written twice"
    assert first_stopped is not None and second_stopped is not None, "a broker with a full disk kept running"
    assert acknowledged_while_refusing == 0, "a write was acknowledged with one replica left"
    # The producer's own view depends on timing (broker errors it retries, or requests that just wait): the worker's
    # check is what reports it every time.
    assert "Kafka cannot take durable writes" in worker_log, "the worker never reported that writes were refused"
