"""The live feed by child: a page of child cards, its count line, and each changed child's card for the stream."""

from __future__ import annotations

from typing import Any

from services.alertdesk.bychild import ChildCard, ChildPage, OtherAlert, child_card, child_page, count_children
from services.alertdesk.context import DeskContext
from services.alertdesk.pages import card
from services.alertdesk.readmodel import count_text
from services.alertdesk.sessions import Session
from services.alertdesk.state import AlertRecord, FeedFilter


def render(context: DeskContext, session: Session, group: ChildCard) -> str:
    return card(
        group.newest, csrf=session.csrf_token, case_url_template=context.settings.case_record_url_template, group=group
    )


def first_children(context: DeskContext, session: Session, chosen: FeedFilter, older: int | None) -> ChildPage:
    size = context.settings.feed_page_size
    return child_page(context.desk.state.db, session.user.la_code, chosen, older_than=older, size=size)


def count_line(context: DeskContext, session: Session, chosen: FeedFilter, shown: int) -> str:
    """The count line, "50 children shown of 1,203 with 1,847 open alerts", each total capped as alerts are."""
    model, la_code = context.desk.state, session.user.la_code
    children, alerts = count_children(model.db, la_code, chosen), model.count(la_code, chosen)
    return (
        f'<p class="count"><span id="alert-count">{shown}</span> {"child" if shown == 1 else "children"} shown of '
        f'<span id="child-total">{count_text(children)}</span> with <span id="alert-total">{count_text(alerts)}</span> '
        f"{'open' if chosen.only_open else 'matching'} alerts</p>"
    )


def shown_alerts(cards: list[ChildCard]) -> list[AlertRecord | OtherAlert]:
    """Every alert a page of child cards shows, the "also open" ones included: what its audit record lists."""
    shown: list[AlertRecord | OtherAlert] = []
    for group in cards:
        shown += [group.newest, *group.others]
    return shown


def child_updates(
    context: DeskContext, session: Session, chosen: FeedFilter, records: list[AlertRecord]
) -> list[tuple[str, ChildCard | None, int]]:
    """Each changed child once, in the order of its last change: its card now (None when nothing of it matches)
    and that change's feed sequence number (the event id, so a resumed stream misses no child)."""
    last: dict[str, AlertRecord] = {}
    for record in records:
        last.pop(record.alert.child_key, None)
        last[record.alert.child_key] = record
    db, la_code = context.desk.state.db, session.user.la_code
    return [(key, child_card(db, la_code, chosen, key), record.seq) for key, record in last.items()]


def child_events(
    context: DeskContext, session: Session, chosen: FeedFilter, records: list[AlertRecord]
) -> tuple[list[AlertRecord | OtherAlert], list[tuple[dict[str, Any], int]]]:
    """For a batch of changed records: what to audit (every alert the cards show, and the changed ones) and one
    event per changed child with the feed sequence number it carries."""
    updates = child_updates(context, session, chosen, records)
    shown = shown_alerts([group for _, group, _ in updates if group is not None])
    seen = {a.alert_id for a in shown}
    audited = [*shown, *(r for r in records if r.alert_id not in seen)]
    return audited, [(event_data(context, session, key, group), seq) for key, group, seq in updates]


def card_events(
    context: DeskContext, session: Session, cards: list[ChildCard]
) -> tuple[list[AlertRecord | OtherAlert], list[tuple[dict[str, Any], int]]]:
    """`child_events` for cards already built (a stream's first page): no query is run again."""
    return shown_alerts(cards), [(event_data(context, session, g.child_key, g), g.newest.seq) for g in cards]


def event_data(context: DeskContext, session: Session, child_key: str, group: ChildCard | None) -> dict[str, Any]:
    """What desk.js needs to replace, move, add or remove a child's card and keep the totals."""
    if group is None:
        return {"child": child_key, "visible": False}
    return {
        "child": child_key,
        "visible": True,
        "alert_id": group.newest.alert_id,
        "newest": group.newest.raised_seq,
        "alerts": len(group.others) + 1,
        "html": render(context, session, group),
    }
