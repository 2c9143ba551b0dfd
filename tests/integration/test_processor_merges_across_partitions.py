"""Record merges across partitions through Kafka and a worker: the hand-over topic gives replay's results."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from pathlib import Path

import pytest

from bench.processor.harness import (
    Names,
    WorkerProcess,
    committed,
    council_totals,
    delete_topics,
    end_offsets,
    fold,
    keyed,
    offline,
    private_topics,
    produce,
    read_table,
    read_topic,
    simulated_feed,
    status_totals,
    wait_caught_up,
)
from schemas.codec import decode_alert, encode
from schemas.events import InboundEvent
from services.core.engine import Engine
from services.core.history import ChildHistory
from services.processor.app import changelog_names
from services.processor.batch import Redirect, child_of, load
from services.processor.tables import partition_for
from services.processor.values import Held
from services.settings import Settings
from tests.builders import make_merge

LA = "942"


def with_merges(feed: list[InboundEvent], partitions: int) -> tuple[list[InboundEvent], int]:
    """The feed with merges inserted, each after every event of the merged record: seven across partitions
    (one of them merging a survivor of an earlier one, a chain), and one within a partition."""
    last: dict[str, int] = {}
    for n, event in enumerate(feed):
        last[event.child_key] = n
    events = Counter(e.child_key for e in feed)
    busy = sorted((k for k in last if events[k] >= 2), key=last.__getitem__)  # children by their last event
    used: set[str] = set()
    merges: list[tuple[int, InboundEvent]] = []  # (insert before this position, merge)

    def pair(same: bool, start: int) -> tuple[str, str]:
        for merged in busy[start * len(busy) // 8 :]:  # spread over the feed
            for survivor in reversed(busy):  # a survivor with events after the merge
                if {merged, survivor} & used or merged == survivor or last[survivor] <= last[merged] + 5:
                    continue
                if (partition_for(merged, partitions) == partition_for(survivor, partitions)) == same:
                    used.update((merged, survivor))
                    return survivor, merged
        raise AssertionError("the feed has too few children for the merges")

    def merge(survivor: str, merged: str, after: int, n: int) -> None:
        day = feed[after].occurred_at.date()
        merges.append((after + 1, make_merge(into=survivor, merged=merged, date=day, la_code=LA, event_id=f"m-{n}")))

    across = [pair(same=False, start=n) for n in range(6)]
    for n, (survivor, merged) in enumerate(across):
        merge(survivor, merged, last[merged], n)
    chained, _ = across[0]  # the first survivor is merged in turn, after its own last event
    home = partition_for(chained, partitions)
    target = next(k for k in reversed(busy) if k not in used and partition_for(k, partitions) != home)
    used.add(target)
    merge(target, chained, max(last[chained], merges[0][0]), 6)
    survivor, merged = pair(same=True, start=0)
    merge(survivor, merged, last[merged], 7)
    out = list(feed)
    for position, event in sorted(merges, key=lambda m: m[0], reverse=True):
        out.insert(position, event)
    return out, len(merges)


async def until_quiet(settings: Settings, group: str, topic: str, timeout: float) -> None:
    """Until the group has committed everything on `topic` and nothing new arrived for a second."""
    deadline = time.monotonic() + timeout
    stable_since, seen, done = time.monotonic(), None, {}
    while time.monotonic() < deadline:
        ends = await end_offsets(settings, topic)
        done = await committed(settings, group, topic)
        if ends != seen:
            stable_since, seen = time.monotonic(), ends
        elif all(done.get(p, 0) >= end for p, end in ends.items()) and time.monotonic() - stable_since > 1.0:
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{topic} did not settle: ends {seen}, committed {done}")


@pytest.mark.kafka
@pytest.mark.slow
@pytest.mark.timeout(150)
@pytest.mark.parametrize("workers", [1, 2], ids=["one-worker", "two-workers-handing-over-to-each-other"])
async def test_merges_across_partitions_through_workers_give_replays_alerts_states_and_totals(
    kafka_settings: Settings, tmp_path: Path, workers: int
) -> None:
    feed, merges = with_merges(simulated_feed((LA,), annual_referrals=300, seed=5), kafka_settings.topic_partitions)
    reference = offline(feed)
    assert len(reference.children) > 100 and len(reference.messages) > 100
    names = Names.unique("it-merges")
    processor = names.processor_settings()
    try:
        async with private_topics(kafka_settings, names):
            await produce(kafka_settings, processor.events_topic, keyed(feed, encode))
            running = [
                WorkerProcess(f"worker-{n}", tmp_path, names.env(), max_batch="200").start() for n in range(workers)
            ]
            try:
                await wait_caught_up(kafka_settings, processor.app_id, processor.events_topic, running, timeout=90)
                await until_quiet(kafka_settings, processor.app_id, processor.handover_topic_name, timeout=60)
                await wait_caught_up(kafka_settings, processor.app_id, processor.contributions_topic, running, 30)
                await asyncio.sleep(1.0)  # the council totals are written once a worker has been idle a while
                statuses = [w.status() for w in running]
            finally:
                for worker in running:
                    assert worker.stop() == 0, worker.log_tail()
            alerts = [decode_alert(r.value or b"") for r in await read_topic(kafka_settings, processor.alerts_topic)]
            dead_letters = await read_topic(kafka_settings, processor.deadletter_topic)
            handovers = await read_topic(kafka_settings, processor.handover_topic_name)
            table = await read_table(kafka_settings, changelog_names(processor)[0])
    finally:
        await delete_topics(kafka_settings, [processor.handover_topic_name])

    assert all(s is not None and s["events"] > 0 for s in statuses), f"every worker takes part: {statuses}"
    kinds = Counter(json.loads(r.value or b"{}")["kind"] for r in handovers)
    print(f"\n{merges} merges, hand-over messages {dict(kinds)}, {len(alerts)} alert messages")
    assert dead_letters == [], "every merge is applied, none parked"
    assert len(handovers) >= 2 * (merges - 1), "each merge across partitions asks and is answered"
    assert fold(alerts) == fold(reference.messages)
    live = {child_of(k): load(v) for k, v in table.items()}
    histories = {c: v.child if isinstance(v, Held) else v for c, v in live.items() if not isinstance(v, Redirect)}
    assert not [c for c, v in live.items() if isinstance(v, Held) and v.pending is not None], "nothing left waiting"
    assert set(histories) == set(reference.children)
    for child, expected in reference.children.items():
        got = histories[child]
        assert isinstance(got, ChildHistory)
        assert (got.facts, got.seen, got.retracted, got.standing) == (
            expected.facts,
            expected.seen,
            expected.retracted,
            expected.standing,
        ), child
    # Every merged record leads to the same surviving record. The hop it points to may differ from replay's in a
    # chain: the chain's second merge lives in another partition than the first, and Kafka orders nothing across
    # partitions, so the second may be applied first; the first then hands its record straight to the end.
    redirects = {c: v.into for c, v in live.items() if isinstance(v, Redirect)}
    assert ends(redirects) == ends(replayed_redirects(feed))
    assert status_totals(statuses) == council_totals(reference.children.values())


def replayed_redirects(feed: list[InboundEvent]) -> dict[tuple[str, str], str]:
    engine = Engine()
    for event in feed:
        engine.apply(event)
    return engine.redirects


def ends(redirects: dict[tuple[str, str], str]) -> dict[tuple[str, str], str]:
    """Each merged record -> the record its redirects lead to in the end."""

    def end(child: tuple[str, str]) -> str:
        while child in redirects:
            child = (child[0], redirects[child])
        return child[1]

    return {child: end(child) for child in redirects}
