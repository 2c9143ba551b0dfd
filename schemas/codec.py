"""Bytes <-> contracts. The single place where JSON on a topic becomes a model and back."""

from __future__ import annotations

from pydantic import BaseModel, TypeAdapter

from schemas.alerts import AlertMessage
from schemas.events import FrontDoorEvent

EVENT_ADAPTER: TypeAdapter[FrontDoorEvent] = TypeAdapter(FrontDoorEvent)
ALERT_ADAPTER: TypeAdapter[AlertMessage] = TypeAdapter(AlertMessage)


def decode_event(raw: bytes | str) -> FrontDoorEvent:
    """Parse and validate one inbound event; raises pydantic.ValidationError with the reason."""
    return EVENT_ADAPTER.validate_json(raw)


def decode_alert(raw: bytes | str) -> AlertMessage:
    """Parse and validate one outbound alert message."""
    return ALERT_ADAPTER.validate_json(raw)


def encode(model: BaseModel) -> bytes:
    """Compact JSON with the `type` discriminator included, dates as ISO 8601."""
    return model.model_dump_json(exclude_none=False).encode()
