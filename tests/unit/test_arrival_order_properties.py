"""Property tests: arrival order, redelivery, retractions and merges never change the final flags or rates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.codes import ClosureReason
from schemas.events import InboundEvent
from services.core.config import RuleConfig
from services.core.engine import Engine
from services.core.indicators import rereferral_stats
from tests.builders import (
    make_closure,
    make_contact,
    make_merge,
    make_nfa,
    make_plan,
    make_plan_end,
    make_referral,
    make_retraction,
)

CONFIG = RuleConfig(retention_months=None)
START = dt.date(2023, 1, 1)
CHILDREN = ("a", "b", "c")


@st.composite
def front_door_histories(draw: st.DrawFn) -> list[InboundEvent]:
    """A few children's contacts, referrals, NFAs, closures and plans over two years, with retractions and a merge."""
    events: list[InboundEvent] = []
    serial = iter(range(10_000))

    def ids(kind: str) -> dict[str, Any]:
        return {"event_id": f"{kind}-{next(serial)}"}

    for child in CHILDREN:
        for offset in draw(st.lists(st.integers(0, 730), max_size=5)):
            when = START + dt.timedelta(days=offset)
            referral = make_referral(when, child_key=child, referral_id=f"r-{child}-{offset}", **ids("ref"))
            events.append(referral)
            if draw(st.booleans()):
                events.append(make_nfa(referral, when, **ids("nfa")))
            elif draw(st.booleans()):
                reason = draw(st.sampled_from(list(ClosureReason)))
                closed = when + dt.timedelta(days=draw(st.integers(0, 60)))
                events.append(make_closure(referral, closed, reason, **ids("close")))
        for offset in draw(st.lists(st.integers(0, 730), max_size=6)):
            events.append(make_contact(START + dt.timedelta(days=offset), child_key=child, **ids("contact")))
        if draw(st.booleans()):
            first = make_plan(
                START + dt.timedelta(days=draw(st.integers(0, 300))), plan_id=f"p1-{child}", child_key=child
            )
            events.append(first)
            events.append(make_plan_end(first, first.start_date + dt.timedelta(days=200), **ids("end")))
            second_start = first.start_date + dt.timedelta(days=draw(st.integers(201, 900)))
            events.append(make_plan(second_start, plan_id=f"p2-{child}", child_key=child, **ids("plan")))
    for target in draw(st.lists(st.sampled_from(events), max_size=2, unique_by=lambda e: e.event_id)) if events else []:
        events.append(make_retraction(target, **ids("retract")))
    if draw(st.booleans()):
        events.append(make_merge(into="a", merged="b", **ids("merge")))
    return events


def final_state(events: list[InboundEvent]) -> tuple[dict[str, str], dict[str, float | int]]:
    engine = Engine(CONFIG)
    for event in events:
        engine.apply(event)
    flags = {aid: s.fingerprint for h in engine.children.values() for aid, s in h.standing.items()}
    stats = rereferral_stats(engine.children.values(), dt.date(2023, 4, 1), dt.date(2025, 3, 31), CONFIG)
    return flags, stats.as_dict()


def in_event_time_order(events: list[InboundEvent]) -> list[InboundEvent]:
    return sorted(events, key=lambda e: (e.occurred_at, e.event_id))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=front_door_histories(), data=st.data())
def test_shuffling_the_arrival_order_changes_no_final_flag_or_rate(
    events: list[InboundEvent], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(events))
    assert final_state(shuffled) == final_state(in_event_time_order(events))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=front_door_histories(), data=st.data())
def test_redelivering_events_changes_no_final_flag_or_rate(events: list[InboundEvent], data: st.DataObject) -> None:
    repeats = data.draw(st.lists(st.sampled_from(events), max_size=10)) if events else []
    with_duplicates = data.draw(st.permutations(events + repeats))
    assert final_state(with_duplicates) == final_state(in_event_time_order(events))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=front_door_histories(), data=st.data())
def test_a_redelivered_event_emits_nothing(events: list[InboundEvent], data: st.DataObject) -> None:
    engine = Engine(CONFIG)
    for event in events:
        engine.apply(event)
    if events:
        again = data.draw(st.sampled_from(events))
        assert engine.apply(again)[1] == []


def fold(messages: list[Any]) -> dict[str, str]:
    """What a consumer of the alerts topic believes is standing after reading every message in order."""
    from schemas.alerts import AlertRevised, AlertWithdrawn  # noqa: PLC0415
    from services.core.history import fingerprint  # noqa: PLC0415

    standing: dict[str, str] = {}
    for m in messages:
        if isinstance(m, AlertWithdrawn):
            del standing[m.alert_id]
        elif isinstance(m, AlertRevised):
            assert m.alert_id in standing
            standing[m.alert_id] = fingerprint(m.alert)
        else:
            assert m.alert_id not in standing, "an alert is raised once, then only revised or withdrawn"
            standing[m.alert_id] = fingerprint(m)
    return standing


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=front_door_histories(), data=st.data())
def test_folding_the_alert_stream_in_any_arrival_order_gives_the_standing_alerts(
    events: list[InboundEvent], data: st.DataObject
) -> None:
    engine = Engine(CONFIG)
    messages = [m for e in data.draw(st.permutations(events)) for m in engine.apply(e)[1]]
    assert fold(messages) == final_state(in_event_time_order(events))[0]
