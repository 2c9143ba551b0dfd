"""The feed by child on SQLite and PostgreSQL: one row per child by its newest matching alert, filters before
grouping, keyset paging across children with many alerts, the child's other alerts, and the capped child count."""

from __future__ import annotations

import datetime as dt

from schemas.alerts import RaisedAlert, alert_id
from schemas.codes import Rule, Severity
from services.alertdesk.bychild import child_card, child_page, count_children
from services.alertdesk.projection import Batch, project
from services.alertdesk.readmodel import ReadModel
from services.alertdesk.state import FeedFilter
from tests.unit.alertdesk.desk_builders import closed, make_contacts_alert, make_rereferral

LIVE = FeedFilter(history=False, by_child=True)


def contacts(child_key: str, date: str) -> RaisedAlert:
    day = dt.date.fromisoformat(date)
    return make_contacts_alert(
        child_key=child_key, alert_id=alert_id(Rule.REPEATED_CONTACTS, "886", child_key, f"c-{date}"),
        contact_id=f"c-{child_key}-{date}", contact_date=day,
    )  # fmt: skip


def fold(model: ReadModel, *messages: object) -> None:
    batch = Batch()
    for message in messages:
        batch.add(message, None)  # type: ignore[arg-type]  # builders return the message union's members
    project(model.db, batch, None)


def test_each_child_appears_once_ordered_by_its_newest_alert_with_its_other_alerts_newest_first(
    model: ReadModel,
) -> None:
    a1, b1, a2, c1, a3 = (
        contacts("a", "2024-03-10"), contacts("b", "2024-03-11"), contacts("a", "2024-03-12"),
        contacts("c", "2024-03-13"), make_rereferral(child_key="a", referral_date="2024-03-31"),
    )  # fmt: skip
    fold(model, a1, b1, a2, c1, a3)
    page = child_page(model.db, "886", LIVE, older_than=None, size=10)
    assert [card.newest.alert_id for card in page.cards] == [a3.alert_id, c1.alert_id, b1.alert_id]
    assert [o.alert_id for o in page.cards[0].others] == [a2.alert_id, a1.alert_id]
    assert page.cards[0].severity is Severity.HIGH and page.cards[1].others == () and page.older is None


def test_filters_apply_before_grouping_so_a_card_is_the_childs_newest_matching_alert(model: ReadModel) -> None:
    older_contacts, newer_high = contacts("a", "2024-03-10"), make_rereferral(child_key="a", referral_date="2024-04-01")
    only_high = make_rereferral(child_key="b", referral_date="2024-04-02")
    closed_contacts = contacts("b", "2024-04-03")
    fold(model, older_contacts, newer_high, only_high, closed_contacts, closed(closed_contacts))
    low = child_page(model.db, "886", FeedFilter(severity=Severity.LOW, history=False), older_than=None, size=10)
    assert [(c.newest.alert_id, c.others) for c in low.cards] == [(older_contacts.alert_id, ())]
    assert low.cards[0].severity is Severity.LOW  # the child's high alert does not match, so it is not counted
    open_only = child_page(model.db, "886", LIVE, older_than=None, size=10)
    assert [c.newest.alert_id for c in open_only.cards] == [only_high.alert_id, newer_high.alert_id]
    everything = child_page(model.db, "886", FeedFilter(include_finished=True), older_than=None, size=10)
    assert everything.cards[0].newest.alert_id == closed_contacts.alert_id
    assert [o.is_open for o in everything.cards[0].others] == [True]


def test_paging_by_the_newest_alert_walks_children_with_many_alerts_without_repeating_or_skipping_one(
    model: ReadModel,
) -> None:
    alerts = []
    for day in range(1, 29):  # five children, each raising again and again, interleaved
        alerts.append(contacts("abcde"[day * 7 % 5], f"2024-02-{day:02}"))
    fold(model, *alerts)
    model.db.analyse()  # as the desk does once caught up: statistics change plans, never answers
    newest_first: list[str] = []
    for alert in reversed(alerts):
        if alert.child_key not in newest_first:
            newest_first.append(alert.child_key)
    shown: list[str] = []
    cursor, pages = None, 0
    while True:
        page = child_page(model.db, "886", LIVE, older_than=cursor, size=2)
        keys = [c.child_key for c in page.cards]
        shown, pages = shown + keys, pages + 1
        assert sum(len(c.others) + 1 for c in page.cards) == sum(a.child_key in keys for a in alerts)  # every one
        if page.older is None:
            break
        cursor = page.older
    assert shown == newest_first and pages == 3
    assert count_children(model.db, "886", LIVE) == 5 and count_children(model.db, "886", LIVE, cap=3) == 3


def test_one_childs_card_follows_its_alerts_and_is_none_once_none_of_them_match(model: ReadModel) -> None:
    first, second = contacts("a", "2024-03-10"), contacts("a", "2024-03-11")
    fold(model, first, second, contacts("b", "2024-03-12"))
    card = child_card(model.db, "886", LIVE, "a")
    assert card is not None and (card.newest.alert_id, card.alert_ids) == (
        second.alert_id, [second.alert_id, first.alert_id],
    )  # fmt: skip
    fold(model, closed(second), closed(first))
    assert child_card(model.db, "886", LIVE, "a") is None
    assert child_card(model.db, "353", LIVE, "b") is None  # another council's child is no child
