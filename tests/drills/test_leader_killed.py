"""The events partition's leader killed with kill -9 while 20,000 events flow: nothing lost, nothing duplicated."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from bench.kafka_cluster import Cluster
from bench.processor.harness import delete_topics
from services.kafka.topics import partition_for
from tests.drills.desk import DutyManager, audit_on_topic, decisions_on_topic, desk_settings, drill_desk
from tests.drills.drill import COUNCILS, drill_feed, drill_topics, reckon, until_acknowledged, until_running, worker
from tests.drills.feed import AlertClock, FeedRun, paced_feed, recovery_seconds
from tests.drills.report import DrillReport

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

RATE = 1_500  # events per second: the feed lasts about 13 s, the kill lands in its first third
KILL_AFTER_EVENTS = 6_000  # acknowledged: about 4 s of feed, 9 s still to come
DECISIONS = 150  # alerts acknowledged and closed (two decisions each), about half of Kent's in the feed


async def test_the_events_leader_killed_mid_feed_loses_and_duplicates_no_event_or_alert(
    cluster: Cluster, drill_report: DrillReport, tmp_path: Path
) -> None:
    feed = drill_feed(seed=41)
    partition = partition_for(COUNCILS[1], cluster.settings.topic_partitions)
    async with drill_topics(cluster, "drill-leader") as names:
        processor = names.processor_settings()
        live = worker(cluster, tmp_path, names).start()
        clock = AlertClock(cluster.settings, processor.alerts_topic)
        try:
            await until_running(live)
            clock.start()
            run = FeedRun()
            flowing = asyncio.create_task(paced_feed(cluster.settings, processor.events_topic, feed, RATE, run))
            await until_acknowledged(run, KILL_AFTER_EVENTS)
            victim = await cluster.leader(processor.events_topic, partition)
            cluster.kill9(victim)
            failed_at = time.time()
            recovered = await recovery_seconds(run, [live], failed_at, partition)
            new_leader = await cluster.leader(processor.events_topic, partition)
            await flowing
            restart_seconds = cluster.up()
            outcome = await reckon(cluster, names, feed, run, [live], clock, failed_at=failed_at)
            assert live.alive(), live.log_tail()
        finally:
            await clock.stop()
            live.stop()
        in_sync_seconds = await cluster.wait_all_in_sync([processor.events_topic, processor.alerts_topic])

    drill_report.record(
        "events leader killed (kill -9) under a 20k-event feed",
        killed_node=victim,
        new_leader=new_leader,
        seconds_failure_to_first_write_acknowledged=round(run.writes_resumed_after(failed_at, partition) or -1, 2),
        seconds_failure_to_first_event_processed=round(recovered, 2),
        seconds_to_restart_killed_node=round(restart_seconds, 1),
        seconds_until_replicas_in_sync_again=round(in_sync_seconds, 1),
        **outcome.figures,
    )
    assert new_leader != victim
    assert outcome.problems == []
    assert outcome.figures["alerts_seen"] == outcome.figures["alerts_expected"] > 0


async def test_the_events_leader_killed_while_the_desk_decides_keeps_every_decision_and_audit_record(
    cluster: Cluster, drill_report: DrillReport, tmp_path: Path
) -> None:
    feed = drill_feed(seed=43)
    partition = partition_for(COUNCILS[1], cluster.settings.topic_partitions)
    async with drill_topics(cluster, "drill-desk") as names:
        processor = names.processor_settings()
        config = await desk_settings(cluster, names)
        live = worker(cluster, tmp_path, names).start()
        clock = AlertClock(cluster.settings, processor.alerts_topic)
        stop = asyncio.Event()
        try:
            await until_running(live)
            async with drill_desk(cluster, config) as (running, kept):
                clock.start()
                manager = DutyManager(running)
                deciding = asyncio.create_task(manager.work(stop, limit=DECISIONS))
                run = FeedRun()
                flowing = asyncio.create_task(paced_feed(cluster.settings, processor.events_topic, feed, RATE, run))
                await until_acknowledged(run, KILL_AFTER_EVENTS)
                decided_before = len(manager.confirmed)
                victim = await cluster.leader(processor.events_topic, partition)
                cluster.kill9(victim)
                failed_at = time.time()
                recovered = await recovery_seconds(run, [live], failed_at, partition)
                await flowing
                cluster.up()
                outcome = await reckon(cluster, names, feed, run, [live], clock, failed_at=failed_at)
                stop.set()
                await deciding
            decisions = await decisions_on_topic(cluster, config)
            audit = await audit_on_topic(cluster, config)
        finally:
            stop.set()
            await clock.stop()
            live.stop()
            await delete_topics(cluster.settings, [config.actions_topic, config.audit_topic, config.identity_topic])
        await cluster.wait_all_in_sync([processor.events_topic, config.actions_topic, config.audit_topic])

    confirmed = set(manager.confirmed)
    drill_report.record(
        "events leader killed while the desk acknowledges and closes alerts",
        killed_node=victim,
        seconds_failure_to_first_event_processed=round(recovered, 2),
        decisions_confirmed_before_kill=decided_before,
        decisions_confirmed=len(confirmed),
        decisions_refused=len(manager.refused),
        decisions_on_topic=len(decisions),
        slowest_decision_seconds=round(manager.slowest_seconds, 2),
        audit_records_confirmed=len(kept.kept),
        audit_records_on_topic=len(audit),
        **outcome.figures,
    )
    assert outcome.problems == []
    assert len(confirmed) > decided_before, "the desk must decide during and after the failure too"
    assert confirmed <= decisions, f"decisions confirmed and lost: {sorted(confirmed - decisions)[:5]}"
    assert set(kept.kept) <= set(audit), f"audit records confirmed and lost: {len(set(kept.kept) - set(audit))}"
