"""Projects the alerts, actions, events and totals topics into the database, one transaction per batch with offsets.

The fold rules are state.py's: for each batch the records it touches (and actions waiting for them) are loaded
into a DeskState, the messages applied by the same pure rules as ever, and the changed rows written back with
the next offset of every partition read. A restart resumes from those offsets; a rebuild replays from zero.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson

from schemas.alerts import AlertMessage, AlertRevised, AlertWithdrawn
from schemas.events import ChildRecordsMerged, EventRetracted, InboundEvent
from schemas.totals import CouncilMonthTotals
from services.alertdesk.actions import ActionMessage, AlertAction, decode_action
from services.alertdesk.database import Database
from services.alertdesk.records import record_from_json, record_json
from services.alertdesk.state import AlertRecord, DeskState
from services.alertdesk.timeline import timeline_entry
from services.alertdesk.totals import store_snapshots

Message = AlertMessage | ActionMessage | InboundEvent | CouncilMonthTotals
SELECT_RECORDS = "SELECT body FROM desk_alerts WHERE alert_id IN ({marks})"
SELECT_WAITING = "SELECT alert_id, body FROM desk_waiting_actions WHERE alert_id IN ({marks}) ORDER BY arrival"
DELETE_WAITING = "DELETE FROM desk_waiting_actions WHERE alert_id IN ({marks})"


@dataclass(slots=True)
class Batch:
    """Messages in the order they were read, each alert with the time it reached its topic, and the offsets."""

    items: list[tuple[Message, dt.datetime | None]] = field(default_factory=list)
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)

    def add(self, message: Message, seen_at: dt.datetime | None = None) -> None:
        self.items.append((message, seen_at))

    def read(self, topic: str, partition: int, offset: int) -> None:
        self.offsets[(topic, partition)] = offset + 1


@dataclass(frozen=True, slots=True)
class Change:
    """A record the batch changed; `raised` when this batch raised it (a new alert, not a revision)."""

    record: AlertRecord
    raised: bool


def _alert_id(message: Message) -> str | None:
    return None if isinstance(message, InboundEvent | CouncilMonthTotals) else message.alert_id


def project(db: Database, batch: Batch, history_after_days: int | None) -> list[Change]:
    """Apply one batch atomically; returns each changed alert record once, in the order of its last change.

    Inbound events become timeline lines; council-month snapshots replace the portal's totals (totals.py).
    """
    ids = sorted({i for m, _ in batch.items if (i := _alert_id(m)) is not None})
    with db.transaction():
        state = _load(db, ids, history_after_days)
        known = set(state.records)
        changed: dict[str, AlertRecord] = {}
        lines: list[tuple[object, ...]] = []
        snapshots: list[CouncilMonthTotals] = []
        for message, seen_at in batch.items:
            if isinstance(message, AlertAction):
                record = state.apply_action(message)
            elif isinstance(message, InboundEvent):
                _project_event(db, message, lines)
                continue
            elif isinstance(message, CouncilMonthTotals):
                snapshots.append(message)
                continue
            else:
                record = state.apply_alert(message, seen_at)
            if record is not None:
                changed.pop(record.alert_id, None)
                changed[record.alert_id] = record
        _flush_lines(db, lines)
        store_snapshots(db, snapshots)
        _save(db, state, changed.values(), ids)
        db.execute_many(
            "INSERT INTO desk_offsets (topic, partition_id, next_offset) VALUES (?, ?, ?) "
            "ON CONFLICT (topic, partition_id) DO UPDATE SET next_offset = excluded.next_offset",
            [(topic, partition, offset) for (topic, partition), offset in batch.offsets.items()],
        )
    raised_now = {
        m.alert_id
        for m, _ in batch.items
        if not isinstance(m, AlertAction | AlertRevised | AlertWithdrawn | InboundEvent | CouncilMonthTotals)
    }
    return [Change(r, r.alert_id in raised_now and r.alert_id not in known) for r in changed.values()]


def _load(db: Database, ids: list[str], history_after_days: int | None) -> DeskState:
    seq_rows = db.query("SELECT value FROM desk_counters WHERE name = 'seq'")
    state = DeskState(seq=int(seq_rows[0][0]) if seq_rows else 0, history_after_days=history_after_days)
    for chunk in _chunks(ids, 500):
        marks = ",".join("?" * len(chunk))  # placeholders only: the ids themselves are bound
        for (body,) in db.query(SELECT_RECORDS.format(marks=marks), chunk):
            record = record_from_json(body)
            state.records[record.alert_id] = record
        for alert_id, body in db.query(SELECT_WAITING.format(marks=marks), chunk):
            state.waiting_actions.setdefault(alert_id, []).append(decode_action(body))
    return state


def _save(db: Database, state: DeskState, changed: Iterable[AlertRecord], ids: list[str]) -> None:
    db.execute_many(
        "INSERT INTO desk_alerts (alert_id, la_code, child_key, rule, severity, team, status, is_open, history, "
        "anchor_date, source_group, outcome, raised_seq, seq, body) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (alert_id) DO UPDATE SET la_code = excluded.la_code, child_key = excluded.child_key, "
        "rule = excluded.rule, severity = excluded.severity, team = excluded.team, status = excluded.status, "
        "is_open = excluded.is_open, history = excluded.history, anchor_date = excluded.anchor_date, "
        "source_group = excluded.source_group, outcome = excluded.outcome, raised_seq = excluded.raised_seq, "
        "seq = excluded.seq, body = excluded.body",
        [_row(r) for r in changed],
    )
    for chunk in _chunks(ids, 500):
        marks = ",".join("?" * len(chunk))
        db.execute(DELETE_WAITING.format(marks=marks), chunk)
    arrival = 0
    rows = []
    for alert_id, actions in state.waiting_actions.items():
        for action in actions:
            arrival += 1
            rows.append((alert_id, arrival, action.model_dump_json()))
    db.execute_many("INSERT INTO desk_waiting_actions (alert_id, arrival, body) VALUES (?, ?, ?)", rows)
    db.execute(
        "INSERT INTO desk_counters (name, value) VALUES ('seq', ?) "
        "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        (state.seq,),
    )


def _row(record: AlertRecord) -> tuple[object, ...]:
    return (
        record.alert_id, record.la_code, record.alert.child_key, record.rule.value, record.severity.value,
        record.team, record.status, int(record.is_open), int(record.history), record.anchor_date.isoformat(),
        record.source_group, None if record.outcome is None else record.outcome.value, record.raised_seq,
        record.seq, record_json(record),
    )  # fmt: skip


def _project_event(db: Database, event: InboundEvent, lines: list[tuple[object, ...]]) -> None:
    """A timeline line per event; a retraction removes its line, a merge moves the merged record's lines.

    New lines are buffered in `lines` and written together, before any retraction or merge that could touch them.
    """
    if isinstance(event, EventRetracted | ChildRecordsMerged):
        _flush_lines(db, lines)
    if isinstance(event, EventRetracted):
        db.execute(
            "DELETE FROM desk_timeline WHERE event_id = ? AND la_code = ?", (event.retracted_event_id, event.la_code)
        )
        return
    if isinstance(event, ChildRecordsMerged):
        db.execute(
            "UPDATE desk_timeline SET child_key = ? WHERE child_key = ? AND la_code = ?",
            (event.child_key, event.merged_child_key, event.la_code),
        )
        return
    entry = timeline_entry(event)
    if entry is None:
        return
    lines.append((entry.event_id, entry.la_code, entry.child_key, entry.date.isoformat(), entry.kind,
                  orjson.dumps([list(f) for f in entry.facts]).decode()))  # fmt: skip


def _flush_lines(db: Database, lines: list[tuple[object, ...]]) -> None:
    db.execute_many(
        "INSERT INTO desk_timeline (event_id, la_code, child_key, event_date, type, body) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (event_id) DO NOTHING",
        lines,
    )
    lines.clear()


def _chunks(values: list[str], size: int) -> list[list[str]]:
    return [values[i : i + size] for i in range(0, len(values), size)]
