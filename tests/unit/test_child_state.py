"""A child's state survives serialisation exactly, stays small, and forgets what the rules no longer need."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings

from schemas.events import InboundEvent
from services.core.config import RuleConfig
from services.core.engine import Engine
from services.core.state import from_document, to_document
from tests.builders import CHILD_A, make_contact, make_plan, make_referral, make_retraction
from tests.unit.test_arrival_order_properties import front_door_histories

CONFIG = RuleConfig(retention_months=None)
KAFKA_DEFAULT_MESSAGE_LIMIT = 1_048_588


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=front_door_histories())
def test_a_restored_history_behaves_exactly_like_the_original(events: list[InboundEvent]) -> None:
    engine = Engine(CONFIG)
    half = len(events) // 2
    for event in events[:half]:
        engine.apply(event)
    restored = Engine(CONFIG, redirects=dict(engine.redirects))
    restored.children = {k: from_document(to_document(h)) for k, h in engine.children.items()}
    for event in events[half:]:
        assert restored.apply(event) == engine.apply(event)
    assert {k: to_document(h) for k, h in restored.children.items()} == {
        k: to_document(h) for k, h in engine.children.items()
    }


def test_a_child_at_the_fact_cap_stays_far_below_the_changelog_message_limit() -> None:
    config = RuleConfig(max_facts_per_child=2_000)
    engine = Engine(config)
    start = dt.date(2024, 1, 1)
    for n in range(2_500):  # four contacts a day, in order: an implausibly busy record, to test the cap
        engine.apply(make_contact(start + dt.timedelta(days=n // 4), contact_id=f"c{n}", event_id=f"e{n}"))
    [history] = engine.children.values()
    history.prune(start + dt.timedelta(days=625), config)
    assert len(history.facts) == 2_000
    assert len(to_document(history)) < KAFKA_DEFAULT_MESSAGE_LIMIT / 2


def test_pruning_forgets_old_facts_and_ids_but_keeps_plans_for_ever_counts() -> None:
    config = RuleConfig()
    engine = Engine(config)
    old_referral = make_referral("2021-01-10")
    events = [make_plan("2021-02-01", plan_id="p1"), old_referral, make_retraction(old_referral, "2021-03-01")]
    events.append(make_referral("2024-01-10"))
    for event in events:
        engine.apply(event)
    [history] = engine.children.values()
    history.prune(dt.date(2024, 2, 1), config)
    assert [f.ref for f in history.facts] == ["p1", f"ref-{CHILD_A}-2024-01-10"]
    assert history.retracted == {}
    assert old_referral.event_id not in history.seen
    # A second plan is still "second or subsequent" after the first one's other history has gone.
    messages = engine.apply(make_plan("2024-02-01", plan_id="p2"))[1]
    assert [m.type for m in messages] == ["RepeatChildProtectionPlan"]


def test_an_event_older_than_the_retention_window_is_counted_too_old_and_changes_nothing() -> None:
    engine = Engine(RuleConfig())
    engine.apply(make_referral("2024-06-01"))
    outcome, messages = engine.apply(make_referral("2021-01-01"))
    assert (outcome.value, messages) == ("too_old", [])
