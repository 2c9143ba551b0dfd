"""The children table's keys and values: a child document, a redirect, or a held child (merges in flight). Pure."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from schemas.codec import decode_event, encode
from schemas.events import ChildRecordsMerged
from services.core.engine import ChildId
from services.core.history import ChildHistory
from services.core.state import from_document, to_document
from services.processor.handover import Message, decode_message, encode_message

_REDIRECT_PREFIX = b'{"redirect":'
_HELD_PREFIX = b'{"held":'


def table_key(child: ChildId) -> bytes:
    """Children-table key. Kafka partitions by child_key alone; the council keeps two councils' keys apart."""
    return f"{child[0]}|{child[1]}".encode()


def child_of(key: bytes) -> ChildId:
    la_code, _, child_key = key.decode().partition("|")
    return (la_code, child_key)


@dataclass(frozen=True, slots=True)
class Redirect:
    """A merged record: its later events belong to the surviving record `into` (in the same council).

    `by` names the merge event when the record was handed over to another partition, so a redelivered
    hand-over request for that merge is recognised and answered with nothing.
    """

    into: str
    day: dt.date  # the merge's date; the redirect expires with the retention like any fact
    by: str | None = None

    def dump(self) -> bytes:
        document: dict[str, Any] = {"redirect": self.into, "day": self.day.toordinal()}
        if self.by is not None:
            document["by"] = self.by
        return json.dumps(document, separators=(",", ":")).encode()


@dataclass(slots=True)
class Pending:
    """A merge across partitions this child waits for, and what arrived for it meanwhile, in arrival order."""

    merge: ChildRecordsMerged
    asked: str  # the record the hand-over request went to
    stash: list[Message] = field(default_factory=list)


@dataclass(slots=True)
class Held:
    """A surviving record of merges across partitions: its history (None if it has none yet), the merges
    completed into it (merge event id -> day, so a redelivered merge event is a no-op), and a pending merge."""

    child: ChildHistory | None
    merged: dict[str, dt.date] = field(default_factory=dict)
    pending: Pending | None = None

    def dump(self) -> bytes:
        pending = self.pending
        document = {
            "held": 1,
            "child": None if self.child is None else to_document(self.child).decode(),
            "merged": {e: d.toordinal() for e, d in sorted(self.merged.items())},
            "pending": None
            if pending is None
            else {
                "merge": encode(pending.merge).decode(),
                "asked": pending.asked,
                "stash": [encode_message(m).decode() for m in pending.stash],
            },
        }
        return json.dumps(document, separators=(",", ":")).encode()


def load(raw: bytes) -> ChildHistory | Redirect | Held:
    """A children-table value: a child document (services.core.state), a redirect, or a held child."""
    if raw.startswith(_REDIRECT_PREFIX):
        document = json.loads(raw)
        return Redirect(document["redirect"], dt.date.fromordinal(document["day"]), document.get("by"))
    if raw.startswith(_HELD_PREFIX):
        return _held(json.loads(raw))
    return from_document(raw)


def _held(document: dict[str, Any]) -> Held:
    child = None if document["child"] is None else from_document(document["child"].encode())
    merged = {e: dt.date.fromordinal(d) for e, d in document["merged"].items()}
    pending = None
    if document["pending"] is not None:
        merge = decode_event(document["pending"]["merge"])
        assert isinstance(merge, ChildRecordsMerged)  # only a merge is ever stored as pending
        stash = [decode_message(m.encode()) for m in document["pending"]["stash"]]
        pending = Pending(merge, document["pending"]["asked"], stash)
    return Held(child, merged, pending)


def history_of(value: ChildHistory | Held) -> ChildHistory | None:
    """The child's history in a document or a held child (a held survivor may have none yet)."""
    return value.child if isinstance(value, Held) else value
