"""Record merges through Kafka and workers: a council's merges are applied in its partition exactly as replay does."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest

from bench.kafka_principals import principal_settings
from bench.processor.harness import (
    Names,
    WorkerProcess,
    alerts_by_child,
    council_totals,
    fold,
    keyed,
    offline,
    private_topics,
    produce,
    read_table,
    read_topic,
    settled_statuses,
    simulated_feed,
    status_totals,
    wait_caught_up,
)
from schemas.codec import decode_alert, encode
from schemas.events import InboundEvent
from services.core.engine import Engine
from services.core.history import ChildHistory
from services.processor.app import changelog_names
from services.processor.tables import Redirect, child_of, load
from services.settings import Settings
from tests.builders import make_merge

COUNCILS = ("942", "886")  # partitions 1 and 4 of 6: with two workers, each holds one council


def with_merges(feed: list[InboundEvent], la_code: str) -> tuple[list[InboundEvent], int]:
    """The feed with merges of one council's records inserted: six pairs, then a chain (a survivor merged in turn),
    each merge placed before the merged record's last events, so they arrive after it."""
    last: dict[str, int] = {}
    first: dict[str, int] = {}
    for n, event in enumerate(feed):
        if event.la_code == la_code:
            last[event.child_key] = n
            first.setdefault(event.child_key, n)
    events = Counter(e.child_key for e in feed if e.la_code == la_code)
    busy = sorted((k for k in last if events[k] >= 3), key=last.__getitem__)
    used: set[str] = set()
    inserts: list[tuple[int, InboundEvent]] = []

    def merge(survivor: str, merged: str, before: int, n: int) -> None:
        day = feed[before].occurred_at.date()
        event = make_merge(into=survivor, merged=merged, date=day, la_code=la_code, event_id=f"m-{la_code}-{n}")
        inserts.append((before, event))

    pairs = []
    for n in range(6):
        merged = next(k for k in busy[n * len(busy) // 8 :] if k not in used)
        survivor = next(k for k in reversed(busy) if k not in used and k != merged and first[k] < last[merged])
        used.update((merged, survivor))
        pairs.append((survivor, merged))
        merge(survivor, merged, last[merged], n)  # before the merged record's last event: it arrives late
    chained = pairs[0][0]
    target = next(k for k in reversed(busy) if k not in used)
    merge(target, chained, last[chained], 6)
    out = list(feed)
    for position, event in sorted(inserts, key=lambda m: m[0], reverse=True):
        out.insert(position, event)
    return out, len(inserts)


def replayed_redirects(feed: Sequence[InboundEvent]) -> dict[tuple[str, str], str]:
    engine = Engine()
    for event in feed:
        engine.apply(event)
    return engine.redirects


@pytest.mark.kafka
@pytest.mark.slow
@pytest.mark.timeout(400)  # generous for a loaded machine; well under 30 s on a quiet one
@pytest.mark.parametrize("workers", [1, 2], ids=["one-worker", "two-workers"])
async def test_merge_chains_with_late_events_through_workers_give_exactly_replays_alerts_states_and_totals(
    kafka_settings: Settings, tmp_path: Path, workers: int
) -> None:
    feed = simulated_feed(COUNCILS, annual_referrals=200, seed=5)
    merges = 0
    for la_code in COUNCILS:
        feed, added = with_merges(feed, la_code)
        merges += added
    reference = offline(feed)
    assert len(reference.children) > 100 and len(reference.messages) > 100
    names = Names.unique("it-merges")
    processor = names.processor_settings()
    async with private_topics(kafka_settings, names):
        await produce(principal_settings("ingest"), processor.events_topic, keyed(feed, encode))
        running = [WorkerProcess(f"worker-{n}", tmp_path, names.env(), max_batch="200").start() for n in range(workers)]
        try:
            await wait_caught_up(kafka_settings, processor.app_id, processor.events_topic, running, timeout=240)
            statuses = await settled_statuses(running)
        finally:
            for worker in running:
                assert worker.stop() == 0, worker.log_tail()
        records = await read_topic(kafka_settings, processor.alerts_topic)
        dead_letters = await read_topic(kafka_settings, processor.deadletter_topic)
        table = await read_table(kafka_settings, changelog_names(processor)[0])

    alerts = [decode_alert(r.value or b"") for r in records]
    print(f"\n{merges} merges, {len(alerts)} alert messages, {len(reference.messages)} from replay")
    assert all(s is not None and s["events"] > 0 for s in statuses), f"every worker takes part: {statuses}"
    assert dead_letters == [], "every merge is applied, none parked"
    # Exactly replay's messages, child by child in order: a council's events are applied in replay's order.
    expected_by_child: dict[str, list[object]] = {}
    for message in reference.messages:
        expected_by_child.setdefault(message.child_key, []).append(message)
    assert alerts_by_child(records) == expected_by_child
    assert fold(alerts) == fold(reference.messages)
    live = {child_of(k): load(v) for k, v in table.items()}
    histories = {c: v for c, v in live.items() if isinstance(v, ChildHistory)}
    assert set(histories) == set(reference.children)
    for child, expected in reference.children.items():
        got = histories[child]
        assert (got.facts, got.seen, got.retracted, got.standing) == (
            expected.facts,
            expected.seen,
            expected.retracted,
            expected.standing,
        ), child
    redirects = {c: v.into for c, v in live.items() if isinstance(v, Redirect)}
    assert redirects == replayed_redirects(feed)
    assert len(redirects) == merges
    assert status_totals(statuses) == council_totals(reference.children.values())
