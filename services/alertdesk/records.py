"""An alert record as one JSON document for the read model's `body` column, and back: every field, nothing derived."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from pydantic import TypeAdapter

from schemas.alerts import RaisedAlert
from services.alertdesk.actions import AlertOutcome
from services.alertdesk.state import AlertRecord, Note

_ALERT: TypeAdapter[RaisedAlert] = TypeAdapter(RaisedAlert)


def _time(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse_time(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


def record_json(record: AlertRecord) -> str:
    body: dict[str, Any] = {
        "alert": record.alert.model_dump(mode="json"),
        "seq": record.seq,
        "raised_seq": record.raised_seq,
        "revisions": record.revisions,
        "withdrawn_reason": record.withdrawn_reason,
        "acknowledged_by": record.acknowledged_by,
        "acknowledged_at": _time(record.acknowledged_at),
        "assignee_kind": record.assignee_kind,
        "assignee": record.assignee,
        "notes": [[n.author, n.at.isoformat(), n.text] for n in record.notes],
        "outcome": None if record.outcome is None else record.outcome.value,
        "closed_by": record.closed_by,
        "closed_at": _time(record.closed_at),
        "closed_reason": record.closed_reason,
        "action_ids": sorted(record.action_ids),
        "history": record.history,
    }
    return orjson.dumps(body).decode()


def record_from_json(text: str | bytes) -> AlertRecord:
    body = orjson.loads(text)
    return AlertRecord(
        alert=_ALERT.validate_python(body["alert"]),
        seq=body["seq"],
        raised_seq=body["raised_seq"],
        revisions=body["revisions"],
        withdrawn_reason=body["withdrawn_reason"],
        acknowledged_by=body["acknowledged_by"],
        acknowledged_at=_parse_time(body["acknowledged_at"]),
        assignee_kind=body["assignee_kind"],
        assignee=body["assignee"],
        notes=tuple(Note(author, dt.datetime.fromisoformat(at), text) for author, at, text in body["notes"]),
        outcome=None if body["outcome"] is None else AlertOutcome(body["outcome"]),
        closed_by=body["closed_by"],
        closed_at=_parse_time(body["closed_at"]),
        closed_reason=body["closed_reason"],
        action_ids=frozenset(body["action_ids"]),
        history=body["history"],
    )
