"""Bytes <-> contracts. The single place where JSON on a topic becomes a model and back."""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter

from pydantic import BaseModel, TypeAdapter, ValidationError

from schemas.alerts import AlertMessage
from schemas.audit import AuditMessage
from schemas.events import FrontDoorEvent
from schemas.totals import CouncilMonthTotals

EVENT_ADAPTER: TypeAdapter[FrontDoorEvent] = TypeAdapter(FrontDoorEvent)
ALERT_ADAPTER: TypeAdapter[AlertMessage] = TypeAdapter(AlertMessage)
AUDIT_ADAPTER: TypeAdapter[AuditMessage] = TypeAdapter(AuditMessage)
EVENTS_ADAPTER: TypeAdapter[list[FrontDoorEvent]] = TypeAdapter(list[FrontDoorEvent])
_EVENT_ID = attrgetter("event_id")


def decode_event(raw: bytes | str) -> FrontDoorEvent:
    """Parse and validate one inbound event; raises pydantic.ValidationError with the reason."""
    return EVENT_ADAPTER.validate_json(raw)


def decode_events(raws: Sequence[bytes]) -> list[FrontDoorEvent] | None:
    """Many inbound events (one JSON object each) validated in one call, as `decode_event` validates each.

    One call costs a third of one per event. None when any of them fails, or when the events do not map one to
    one onto `raws` (a raw that is not one whole JSON value, e.g. two objects): decode those one by one instead.
    """
    try:
        events = EVENTS_ADAPTER.validate_json(b"[" + b",".join(raws) + b"]")
    except ValidationError:
        return None
    if len(events) != len(raws):
        return None
    ids = map(str.encode, map(_EVENT_ID, events))
    return events if all(map(bytes.__contains__, raws, ids)) else None  # each raw holds its event's id


def decode_alert(raw: bytes | str) -> AlertMessage:
    """Parse and validate one outbound alert message."""
    return ALERT_ADAPTER.validate_json(raw)


def decode_audit(raw: bytes | str) -> AuditMessage:
    """Parse and validate one audit record (any of the desk's types, or the dip-sample command's)."""
    return AUDIT_ADAPTER.validate_json(raw)


def decode_totals(raw: bytes | str) -> CouncilMonthTotals:
    """Parse and validate one council-month snapshot from the totals topic."""
    return CouncilMonthTotals.model_validate_json(raw)


def encode(model: BaseModel) -> bytes:
    """Compact JSON with the `type` discriminator included, dates as ISO 8601."""
    return model.model_dump_json(exclude_none=False).encode()
