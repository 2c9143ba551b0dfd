"""The desk's read model on SQLite and PostgreSQL: the same fold rules as the pure state, paging, filters, offsets."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from schemas.codes import Rule, Severity
from schemas.events import ContactReceived, EventRetracted, ReferralOpened
from services.alertdesk.database import Database
from services.alertdesk.projection import Batch, project
from services.alertdesk.readmodel import ReadModel
from services.alertdesk.state import DeskState, FeedFilter
from services.alertdesk.weeks import IsoWeek
from tests.unit.alertdesk.desk_builders import (
    acknowledged,
    assigned,
    closed,
    make_contacts_alert,
    make_rereferral,
    make_two_referrals,
    noted,
    withdrawn,
)

CHILD = "0123456789abcdef0123456789abcdef"
SEEN = dt.datetime(2024, 6, 5, 9, 0, tzinfo=dt.UTC)


def batch_of(*messages: object, seen_at: dt.datetime | None = None) -> Batch:
    batch = Batch()
    for message in messages:
        batch.add(message, seen_at)  # type: ignore[arg-type]  # builders return the message union's members
    return batch


def test_the_projection_and_the_pure_state_agree_for_every_interleaving_of_alerts_and_actions(model: ReadModel) -> None:
    alert = make_rereferral()
    alerts = [alert, withdrawn(alert), make_rereferral(referral_date="2024-06-04")]
    actions = [acknowledged(alert), noted(alert), assigned(alert)]
    finals = set()
    for alert_slots in itertools.combinations(range(6), 3):  # every merge of the two topics, each in its own order
        queues = (iter(alerts), iter(actions))
        order = [next(queues[0] if i in alert_slots else queues[1]) for i in range(6)]
        model.db.drop_schema()
        model.db.create_schema()
        for message in order:  # one message per batch: the harshest interleaving for the stored waiting actions
            project(model.db, batch_of(message), None)
        state = DeskState()
        for message in order:
            if hasattr(message, "action_id"):
                state.apply_action(message)  # type: ignore[arg-type]  # an action
            else:
                state.apply_alert(message)  # type: ignore[arg-type]  # an alert message
        stored = model.get("886", alert.alert_id)
        expected = state.records[alert.alert_id]
        assert stored is not None
        assert (stored.status, stored.notes, stored.assignee, stored.acknowledged_by) == (
            expected.status, expected.notes, expected.assignee, expected.acknowledged_by,
        )  # fmt: skip
        finals.add((stored.status, len(stored.notes)))
    assert len(finals) == 1


def test_a_page_is_the_newest_alerts_and_its_cursor_leads_to_the_next_older_page(model: ReadModel) -> None:
    alerts = [make_rereferral(child_key=f"c{i:03}") for i in range(25)]
    project(model.db, batch_of(*alerts), None)
    first = model.page("886", FeedFilter(), older_than=None, size=10)
    second = model.page("886", FeedFilter(), older_than=first.older, size=10)
    third = model.page("886", FeedFilter(), older_than=second.older, size=10)
    shown = [r.alert.child_key for r in first.records + second.records + third.records]
    assert shown == [a.child_key for a in reversed(alerts)]
    assert third.older is None and model.count("886", FeedFilter()) == 25


def test_filters_by_severity_rule_team_status_and_date_are_applied_by_the_database(model: ReadModel) -> None:
    early, late = make_rereferral(child_key="a", referral_date="2024-05-01"), make_two_referrals(child_key="b")
    contacts = make_contacts_alert(child_key="c")
    project(model.db, batch_of(early, late, contacts, closed(contacts)), None)

    def keys(chosen: FeedFilter) -> list[str]:
        return [r.alert.child_key for r in model.select("886", chosen)]

    assert keys(FeedFilter(severity=Severity.HIGH)) == ["a"]
    assert keys(FeedFilter(rule=Rule.TWO_REFERRALS_IN_SIX_MONTHS)) == ["b"]
    assert keys(FeedFilter(team="MASH")) == []
    assert keys(FeedFilter(status="closed")) == ["c"]
    assert keys(FeedFilter(date_from=dt.date(2024, 6, 1))) == ["b"]
    assert keys(FeedFilter(date_to=dt.date(2024, 5, 31))) == ["a"]
    assert keys(FeedFilter(child_key="b", include_finished=True)) == ["b"]
    assert model.select("353") == []


def test_an_alert_about_a_date_older_than_the_setting_when_first_seen_is_history(model: ReadModel) -> None:
    old, recent = make_rereferral(child_key="old", referral_date="2024-05-01"), make_rereferral(child_key="new")
    changes = project(model.db, batch_of(old, recent, seen_at=SEEN), 14)
    assert {c.record.alert.child_key: c.record.history for c in changes} == {"old": True, "new": False}
    assert [r.alert.child_key for r in model.select("886", FeedFilter(history=False))] == ["new"]
    assert [r.alert.child_key for r in model.select("886", FeedFilter(history=True))] == ["old"]
    assert all(c.raised for c in changes)


def test_offsets_are_stored_with_the_rows_and_a_failed_batch_stores_neither(model: ReadModel) -> None:
    batch = batch_of(make_rereferral())
    batch.read("alerts", 0, 41)
    project(model.db, batch, None)
    assert model.offsets() == {("alerts", 0): 42}
    broken = batch_of(make_rereferral(child_key="x"), acknowledged(make_rereferral(child_key="x")))
    broken.read("alerts", 0, 99)
    broken.items.append((object(), None))  # type: ignore[arg-type]  # not a message: the batch must fail whole
    with pytest.raises(AttributeError):
        project(model.db, broken, None)
    assert model.offsets() == {("alerts", 0): 42}
    assert model.total() == 1


def test_the_weekly_review_aggregates_teams_and_open_counts_come_from_the_database(model: ReadModel) -> None:
    two = make_two_referrals(referral_date="2024-06-05")
    gone = make_rereferral(child_key="g")
    project(model.db, batch_of(two, gone, withdrawn(gone), make_contacts_alert()), None)
    assert [r.alert_id for r in model.weekly_review("886", IsoWeek.parse("2024-W23"))] == [two.alert_id]
    assert model.aggregates("886").total == 2
    assert model.teams("886") == ["Assessment Team North", "MASH"]
    assert model.open_counts() == {("886", "medium"): 1, ("886", "low"): 1}


def test_the_timeline_keeps_pseudonymised_events_in_date_order_and_drops_retracted_ones(model: ReadModel) -> None:
    at = dt.datetime(2024, 6, 1, 9, tzinfo=dt.UTC)
    base = {"occurred_at": at, "recorded_at": at, "la_code": "886", "child_key": CHILD}
    contact = ContactReceived(**base, event_id="e1", contact_id="c1", received_at=at, source="1A")
    referral = ReferralOpened(
        **base, event_id="e2", referral_id="r1", referral_date=dt.date(2024, 5, 30), source="1A", team="North"
    )
    wrong = ContactReceived(**base, event_id="e3", contact_id="c2", received_at=at, source="1A")
    retraction = EventRetracted(**base, event_id="e4", retracted_event_id="e3")
    project(model.db, batch_of(contact, referral, wrong, retraction), None)
    lines = model.timeline("886", CHILD)
    assert [(x.kind, x.date) for x in lines] == [
        ("ReferralOpened", dt.date(2024, 5, 30)),
        ("ContactReceived", dt.date(2024, 6, 1)),
    ]
    assert ("Team", "North") in lines[0].facts
    assert model.timeline("353", CHILD) == []


def test_a_rebuild_drops_the_projection_so_it_can_be_replayed_from_the_topics(database_url: str) -> None:
    db = Database(database_url)
    db.create_schema()
    project(db, batch_of(make_rereferral()), None)
    db.drop_schema()
    db.create_schema()
    assert ReadModel(db).total() == 0 and ReadModel(db).offsets() == {} and ReadModel(db).seq == 0
    db.close()
