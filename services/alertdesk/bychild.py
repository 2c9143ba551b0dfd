"""The feed by child: one card per child with matching alerts (its newest alert), newest first, and its others."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from schemas.codes import Rule, Severity
from services.alertdesk.database import Database
from services.alertdesk.readmodel import COUNT_CAP, filter_sql
from services.alertdesk.records import record_from_json
from services.alertdesk.state import SEVERITY_RANK, AlertRecord, FeedFilter

MAX_OTHERS_PER_PAGE = 20_000  # rows of a page's children read at most (closed ones too): bounded work per page


@dataclass(frozen=True, slots=True)
class OtherAlert:
    """Another matching alert of a card's child: enough to name, date and link it."""

    alert_id: str
    rule: Rule
    severity: Severity
    anchor_date: dt.date
    is_open: bool = True


@dataclass(frozen=True, slots=True)
class ChildCard:
    """A child's newest matching alert, shown as a card, and the child's other matching alerts, newest first."""

    newest: AlertRecord
    others: tuple[OtherAlert, ...] = ()

    @property
    def child_key(self) -> str:
        return self.newest.alert.child_key

    @property
    def severity(self) -> Severity:
        """The highest severity of the child's matching alerts."""
        return min((self.newest.severity, *(o.severity for o in self.others)), key=SEVERITY_RANK.__getitem__)

    @property
    def alert_ids(self) -> list[str]:
        return [self.newest.alert_id, *(o.alert_id for o in self.others)]


@dataclass(frozen=True, slots=True)
class ChildPage:
    """One page of children, by their newest matching alert; `older` is the next page's keyset cursor, or None."""

    cards: list[ChildCard]
    older: int | None


def _newest_of_child(where: str) -> str:
    """Rows that are their child's newest matching alert: no matching alert of the same child was raised after.

    The subquery's unqualified columns are its own row's (SQL scoping, the same in SQLite and PostgreSQL), so one
    filter text serves both levels; its parameters are bound twice.
    """
    return (
        f"FROM desk_alerts AS a WHERE {where} AND NOT EXISTS (SELECT 1 FROM desk_alerts AS b WHERE {where} "  # noqa: S608  # clauses from code, values bound
        "AND b.child_key = a.child_key AND b.raised_seq > a.raised_seq)"
    )


def child_page(db: Database, la_code: str, chosen: FeedFilter, *, older_than: int | None, size: int) -> ChildPage:
    """Children newest first by their newest matching alert's raised_seq, `size` at a time after `older_than`."""
    where, params = filter_sql(la_code, chosen)
    cursor, cursor_params = ("AND a.raised_seq < ?", [older_than]) if older_than is not None else ("", [])
    rows = db.query(
        f"SELECT a.body {_newest_of_child(where)} {cursor} ORDER BY a.raised_seq DESC LIMIT ?",
        [*params, *params, *cursor_params, size + 1],
    )
    newest = [record_from_json(r[0]) for r in rows[:size]]
    others = _others(db, la_code, chosen, newest)
    cards = [ChildCard(n, tuple(others.get(n.alert.child_key, ()))) for n in newest]
    return ChildPage(cards, newest[-1].raised_seq if len(rows) > size else None)


def _others(db: Database, la_code: str, chosen: FeedFilter, newest: list[AlertRecord]) -> dict[str, list[OtherAlert]]:
    if not newest:
        return {}
    where, params = filter_sql(la_code, chosen)
    keys = [n.alert.child_key for n in newest]
    marks = ",".join("?" * len(keys))
    # The children's rows first (their index), then the filter: a LIMIT keeps the database from merging the two,
    # so no filter's index (severity, rule, ...) walks the whole feed; sorted here for the same reason.
    columns = "raised_seq, alert_id, child_key, rule, severity, anchor_date, is_open, la_code, team, status, history"
    rows = db.query(
        f"SELECT {columns} FROM (SELECT {columns} FROM desk_alerts WHERE la_code = ? AND child_key IN ({marks}) "  # noqa: S608  # as above
        f"LIMIT ?) AS children WHERE {where}",
        [la_code, *keys, MAX_OTHERS_PER_PAGE, *params],
    )
    shown = {n.alert_id for n in newest}
    others: dict[str, list[OtherAlert]] = {}
    for _, alert_id, child_key, rule, severity, anchor, is_open, *_ in sorted(rows, reverse=True):
        if alert_id not in shown:
            other = OtherAlert(alert_id, Rule(rule), Severity(severity), dt.date.fromisoformat(anchor), bool(is_open))
            others.setdefault(child_key, []).append(other)
    return others


def child_card(db: Database, la_code: str, chosen: FeedFilter, child_key: str) -> ChildCard | None:
    """One child's card under a filter, or None when none of the child's alerts match it (any more)."""
    page = child_page(db, la_code, dataclasses.replace(chosen, child_key=child_key), older_than=None, size=1)
    return page.cards[0] if page.cards else None


def count_children(db: Database, la_code: str, chosen: FeedFilter, cap: int = COUNT_CAP) -> int:
    """How many children have matching alerts, counted up to `cap`, as the alert count is."""
    where, params = filter_sql(la_code, chosen)
    sql = f"SELECT COUNT(*) FROM (SELECT 1 {_newest_of_child(where)} LIMIT ?) AS children"  # noqa: S608  # as above
    params_twice: list[Any] = [*params, *params, cap]
    return int(db.query(sql, params_twice)[0][0])
