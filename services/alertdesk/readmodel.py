"""The desk's queries over its database: the feed a page at a time (keyset), search, history, review, counts, timeline.

Every query that returns child-level rows takes the council, so no caller can forget it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

import orjson

from schemas.codes import Rule
from services.alertdesk.database import Database
from services.alertdesk.records import record_from_json
from services.alertdesk.state import Aggregates, AlertRecord, FeedFilter
from services.alertdesk.timeline import TimelineEntry
from services.alertdesk.weeks import IsoWeek

CHANGED_BATCH = 500
COUNT_CAP = 1000


def count_text(total: int) -> str:
    """A count as the pages show it: capped at COUNT_CAP, past which the count stops ("more than 999")."""
    return f"more than {COUNT_CAP - 1:,}" if total >= COUNT_CAP else f"{total:,}"


@dataclass(frozen=True, slots=True)
class Page:
    """One page of the feed, newest first; `older` is the keyset cursor of the next page, None on the last."""

    records: list[AlertRecord]
    older: int | None


def filter_sql(la_code: str, chosen: FeedFilter) -> tuple[str, list[Any]]:
    """The WHERE clause for a feed filter: the same conditions as FeedFilter.matches, as SQL."""
    clauses, params = ["la_code = ?"], [la_code]
    pairs: list[tuple[str, Any]] = [
        ("severity = ?", chosen.severity.value if chosen.severity else None),
        ("rule = ?", chosen.rule.value if chosen.rule else None),
        ("team = ?", chosen.team),
        ("status = ?", chosen.status),
        ("anchor_date >= ?", chosen.date_from.isoformat() if chosen.date_from else None),
        ("anchor_date <= ?", chosen.date_to.isoformat() if chosen.date_to else None),
        ("child_key = ?", chosen.child_key),
        ("history = ?", None if chosen.history is None else int(chosen.history)),
    ]
    for clause, value in pairs:
        if value is not None:
            clauses.append(clause)
            params.append(value)
    if not chosen.status and not chosen.include_finished:
        clauses.append("is_open = 1")
    return " AND ".join(clauses), params


class ReadModel:
    """Reads the projection; projection.py is the only writer."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @property
    def seq(self) -> int:
        rows = self.db.query("SELECT value FROM desk_counters WHERE name = 'seq'")
        return int(rows[0][0]) if rows else 0

    def total(self) -> int:
        return int(self.db.query("SELECT COUNT(*) FROM desk_alerts")[0][0])

    def get(self, la_code: str, alert_id: str) -> AlertRecord | None:
        """The record, only if it belongs to this council: another council's id looks exactly like no id."""
        rows = self.db.query("SELECT body FROM desk_alerts WHERE alert_id = ? AND la_code = ?", (alert_id, la_code))
        return record_from_json(rows[0][0]) if rows else None

    def page(self, la_code: str, chosen: FeedFilter, *, older_than: int | None, size: int) -> Page:
        """Newest first, `size` at a time, after the keyset cursor `older_than` (a raised_seq)."""
        where, params = filter_sql(la_code, chosen)
        if older_than is not None:
            where, params = where + " AND raised_seq < ?", [*params, older_than]
        rows = self.db.query(
            f"SELECT body FROM desk_alerts WHERE {where} ORDER BY raised_seq DESC LIMIT ?",  # noqa: S608  # clauses from code, values bound
            [*params, size + 1],
        )
        records = [record_from_json(r[0]) for r in rows[:size]]
        return Page(records, records[-1].raised_seq if len(rows) > size else None)

    def select(self, la_code: str, chosen: FeedFilter | None = None, limit: int = 100_000) -> list[AlertRecord]:
        """Every matching record, newest first (up to `limit`): for tests, bulk actions and one child's alerts."""
        return self.page(la_code, chosen or FeedFilter(), older_than=None, size=limit).records

    def count(self, la_code: str, chosen: FeedFilter, cap: int = COUNT_CAP) -> int:
        """How many match, counted up to `cap` (a page says "more than" beyond it): bounded work per page."""
        where, params = filter_sql(la_code, chosen)
        sql = f"SELECT COUNT(*) FROM (SELECT 1 FROM desk_alerts WHERE {where} LIMIT ?) AS matching"  # noqa: S608  # as above
        return int(self.db.query(sql, [*params, cap])[0][0])

    def changed_since(self, la_code: str, after_seq: int, limit: int = CHANGED_BATCH) -> list[AlertRecord]:
        """Records of this council changed after a feed sequence number, in the order they changed."""
        rows = self.db.query(
            "SELECT body FROM desk_alerts WHERE la_code = ? AND seq > ? ORDER BY seq LIMIT ?",
            (la_code, after_seq, limit),
        )
        return [record_from_json(r[0]) for r in rows]

    def teams(self, la_code: str) -> list[str]:
        rows = self.db.query(
            "SELECT DISTINCT team FROM desk_alerts WHERE la_code = ? AND team IS NOT NULL ORDER BY team", (la_code,)
        )
        return [r[0] for r in rows if r[0]]

    def weekly_review(self, la_code: str, week: IsoWeek) -> list[AlertRecord]:
        """Oldham's weekly list: two referrals in six months, with the referral dated in that ISO week."""
        rows = self.db.query(
            "SELECT body FROM desk_alerts WHERE la_code = ? AND rule = ? AND anchor_date >= ? AND anchor_date <= ? "
            "AND status <> 'withdrawn'",
            (la_code, Rule.TWO_REFERRALS_IN_SIX_MONTHS.value, week.monday.isoformat(), week.sunday.isoformat()),
        )
        records = [record_from_json(r[0]) for r in rows]
        return sorted(records, key=lambda r: (r.anchor_date, r.alert.child_key))

    def aggregates(self, la_code: str, agency: str | None = None) -> Aggregates:
        """Counts for one council; with an agency, only alerts that agency's referrals or contacts raised."""
        where, params = "la_code = ? AND status <> 'withdrawn'", [la_code]
        if agency is not None:
            where, params = where + " AND source_group = ?", [*params, agency]
        rows = self.db.query(
            f"SELECT rule, severity, status, outcome, COUNT(*) FROM desk_alerts WHERE {where} "  # noqa: S608  # as above
            "GROUP BY rule, severity, status, outcome",
            params,
        )
        rules: Counter[str] = Counter()
        severities: Counter[str] = Counter()
        statuses: Counter[str] = Counter()
        outcomes: Counter[str] = Counter()
        for rule, severity, status, outcome, count in rows:
            rules[rule] += count
            severities[severity] += count
            statuses[status] += count
            if outcome is not None:
                outcomes[outcome] += count
        total = sum(statuses.values())
        return Aggregates(total, dict(rules), dict(severities), dict(statuses), dict(outcomes))

    def agency_alerts(self, la_code: str, agency: str, rules: tuple[str, ...]) -> dict[tuple[str, str], int]:
        """(month "YYYY-MM", rule) -> alerts of these rules that one agency's contacts or referrals raised."""
        marks = ",".join("?" * len(rules))
        where = f"la_code = ? AND source_group = ? AND rule IN ({marks}) AND status <> 'withdrawn'"
        sql = f"SELECT substr(anchor_date, 1, 7), rule, COUNT(*) FROM desk_alerts WHERE {where} GROUP BY 1, 2"  # noqa: S608  # placeholders only
        rows = self.db.query(sql, [la_code, agency, *rules])
        return {(str(month), str(rule)): int(count) for month, rule, count in rows}

    def open_counts(self) -> dict[tuple[str, str], int]:
        """Open alerts per council and severity, for the metrics gauge."""
        rows = self.db.query(
            "SELECT la_code, severity, COUNT(*) FROM desk_alerts WHERE is_open = 1 GROUP BY la_code, severity"
        )
        return {(la, severity): int(count) for la, severity, count in rows}

    def timeline(self, la_code: str, child_key: str) -> list[TimelineEntry]:
        """The child's projected events, oldest first."""
        rows = self.db.query(
            "SELECT event_id, event_date, type, body FROM desk_timeline WHERE la_code = ? AND child_key = ? "
            "ORDER BY event_date, event_id",
            (la_code, child_key),
        )
        return [
            TimelineEntry(event_id, la_code, child_key, dt.date.fromisoformat(date), kind,
                          tuple((k, v) for k, v in orjson.loads(body)))
            for event_id, date, kind, body in rows
        ]  # fmt: skip

    def offsets(self) -> dict[tuple[str, int], int]:
        """The next offset to read per topic partition, committed with the rows they produced."""
        rows = self.db.query("SELECT topic, partition_id, next_offset FROM desk_offsets")
        return {(topic, int(partition)): int(offset) for topic, partition, offset in rows}
