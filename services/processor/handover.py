"""The worker's internal merge hand-over messages (versioned JSON), keyed by the child record they are for. Pure.

A merge whose two records live in different partitions is carried out by messages on an internal topic that
is co-partitioned with the events topic, so each message reaches the worker holding the record it names:

- `Requested` (key: the merged record X): "hand X over to `into` for this merge";
- `HandedOver` (key: the surviving record S): X's history, or `already` when X was merged into S before;
- `Forwarded` (key: the record an event now belongs to): an event filed under a record merged away.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from schemas.codec import decode_event, encode
from schemas.events import ChildRecordsMerged, InboundEvent

HANDOVER_VERSION = 1


@dataclass(frozen=True, slots=True)
class Forwarded:
    """An event for a record that was merged away, on its way to the record it belongs to now."""

    to: str
    event: InboundEvent


@dataclass(frozen=True, slots=True)
class Requested:
    """The surviving record `into` asks record `to` for its history, for `merge`."""

    to: str
    into: str
    merge: ChildRecordsMerged


@dataclass(frozen=True, slots=True)
class HandedOver:
    """Record `source`'s history (its child document) for the surviving record `to`, for `merge`.

    `already` says the asked record was merged into `to` by an earlier merge: nothing to add. `merged` carries
    the merges the handed-over record had completed itself (merge event id -> day), so their redelivery stays
    a no-op at the survivor.
    """

    to: str
    source: str
    merge: ChildRecordsMerged
    document: bytes | None
    already: bool = False
    merged: dict[str, dt.date] = field(default_factory=dict)


Message = Forwarded | Requested | HandedOver


def identity(message: Message) -> tuple[str, str]:
    """What makes two messages the same delivery: their kind and the event they carry."""
    if isinstance(message, Forwarded):
        return ("event", message.event.event_id)
    return (type(message).__name__, message.merge.event_id)


def occurred_at(message: Message) -> dt.datetime:
    return message.event.occurred_at if isinstance(message, Forwarded) else message.merge.occurred_at


def encode_message(message: Message) -> bytes:
    """Compact JSON with fixed field order, so the same message is always the same bytes."""
    document: dict[str, Any] = {"v": HANDOVER_VERSION, "kind": type(message).__name__, "to": message.to}
    if isinstance(message, Forwarded):
        document["event"] = encode(message.event).decode()
    elif isinstance(message, Requested):
        document |= {"into": message.into, "merge": encode(message.merge).decode()}
    else:
        document |= {
            "source": message.source,
            "merge": encode(message.merge).decode(),
            "document": None if message.document is None else message.document.decode(),
            "already": message.already,
            "merged": {e: d.toordinal() for e, d in sorted(message.merged.items())},
        }
    return json.dumps(document, separators=(",", ":")).encode()


def decode_message(raw: bytes | None) -> Message:
    """Raises ValueError (pydantic's ValidationError is one) for anything this version cannot read."""
    try:
        return _decode(json.loads(raw or b"null"))
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"a malformed hand-over message ({type(error).__name__})") from error


def _decode(document: Any) -> Message:
    if not isinstance(document, dict) or document.get("v") != HANDOVER_VERSION:
        raise ValueError("not a version 1 hand-over message")
    kind, to = document["kind"], document["to"]
    if kind == "Forwarded":
        return Forwarded(to, decode_event(document["event"]))
    merge = decode_event(document["merge"])
    if not isinstance(merge, ChildRecordsMerged):
        raise ValueError("a hand-over message carries a ChildRecordsMerged")
    if kind == "Requested":
        return Requested(to, document["into"], merge)
    if kind == "HandedOver":
        text = document["document"]
        history = None if text is None else text.encode()
        merged = {e: dt.date.fromordinal(d) for e, d in document["merged"].items()}
        return HandedOver(to, document["source"], merge, history, document["already"], merged)
    raise ValueError(f"unknown hand-over message kind {str(kind)[:40]!r}")
