"""The events agent's batch handling, in-process: a real faust children table (memory store), a recording producer."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import pytest

from schemas.alerts import RereferralDetected
from schemas.codec import decode_totals, encode
from schemas.codes import ClosureReason, Rule
from schemas.events import InboundEvent
from services.core.aggregates import AggregateKey
from services.core.calendar import local_date
from services.core.config import DEFAULT_CONFIG
from services.core.engine import Engine
from services.core.history import ChildHistory
from services.core.indicators import rereferral_stats
from services.core.state import to_document
from services.kafka.topics import partition_for
from services.processor.tables import Redirect, table_key
from tests.builders import (
    CHILD_A,
    CHILD_B,
    CHILD_C,
    make_closure,
    make_contact,
    make_merge,
    make_nfa,
    make_referral,
    make_retraction,
    pseudonym,
)
from tests.component.processor_fakes import PARTITIONS, Worker, make_worker


@pytest.fixture
def worker(tmp_path: Path) -> Worker:
    return make_worker(tmp_path)


def replay(*batches: Iterable[InboundEvent]) -> tuple[list[bytes], Engine]:
    """`frontdoor replay`: the same events through one Engine, one at a time; its alert messages, as sent."""
    engine = Engine(DEFAULT_CONFIG)
    events = [e for batch in batches for e in batch]
    messages = [encode(m) for m in engine.apply_all(events)]
    today = max(local_date(e.occurred_at) for e in events)
    for history in engine.children.values():
        history.prune(today, DEFAULT_CONFIG)  # as the worker stores it
    return messages, engine


def history(worker: Worker, child: str, la_code: str = "886") -> ChildHistory:
    stored = worker.state(child, la_code)
    assert isinstance(stored, ChildHistory)
    return stored


async def test_a_rereferral_sends_one_alert_keyed_by_the_child_and_stores_the_childs_history(worker: Worker) -> None:
    await worker.handle(make_referral("2024-01-10", event_id="r1"), make_referral("2024-06-10", event_id="r2"))

    (alert,) = [a for a in worker.alerts() if isinstance(a, RereferralDetected)]
    assert alert.rule is Rule.REREFERRAL
    assert {s.key for s in worker.producer.on(worker.settings.alerts_topic)} == {CHILD_A.encode()}
    assert [f.event_id for f in history(worker, CHILD_A).facts] == ["r1", "r2"]


async def test_a_batchs_table_writes_go_to_its_councils_partition(worker: Worker) -> None:
    await worker.handle(make_referral("2024-01-10", la_code="202"), make_contact("2024-01-11", la_code="202"))

    assert {s.partition for s in worker.changelog()} == {partition_for("202", PARTITIONS)}


async def test_a_redelivered_batch_changes_nothing_and_emits_nothing(worker: Worker) -> None:
    batch = [make_referral("2024-01-10", event_id="r1"), make_referral("2024-06-10", event_id="r2")]
    await worker.handle(*batch)
    stored, alerts, totals = worker.stored(), len(worker.alerts()), worker.events.totals.council_totals("886")

    await worker.handle(*batch)  # the same events again, as after a crash before the offsets were committed

    assert len(worker.alerts()) == alerts
    assert worker.stored() == stored
    assert worker.events.totals.council_totals("886") == totals
    assert {args[1] for args in worker.metrics.named("events_consumed")[2:]} == {"duplicate"}


async def test_several_events_of_one_child_in_one_batch_write_its_state_once(worker: Worker) -> None:
    await worker.handle(
        make_contact("2024-01-02", event_id="c1"),
        make_contact("2024-01-09", event_id="c2"),
        make_referral("2024-01-10", event_id="r1"),
        make_referral("2024-01-10", event_id="r1-again", child_key=CHILD_B),
    )

    written = Counter(s.key for s in worker.changelog())
    assert written == {table_key(("886", CHILD_A)): 1, table_key(("886", CHILD_B)): 1}


async def test_alerts_are_acknowledged_before_any_state_is_written(worker: Worker) -> None:
    await worker.handle(make_referral("2024-01-10", event_id="r1"), make_referral("2024-06-10", event_id="r2"))

    log = worker.producer.log
    changelog = worker.children.changelog_topic.get_topic_name()
    first_write = log.index(("sent", changelog))
    alerts = worker.settings.alerts_topic
    assert log.count(("acknowledged", alerts)) == log.count(("sent", alerts)) > 0
    assert ("acknowledged", alerts) not in log[first_write:]


async def test_a_batch_whose_alert_cannot_be_delivered_fails_without_writing_any_state(worker: Worker) -> None:
    worker.producer.fail_topic = worker.settings.alerts_topic

    with pytest.raises(RuntimeError, match="broker refused"):
        await worker.handle(make_referral("2024-01-10", event_id="r1"), make_referral("2024-06-10", event_id="r2"))

    # Nothing stored: the redelivered batch will compute and send the alert again.
    assert worker.state(CHILD_A) is None
    assert worker.changelog() == []
    assert worker.events.totals.council_totals("886") == Counter()


async def test_records_merged_within_a_council_join_as_replay_joins_them(worker: Worker) -> None:
    batches = [
        [make_referral("2024-01-10", child_key=CHILD_B, event_id="b1")],
        [make_merge(into=CHILD_A, merged=CHILD_B, date="2024-02-01", event_id="merge")],
        [make_referral("2024-06-10", child_key=CHILD_B, event_id="b2")],  # filed under the merged record's key
    ]
    for batch in batches:
        await worker.handle(*batch)

    messages, engine = replay(*batches)
    assert [s.value for s in worker.producer.on(worker.settings.alerts_topic)] == messages
    assert any(isinstance(a, RereferralDetected) and a.child_key == CHILD_A for a in worker.alerts())
    assert [f.event_id for f in history(worker, CHILD_A).facts] == ["b1", "b2"]
    assert to_document(history(worker, CHILD_A)) == to_document(engine.children[("886", CHILD_A)])
    redirect = worker.state(CHILD_B)
    assert isinstance(redirect, Redirect) and redirect.into == CHILD_A


async def test_a_chain_of_merges_in_one_batch_and_across_batches_gives_replays_alerts_and_histories(
    worker: Worker,
) -> None:
    batches = [
        [
            make_referral("2024-01-10", child_key=CHILD_C, event_id="c1"),
            make_contact("2024-01-15", child_key=pseudonym("c")),
        ],
        [
            make_referral("2024-03-01", child_key=CHILD_B, event_id="b1"),
            make_merge(into=CHILD_B, merged=CHILD_C, date="2024-03-02", event_id="merge-c"),
            make_merge(into=CHILD_A, merged=CHILD_B, date="2024-03-03", event_id="merge-b"),
        ],
        [
            make_referral("2024-05-01", child_key=CHILD_C, event_id="c2"),  # two redirects away from child-a
            make_merge(into=CHILD_B, merged=CHILD_C, date="2024-03-02", event_id="merge-c"),  # redelivered
        ],
    ]
    for batch in batches:
        await worker.handle(*batch)

    messages, engine = replay(*batches)
    assert [s.value for s in worker.producer.on(worker.settings.alerts_topic)] == messages
    assert to_document(history(worker, CHILD_A)) == to_document(engine.children[("886", CHILD_A)])
    assert to_document(history(worker, pseudonym("c"))) == to_document(engine.children[("886", pseudonym("c"))])
    assert {child: worker.state(child).into for child in (CHILD_B, CHILD_C)} == {  # type: ignore[union-attr]
        CHILD_B: CHILD_A,
        CHILD_C: CHILD_B,
    }
    assert engine.resolve(("886", CHILD_C)) == ("886", CHILD_A)


async def test_a_child_with_nothing_left_inside_the_retention_expires_at_the_sweep_and_leaves_the_council_totals(
    worker: Worker,
) -> None:
    await worker.handle(make_contact("2021-01-04", event_id="old", child_key=pseudonym("child-old")))
    assert worker.events.totals.council_totals("886")[("2021-01", "contacts", "schools")] == 1
    worker.events.sweeps.clear()  # the sweep interval has passed

    await worker.handle(make_contact("2024-06-03", event_id="new", child_key=pseudonym("child-new")))

    assert worker.state(pseudonym("child-old")) is None
    assert worker.state(pseudonym("child-new")) is not None
    totals = worker.events.totals.council_totals("886")
    assert ("2021-01", "contacts", "schools") not in totals
    assert totals == worker.summed_contributions("886")


async def test_no_child_expires_before_the_sweep_interval_has_passed(worker: Worker) -> None:
    await worker.handle(make_contact("2021-01-04", event_id="old", child_key=pseudonym("child-old")))

    await worker.handle(make_contact("2024-06-03", event_id="new", child_key=pseudonym("child-new")))

    assert worker.state(pseudonym("child-old")) is not None  # the first batch swept; the next sweep is an hour away


def many_batches() -> list[list[InboundEvent]]:
    """Two councils in different partitions; duplicates, NFA, closure, retraction, merge, a late referral."""
    early = make_referral("2024-01-10", child_key=CHILD_A, event_id="a1")
    other = make_referral("2024-02-10", la_code="202", child_key=CHILD_A, event_id="x1")
    return [
        [early, make_contact("2024-01-08", child_key=CHILD_A), make_referral("2024-01-20", child_key=CHILD_B)],
        [other, make_referral("2024-04-10", la_code="202", child_key=CHILD_A, event_id="x2")],
        [make_nfa(early, "2024-01-12"), make_referral("2024-05-01", child_key=CHILD_A, event_id="a2"), early],
        [
            make_retraction(other, "2024-06-01"),
            make_closure(other, "2024-06-02", ClosureReason.CLOSED_AFTER_ASSESSMENT_NFA),
        ],
        [
            make_merge(into=CHILD_A, merged=CHILD_B, date="2024-06-03"),
            make_contact("2024-06-04", child_key=pseudonym("b")),
        ],
        [make_referral("2023-12-01", child_key=CHILD_B, event_id="late")],  # late and filed under a merged key
    ]


async def test_the_council_totals_equal_the_sum_of_the_childrens_contributions_after_any_batches(
    worker: Worker,
) -> None:
    assert partition_for("886", PARTITIONS) != partition_for("202", PARTITIONS)
    for batch in many_batches():
        await worker.handle(*batch)

        for la_code in ("886", "202"):
            assert worker.events.totals.council_totals(la_code) == worker.summed_contributions(la_code)
    assert worker.events.totals.councils() == ["202", "886"]


async def test_totals_rebuilt_from_the_table_equal_the_totals_kept_batch_by_batch(worker: Worker) -> None:
    for batch in many_batches():
        await worker.handle(*batch)
    kept = {la: worker.events.totals.council_totals(la) for la in ("886", "202")}

    worker.events.rebuild_totals(set(range(PARTITIONS)))

    assert {la: worker.events.totals.council_totals(la) for la in ("886", "202")} == kept


async def test_rebuilt_totals_hold_only_the_councils_of_the_partitions_this_worker_holds(worker: Worker) -> None:
    for batch in many_batches():
        await worker.handle(*batch)

    worker.events.rebuild_totals({partition_for("202", PARTITIONS)})

    assert worker.events.totals.councils() == ["202"]
    assert worker.events.totals.council_totals("202") == worker.summed_contributions("202")
    assert worker.events.totals.council_totals("886") == Counter()


async def test_metrics_hooks_see_outcomes_alerts_and_the_batch(worker: Worker) -> None:
    await worker.handle(make_referral("2024-01-10", event_id="r1"), make_referral("2024-06-10", event_id="r2"))

    assert worker.metrics.named("events_consumed") == [("ReferralOpened", "applied")] * 2
    raised = {(a.la_code, a.rule.value, a.severity.value) for a in worker.alerts() if hasattr(a, "severity")}
    assert set(worker.metrics.named("alert_raised")) == raised
    assert "rereferral" in {rule for _, rule, _ in raised}
    ((size, seconds),) = worker.metrics.named("batch_processed")
    assert size == 2 and seconds >= 0


async def test_applied_contacts_and_referrals_are_counted_by_council_and_source_group(worker: Worker) -> None:
    await worker.handle(
        make_contact("2024-01-02", event_id="c1"),
        make_referral("2024-01-10", event_id="r1"),
        make_referral("2024-06-10", event_id="r2"),
        make_referral("2024-06-10", event_id="r2"),  # a duplicate is not counted twice
    )

    assert worker.metrics.named("contact_received") == [("886", "schools")]  # make_contact: a school
    assert worker.metrics.named("referral_opened") == [("886", "police", False), ("886", "police", True)]


async def test_the_rereferral_flag_is_the_cores_decision_when_the_referral_is_applied_wherever_batches_split(
    tmp_path: Path,
) -> None:
    # The later referral arrives first: when it is applied the child has no earlier referral, so the counter does
    # not count it, in one batch or two. The late one revises the indicator (the council totals), not the counter.
    referrals = [make_referral("2024-06-10", event_id="r2"), make_referral("2024-01-10", event_id="r1")]
    together, apart = make_worker(tmp_path / "one"), make_worker(tmp_path / "two")
    await together.handle(*referrals)
    for referral in referrals:
        await apart.handle(referral)

    flags = [flag for _, _, flag in together.metrics.named("referral_opened")]
    assert flags == [flag for _, _, flag in apart.metrics.named("referral_opened")] == [False, False]
    in_order = make_worker(tmp_path / "in-order")
    await in_order.handle(*reversed(referrals))
    assert [flag for _, _, flag in in_order.metrics.named("referral_opened")] == [False, True]
    stats = rereferral_stats([history(together, CHILD_A)], dt.date(2024, 1, 1), dt.date(2024, 12, 31), DEFAULT_CONFIG)
    assert stats.rereferrals == 1  # the indicator counts r2, as replay's does


async def test_state_size_and_consumer_lag_are_reported_from_the_table_and_the_partitions_held(
    worker: Worker,
) -> None:
    held = next(tp for tp in worker.consumer.assigned if tp.partition == partition_for("886", PARTITIONS))
    worker.consumer.assigned = {held}
    worker.consumer.highwaters = {held: 10}
    await worker.handle(make_contact("2024-01-02", event_id="c1"), make_contact("2024-01-02", child_key=CHILD_B))

    worker.events.observe_state()

    assert worker.metrics.named("state_size") == [(2,)]
    assert worker.metrics.named("consumer_lag") == [(8,)]  # offsets 0 and 1 handled; 2..9 still to come


def on_totals_topic(worker: Worker) -> dict[str, Counter[AggregateKey]]:
    """What compaction keeps of the council totals topic, summed by council."""
    kept = {s.key: decode_totals(s.value) for s in worker.producer.on(worker.settings.totals_topic)}
    summed: dict[str, Counter[AggregateKey]] = {}
    for snapshot in kept.values():
        cells = summed.setdefault(snapshot.la_code, Counter())
        cells.update({(snapshot.month, c.measure, c.label): c.count for c in snapshot.cells})
    return summed


async def test_the_totals_topic_carries_the_council_totals_after_any_batches_acknowledged_before_any_state(
    worker: Worker,
) -> None:
    for batch in many_batches():
        await worker.handle(*batch)
        published = on_totals_topic(worker)
        for la_code in ("886", "202"):
            assert published.get(la_code, Counter()) == worker.events.totals.council_totals(la_code)
    log = worker.producer.log
    totals_topic = worker.settings.totals_topic
    first_write = log.index(("sent", worker.children.changelog_topic.get_topic_name()))
    assert ("acknowledged", totals_topic) in log[:first_write]
    assert all(s.key.count(b"|") == 1 for s in worker.producer.on(totals_topic))


async def test_a_child_expired_by_the_sweep_leaves_the_totals_topic_too(worker: Worker) -> None:
    await worker.handle(make_contact("2021-01-04", event_id="old", child_key=pseudonym("child-old")))
    worker.events.sweeps.clear()  # the sweep interval has passed

    await worker.handle(make_contact("2024-06-03", event_id="new", child_key=pseudonym("child-new")))

    assert on_totals_topic(worker)["886"] == worker.events.totals.council_totals("886")
    assert not [k for k in on_totals_topic(worker)["886"] if k[0] == "2021-01"]


async def test_after_a_rebuild_the_worker_publishes_every_month_of_its_councils_and_no_other_council(
    worker: Worker,
) -> None:
    for batch in many_batches():
        await worker.handle(*batch)
    sent_before = len(worker.producer.on(worker.settings.totals_topic))

    worker.events.rebuild_totals({partition_for("202", PARTITIONS)})
    await worker.events.publish_totals()

    again = [decode_totals(s.value) for s in worker.producer.on(worker.settings.totals_topic)[sent_before:]]
    assert {s.la_code for s in again} == {"202"}
    months = [s.month for s in again]
    assert months == sorted(set(months)) and len(months) > 1
    first, last = (int(m[:4]) * 12 + int(m[5:]) for m in (months[0], months[-1]))
    assert len(months) == last - first + 1  # no month left out between the first and the last
