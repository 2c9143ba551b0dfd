"""The events agent's batch handling, in-process: real faust tables (memory store), a recording producer."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from schemas.alerts import RereferralDetected
from schemas.codes import Rule
from services.core.aggregates import contribution
from services.core.config import DEFAULT_CONFIG
from services.core.state import from_document
from services.processor.batch import Redirect, load, table_key
from tests.builders import make_contact, make_merge, make_referral
from tests.component.processor_fakes import Worker, keys_in, make_worker


@pytest.fixture
def worker(tmp_path: Path) -> Worker:
    return make_worker(tmp_path)


def state(worker: Worker, child: str, la_code: str = "886") -> object:
    raw = worker.children.get(table_key((la_code, child)))
    return None if raw is None else load(raw)


async def test_a_rereferral_sends_one_alert_keyed_by_the_child_and_stores_the_childs_history(worker: Worker) -> None:
    await worker.handle(make_referral("2024-01-10", event_id="r1"), make_referral("2024-06-10", event_id="r2"))

    (alert,) = [a for a in worker.alerts() if isinstance(a, RereferralDetected)]
    assert alert.rule is Rule.REREFERRAL
    assert {s.key for s in worker.producer.on(worker.settings.alerts_topic)} == {b"child-a"}
    history = state(worker, "child-a")
    assert [f.event_id for f in history.facts] == ["r1", "r2"]  # type: ignore[attr-defined]


async def test_a_redelivered_batch_changes_nothing_and_emits_nothing(worker: Worker) -> None:
    batch = [make_referral("2024-01-10", event_id="r1"), make_referral("2024-06-10", event_id="r2")]
    await worker.handle(*batch)
    before = worker.children.get(table_key(("886", "child-a")))
    alerts, contributions = len(worker.alerts()), len(worker.contributions())

    await worker.handle(*batch)  # the same events again, as after a crash before the offsets were committed

    assert len(worker.alerts()) == alerts
    assert len(worker.contributions()) == contributions
    assert worker.children.get(table_key(("886", "child-a"))) == before
    assert {args[1] for args in worker.metrics.named("events_consumed")[2:]} == {"duplicate"}


async def test_several_events_of_one_child_in_one_batch_write_its_state_once(worker: Worker) -> None:
    await worker.handle(
        make_contact("2024-01-02", event_id="c1"),
        make_contact("2024-01-09", event_id="c2"),
        make_referral("2024-01-10", event_id="r1"),
        make_referral("2024-01-10", event_id="r1-again", child_key="child-b"),
    )

    written = Counter(s.key for s in worker.changelog())
    assert written == {table_key(("886", "child-a")): 1, table_key(("886", "child-b")): 1}
    assert Counter(c.child_key for c in worker.contributions()) == {"child-a": 1, "child-b": 1}


async def test_alerts_and_contributions_are_acknowledged_before_any_state_is_written(worker: Worker) -> None:
    await worker.handle(make_referral("2024-01-10", event_id="r1"), make_referral("2024-06-10", event_id="r2"))

    topics = [s.topic for s in worker.producer.sent]
    changelog = worker.children.changelog_topic.get_topic_name()
    first_write = topics.index(changelog)
    assert worker.settings.alerts_topic in topics[:first_write]
    assert worker.settings.contributions_topic in topics[:first_write]
    assert set(topics[first_write:]) == {changelog}


async def test_a_batch_whose_alert_cannot_be_delivered_fails_without_writing_any_state(worker: Worker) -> None:
    worker.producer.fail_topic = worker.settings.alerts_topic

    with pytest.raises(RuntimeError, match="broker refused"):
        await worker.handle(make_referral("2024-01-10", event_id="r1"), make_referral("2024-06-10", event_id="r2"))

    # Nothing stored: the redelivered batch will compute and send the alert again.
    assert worker.children.get(table_key(("886", "child-a"))) is None
    assert worker.changelog() == []


async def test_records_merged_within_a_partition_join_and_the_merged_records_later_events_follow(
    worker: Worker,
) -> None:
    survivor, merged = keys_in(same=True)
    await worker.handle(make_referral("2024-01-10", child_key=merged, event_id="m1"))
    await worker.handle(make_merge(into=survivor, merged=merged, date="2024-02-01", event_id="merge"))
    await worker.handle(make_referral("2024-06-10", child_key=merged, event_id="m2"))  # filed under the old key

    assert state(worker, merged) == Redirect(survivor, state(worker, merged).day)  # type: ignore[attr-defined]
    joined = state(worker, survivor)
    assert [f.event_id for f in joined.facts] == ["m1", "m2"]  # type: ignore[attr-defined]
    assert any(isinstance(a, RereferralDetected) and a.child_key == survivor for a in worker.alerts())
    # The merged record's contribution is withdrawn (an empty one) and the survivor's carries both referrals.
    merged_last = [c for c in worker.contributions() if c.child_key == merged][-1]
    assert merged_last.counts == Counter()


async def test_a_child_with_nothing_left_inside_the_retention_expires_and_leaves_the_aggregates(
    worker: Worker,
) -> None:
    await worker.handle(make_contact("2021-01-04", event_id="old", child_key="child-old"))
    worker.events.last_sweep = float("-inf")  # the next batch sweeps

    await worker.handle(make_contact("2024-06-03", event_id="new", child_key="child-new"))

    assert state(worker, "child-old") is None
    assert state(worker, "child-new") is not None
    (last_old,) = [c for c in worker.contributions() if c.child_key == "child-old"][-1:]
    assert last_old.counts == Counter()


async def test_each_changed_child_publishes_its_whole_contribution_keyed_by_council(worker: Worker) -> None:
    await worker.handle(make_referral("2024-01-10", event_id="r1"), make_referral("2024-06-10", event_id="r2"))

    (sent,) = worker.producer.on(worker.settings.contributions_topic)
    (published,) = worker.contributions()
    history = from_document(worker.children.get(table_key(("886", "child-a"))))
    assert sent.key == b"886"
    assert (published.version, published.counts) == (history.version, contribution(history, DEFAULT_CONFIG))


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


async def test_state_size_and_consumer_lag_are_reported_from_the_table_and_the_partitions_held(worker: Worker) -> None:
    await worker.handle(make_contact("2024-01-02", event_id="c1"), make_contact("2024-01-02", child_key="child-b"))

    worker.events.observe_state()

    assert worker.metrics.named("state_size") == [(2,)]
    # Every partition's highwater is 10 here; the two partitions with events have handled offset 0.
    handled = set(worker.events.counts.positions)
    assert worker.metrics.named("consumer_lag") == [(9 * len(handled),)]
