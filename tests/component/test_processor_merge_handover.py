"""Merges of records in different partitions, in-process: the hand-over between the two records' partitions.

The survivor's partition asks the merged record's partition for its history (a request keyed by the merged
record); that partition withdraws the record's alerts, leaves a redirect and sends the history keyed by the
survivor; the survivor merges it, then applies what arrived for it meanwhile. `worker.hand_over()` delivers
the internal topic's messages back to the worker, as the broker would to whichever worker holds them.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from schemas.alerts import AlertWithdrawn
from schemas.events import InboundEvent
from services.core.aggregates import contribution
from services.core.config import DEFAULT_CONFIG
from services.core.engine import Engine
from services.core.history import ChildHistory, fingerprint
from services.processor.batch import Redirect, expired, load, table_key
from services.processor.cli_processor import topic_plans
from services.processor.handover import Forwarded, HandedOver, Requested, decode_message
from services.processor.settings import ProcessorSettings
from services.processor.values import Held
from services.settings import Settings
from tests.builders import make_contact, make_merge, make_referral
from tests.component.processor_fakes import Sent, Worker, keys_in, make_worker

LA = "886"


@pytest.fixture
def worker(tmp_path: Path) -> Worker:
    return make_worker(tmp_path)


def stored(worker: Worker, child: str) -> Any:
    raw = worker.children.get(table_key((LA, child)))
    return None if raw is None else load(raw)


def history(worker: Worker, child: str) -> ChildHistory:
    value = stored(worker, child)
    value = value.child if isinstance(value, Held) else value
    assert isinstance(value, ChildHistory), value
    return value


def comparable(h: ChildHistory) -> tuple[object, ...]:
    """A child's state without its version counter, which depends on batch boundaries."""
    return (h.facts, h.seen, h.retracted, h.standing)


def fold(messages: list[Any]) -> dict[str, str]:
    """The alerts standing at the end: alert id -> fingerprint of its latest version."""
    standing: dict[str, str] = {}
    for message in messages:
        if isinstance(message, AlertWithdrawn):
            standing.pop(message.alert_id, None)
        else:
            standing[message.alert_id] = fingerprint(getattr(message, "alert", message))
    return standing


def replay(feed: list[InboundEvent]) -> tuple[Engine, list[Any]]:
    """The offline reference: one Engine, one event at a time, pruned at the end as the worker prunes."""
    engine = Engine(DEFAULT_CONFIG)
    messages = list(engine.apply_all(feed))
    days = [h.last_day for h in engine.children.values() if h.last_day is not None]
    for child in engine.children.values():
        child.prune(max(days, default=feed[-1].occurred_at.date()), DEFAULT_CONFIG)
    return engine, messages


def assert_same_state(worker: Worker, engine: Engine) -> None:
    """Every child as replay leaves it. One with nothing left (e.g. created empty by a merge) is not stored,
    or only as the merges it remembers."""
    for (_, key), expected in engine.children.items():
        if expired(expected):
            value = stored(worker, key)
            assert value is None or (isinstance(value, Held) and value.child is None and not value.pending), key
        else:
            assert comparable(history(worker, key)) == comparable(expected), key


def assert_same_as_replay(worker: Worker, feed: list[InboundEvent]) -> None:
    engine, messages = replay(feed)
    assert fold(worker.alerts()) == fold(messages)
    assert_same_state(worker, engine)
    for (_, key), into in engine.redirects.items():
        assert stored(worker, key).into == into, key


def sent_of(worker: Worker, kind: type) -> list[Any]:
    return [s for s in worker.handovers() if isinstance(decode_message(s.value), kind)]


def snapshot(worker: Worker) -> tuple[Any, ...]:
    """What a redelivery must leave alone: the table, and every message sent."""
    table = {key: worker.children.data[key] for key in worker.children.data}
    return table, len(worker.alerts()), len(worker.contributions()), len(worker.handovers()), worker.dead_letters()


async def test_records_merged_across_partitions_are_joined_through_a_hand_over_as_replay_joins_them(
    worker: Worker,
) -> None:
    survivor, merged = keys_in(same=False)
    feed: list[InboundEvent] = [
        make_referral("2024-01-10", child_key=merged, event_id="m1"),
        make_referral("2024-03-10", child_key=survivor, event_id="s1"),
        make_merge(into=survivor, merged=merged, date="2024-04-01", event_id="merge"),
        make_referral("2024-06-10", child_key=survivor, event_id="s2"),
    ]
    for event in feed:
        await worker.handle(event)
        await worker.hand_over()

    assert worker.dead_letters() == []
    assert stored(worker, merged) == Redirect(survivor, feed[2].occurred_at.date(), by="merge")
    assert [f.event_id for f in history(worker, survivor).facts] == ["m1", "s1", "s2"]
    assert_same_as_replay(worker, feed)


async def test_the_survivors_partition_sends_a_request_keyed_by_the_merged_record_and_waits(worker: Worker) -> None:
    survivor, merged = keys_in(same=False)
    await worker.handle(make_merge(into=survivor, merged=merged, date="2024-02-01", event_id="merge"))

    (request,) = worker.handovers()
    assert request.key == merged.encode()
    assert isinstance(decode_message(request.value), Requested)
    waiting = stored(worker, survivor)
    assert isinstance(waiting, Held) and waiting.pending is not None and waiting.pending.asked == merged
    assert worker.dead_letters() == []


async def test_the_merged_records_alerts_are_withdrawn_by_its_own_partition(worker: Worker) -> None:
    survivor, merged = keys_in(same=False)
    feed: list[InboundEvent] = [
        make_referral("2024-01-10", child_key=merged, event_id="m1"),
        make_referral("2024-06-10", child_key=merged, event_id="m2"),
        make_merge(into=survivor, merged=merged, date="2024-07-01", event_id="merge"),
    ]
    await worker.handle(*feed[:2])
    raised = {a.alert_id for a in worker.alerts() if a.child_key == merged}
    assert raised, "two referrals in six months raise alerts on the merged record"

    await worker.handle(feed[2])
    await worker.hand_over()

    withdrawn = [a for a in worker.alerts() if isinstance(a, AlertWithdrawn) and a.child_key == merged]
    assert {a.alert_id for a in withdrawn} == raised
    assert {a.reason for a in withdrawn} == {"child records merged"}
    standing = fold(worker.alerts())
    assert standing, "the survivor carries the re-referral now"
    assert {a.child_key for a in worker.alerts() if a.alert_id in standing} == {survivor}
    assert_same_as_replay(worker, feed)


async def test_events_for_the_survivor_wait_while_its_merge_is_pending_then_apply_in_arrival_order(
    worker: Worker,
) -> None:
    survivor, merged = keys_in(same=False)
    feed: list[InboundEvent] = [
        make_referral("2024-01-10", child_key=merged, event_id="m1"),
        make_merge(into=survivor, merged=merged, date="2024-02-01", event_id="merge"),
        make_referral("2024-06-10", child_key=survivor, event_id="s1"),  # a re-referral only with m1 merged in
        make_contact("2024-06-12", child_key=survivor, event_id="s2"),
    ]
    await worker.handle(feed[0])
    await worker.handle(*feed[1:])  # the merge and two events for the survivor, before any hand-over

    waiting = stored(worker, survivor)
    assert isinstance(waiting, Held) and waiting.pending is not None
    assert [m.event.event_id for m in waiting.pending.stash if isinstance(m, Forwarded)] == ["s1", "s2"]
    assert len(waiting.pending.stash) == 2
    assert [a for a in worker.alerts() if a.child_key == survivor] == []

    await worker.hand_over()

    assert [f.event_id for f in history(worker, survivor).facts] == ["m1", "s1", "s2"]
    assert worker.metrics.named("events_consumed")[-3:] == [
        ("ChildRecordsMerged", "merged"),
        ("ReferralOpened", "applied"),
        ("ContactReceived", "applied"),
    ]
    assert_same_as_replay(worker, feed)


async def test_a_later_event_filed_under_the_merged_record_is_forwarded_to_the_survivors_partition(
    worker: Worker,
) -> None:
    survivor, merged = keys_in(same=False)
    feed: list[InboundEvent] = [
        make_referral("2024-01-10", child_key=merged, event_id="m1"),
        make_merge(into=survivor, merged=merged, date="2024-02-01", event_id="merge"),
        make_referral("2024-06-10", child_key=merged, event_id="m2"),  # still filed under the old key
    ]
    await worker.handle(*feed[:2])
    await worker.hand_over()
    await worker.handle(feed[2])

    (forwarded,) = sent_of(worker, Forwarded)
    assert forwarded.key == survivor.encode()
    await worker.hand_over()

    assert [f.event_id for f in history(worker, survivor).facts] == ["m1", "m2"]
    assert isinstance(stored(worker, merged), Redirect)
    assert_same_as_replay(worker, feed)


async def test_a_redelivered_request_changes_nothing_and_emits_nothing(worker: Worker) -> None:
    survivor, merged = keys_in(same=False)
    await worker.handle(make_referral("2024-01-10", child_key=merged, event_id="m1"))
    await worker.handle(make_merge(into=survivor, merged=merged, date="2024-02-01", event_id="merge"))
    await worker.hand_over()
    before = snapshot(worker)

    await worker.redeliver(*sent_of(worker, Requested))  # the merged record's partition crashed before commit
    await worker.hand_over()

    assert snapshot(worker) == before


async def test_a_redelivered_history_changes_nothing_and_emits_nothing(worker: Worker) -> None:
    survivor, merged = keys_in(same=False)
    await worker.handle(make_referral("2024-01-10", child_key=merged, event_id="m1"))
    await worker.handle(make_merge(into=survivor, merged=merged, date="2024-02-01", event_id="merge"))
    await worker.hand_over()
    await worker.handle(make_contact("2024-03-01", child_key=survivor, event_id="s1"))  # the survivor moves on
    before = snapshot(worker)

    await worker.redeliver(*sent_of(worker, HandedOver))  # the survivor's partition crashed before commit

    assert snapshot(worker) == before
    assert [f.event_id for f in history(worker, survivor).facts] == ["m1", "s1"]


async def test_a_redelivered_merge_event_changes_nothing_and_emits_nothing_pending_or_done(worker: Worker) -> None:
    survivor, merged = keys_in(same=False)
    merge = make_merge(into=survivor, merged=merged, date="2024-02-01", event_id="merge")
    await worker.handle(make_referral("2024-01-10", child_key=merged, event_id="m1"))
    await worker.handle(merge)
    pending = snapshot(worker)

    await worker.handle(merge)  # while the hand-over is pending
    assert snapshot(worker) == pending

    await worker.hand_over()
    done = snapshot(worker)
    await worker.handle(merge)  # after it completed
    await worker.hand_over()
    assert snapshot(worker) == done


async def test_a_history_that_arrives_before_its_redelivered_merge_event_is_merged_once(worker: Worker) -> None:
    # The survivor's partition sent its request, then crashed before writing that it waits: the history
    # arrives first, and the merge event, redelivered, finds the merge done.
    survivor, merged = keys_in(same=False)
    merge = make_merge(into=survivor, merged=merged, date="2024-02-01", event_id="merge")
    await worker.handle(make_referral("2024-01-10", child_key=merged, event_id="m1"))
    await worker.handle(merge)
    worker.children.data.pop(table_key((LA, survivor)))  # the pending marker was never written
    await worker.hand_over()
    done = snapshot(worker)

    await worker.handle(merge)
    await worker.hand_over()

    assert snapshot(worker) == done
    assert [f.event_id for f in history(worker, survivor).facts] == ["m1"]


async def test_the_merged_records_council_contribution_moves_to_the_survivor_exactly_once(worker: Worker) -> None:
    survivor, merged = keys_in(same=False)
    feed: list[InboundEvent] = [
        make_referral("2024-01-10", child_key=merged, event_id="m1"),
        make_referral("2024-03-10", child_key=survivor, event_id="s1"),
        make_merge(into=survivor, merged=merged, date="2024-04-01", event_id="merge"),
    ]
    await worker.handle(*feed)
    await worker.hand_over()
    await worker.redeliver(*worker.handovers())  # every hand-over step again
    await worker.hand_over()
    await worker.handle(*feed)  # and the events
    await worker.hand_over()
    await worker.aggregate()

    engine, _ = replay(feed)
    expected = Counter[Any]()
    for child in engine.children.values():
        expected.update(contribution(child, DEFAULT_CONFIG))
    assert worker.aggregator.totals.council_totals(LA) == +expected
    last_merged = [c for c in worker.contributions() if c.child_key == merged][-1]
    assert last_merged.counts == Counter()
    assert_same_as_replay(worker, feed)


async def test_a_chain_of_merges_across_partitions_forwards_the_first_records_events_to_the_last(
    worker: Worker,
) -> None:
    first, second = keys_in(same=False)
    _, third = keys_in(same=False, first=second)
    feed: list[InboundEvent] = [
        make_referral("2024-01-10", child_key=first, event_id="a1"),
        make_merge(into=second, merged=first, date="2024-02-01", event_id="merge-1"),
        make_merge(into=third, merged=second, date="2024-03-01", event_id="merge-2"),
        make_referral("2024-06-10", child_key=first, event_id="a2"),
    ]
    for event in feed:
        await worker.handle(event)
        await worker.hand_over()

    assert [f.event_id for f in history(worker, third).facts] == ["a1", "a2"]
    assert_same_as_replay(worker, feed)


async def test_a_merge_within_one_partition_is_still_applied_in_the_same_batch(worker: Worker) -> None:
    survivor, merged = keys_in(same=True)
    await worker.handle(
        make_referral("2024-01-10", child_key=merged, event_id="m1"),
        make_merge(into=survivor, merged=merged, date="2024-02-01", event_id="merge"),
    )

    assert worker.handovers() == []
    assert [f.event_id for f in history(worker, survivor).facts] == ["m1"]


async def test_a_hand_over_message_this_version_cannot_read_is_dead_lettered_and_the_rest_applied(
    worker: Worker,
) -> None:
    survivor, merged = keys_in(same=False)
    await worker.handle(make_merge(into=survivor, merged=merged, date="2024-02-01", event_id="merge"))
    (request,) = worker.handovers()
    newer = Sent(worker.settings.handover_topic_name, merged.encode(), b'{"v":2,"kind":"Requested"}', request.partition)

    await worker.redeliver(newer, request)

    (letter,) = worker.dead_letters()
    assert (letter["reason_code"], letter["topic"]) == ("schema_invalid", worker.settings.handover_topic_name)
    assert isinstance(stored(worker, merged), Redirect)


def test_frontdoor_worker_creates_the_hand_over_topic_co_partitioned_with_the_events_and_never_compacted() -> None:
    settings = Settings(topic_partitions=6)
    plans = {plan.name: plan for plan in topic_plans(settings, ProcessorSettings(app_id="app"))}

    handover, events = plans["app-merge-handover"], plans[ProcessorSettings().events_topic]
    assert handover.partitions == events.partitions == 6
    assert handover.configs["cleanup.policy"] == "delete"
    assert handover.configs["retention.ms"] == events.configs["retention.ms"]
