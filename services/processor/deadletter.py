"""Admission at the edge: raw bytes become an event or a dead letter with a bounded reason. Pure, clock injected."""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from enum import StrEnum

from pydantic import ValidationError

from schemas.codec import decode_event
from schemas.events import EVENT_TYPES, InboundEvent
from schemas.pseudonyms import is_pseudonym

KNOWN_TYPES = frozenset(model.model_fields["type"].default for model in EVENT_TYPES)
DETAIL_MAX_CHARS = 200
# The dead-letter topic has the broker's 1 MB message limit too, and base64 adds a third.
ORIGINAL_MAX_BYTES = 600_000


class ReasonCode(StrEnum):
    """Why a message was not applied; bounded, so it is safe as a metric label."""

    UNDECODABLE = "undecodable"
    SCHEMA_INVALID = "schema_invalid"
    UNKNOWN_TYPE = "unknown_type"
    FUTURE_DATED = "future_dated"
    MERGE_ACROSS_PARTITIONS = "merge_across_partitions"  # no longer emitted (merges are local to a council); kept
    CHILD_KEY_NOT_PSEUDONYM = "child_key_not_pseudonym"


REASONS: dict[ReasonCode, str] = {
    ReasonCode.UNDECODABLE: "not a JSON document",
    ReasonCode.SCHEMA_INVALID: "JSON that does not match the event contract",
    ReasonCode.UNKNOWN_TYPE: "an event type this version does not know",
    ReasonCode.FUTURE_DATED: "occurred_at is beyond the future tolerance",
    # Older workers parked such merges; the code stays so their dead letters, and dashboards, still read.
    ReasonCode.MERGE_ACROSS_PARTITIONS: "records merged across partitions: parked by a worker keyed by child",
    ReasonCode.CHILD_KEY_NOT_PSEUDONYM: "a child key that is not an ingest pseudonym (perhaps a raw child id)",
}


@dataclass(frozen=True, slots=True)
class Rejection:
    """A dead letter's reason and a short detail that never quotes the payload's child data."""

    code: ReasonCode
    detail: str


def admit(raw: bytes | None, now: dt.datetime, future_tolerance: dt.timedelta) -> InboundEvent | Rejection:
    """Decode and validate one message; anything that cannot be applied comes back as a Rejection."""
    if raw is None:
        return Rejection(ReasonCode.UNDECODABLE, "the message has no value")
    try:
        event: InboundEvent = decode_event(raw)
    except ValidationError as error:
        return _classify(raw, error)
    keys = {"child_key": event.child_key, "merged_child_key": getattr(event, "merged_child_key", event.child_key)}
    not_pseudonyms = [name for name, key in keys.items() if not is_pseudonym(key)]
    if not_pseudonyms:  # the detail names the field, never its value, which may be a child's real id
        detail = f"{' and '.join(not_pseudonyms)} is not 32 lowercase hex digits"
        return Rejection(ReasonCode.CHILD_KEY_NOT_PSEUDONYM, detail)
    ahead = event.occurred_at - now
    if ahead > future_tolerance:
        return Rejection(ReasonCode.FUTURE_DATED, f"occurred_at is {ahead.total_seconds() / 3600:.1f} h ahead of now")
    return event


def _classify(raw: bytes, error: ValidationError) -> Rejection:
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as bad:
        return Rejection(ReasonCode.UNDECODABLE, type(bad).__name__)
    if not isinstance(document, dict):
        return Rejection(ReasonCode.SCHEMA_INVALID, f"a JSON {type(document).__name__}, not an object")
    kind = document.get("type")
    if isinstance(kind, str) and kind not in KNOWN_TYPES:
        return Rejection(ReasonCode.UNKNOWN_TYPE, f"type {kind[:40]!r}")
    # Field paths and pydantic's messages only; pydantic's `input` (the payload's values) is left out.
    problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors(include_input=False)[:3])
    return Rejection(ReasonCode.SCHEMA_INVALID, f"{error.error_count()} error(s): {problems}"[:DETAIL_MAX_CHARS])


def envelope(
    rejection: Rejection, *, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None
) -> bytes:
    """The dead-letter message: the reason, where the message was, and its original bytes (base64)."""
    original = value or b""
    document = {
        "reason": REASONS[rejection.code],
        "reason_code": rejection.code.value,
        "detail": rejection.detail,
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "original_value_b64": None if value is None else base64.b64encode(original[:ORIGINAL_MAX_BYTES]).decode(),
        "original_value_bytes": len(original),
        "original_value_truncated": len(original) > ORIGINAL_MAX_BYTES,
        "original_key_b64": None if key is None else base64.b64encode(key).decode(),
    }
    return json.dumps(document, separators=(",", ":")).encode()
