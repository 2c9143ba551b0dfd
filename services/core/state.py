"""A child's history as a compact JSON document: the value of the processor's per-child table."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson

from services.core.facts import Fact, Kind
from services.core.history import ChildHistory, Standing

DOCUMENT_VERSION = 3  # 2 dropped the version counter (which only ordered the old contributions topic); 3 added link
READABLE_VERSIONS = (1, 2, 3)  # a version 1 document's counter is ignored; before 3 a fact has no link
_KINDS = {int(k): k for k in Kind}  # a dict lookup, not Kind(n): the enum call costs more than the rest of a row


def dump_json(document: object) -> bytes:
    """Compact JSON as exactly-sized bytes, for values that stay in memory (a table's memory store).

    orjson is about ten times faster than json.dumps here, but its bytes keep the whole buffer it wrote into
    (about 4 kB for a 0.2 kB child document); copying through a memoryview costs a microsecond and frees it.
    """
    return memoryview(orjson.dumps(document)).tobytes()


def _fact_row(f: Fact) -> list[Any]:
    return [
        f.day.toordinal(),
        int(f.kind),
        f.occurred_at,  # orjson writes it as isoformat() does
        f.event_id,
        f.ref,
        f.code,
        f.need,
        f.team,
        f.number,
        f.flag,
        f.link,
    ]


def _fact(row: list[Any]) -> Fact:
    day, kind, at, event_id, ref, code, need, team, number, flag, *rest = row
    return Fact(
        day=dt.date.fromordinal(day),
        kind=_KINDS[kind],
        occurred_at=dt.datetime.fromisoformat(at),
        event_id=event_id,
        ref=ref,
        code=code,
        need=need,
        team=team,
        number=number,
        flag=flag,
        link=rest[0] if rest else None,
    )


def _anchor_row(anchor: tuple[dt.date, int, dt.datetime, str]) -> list[Any]:
    return [anchor[0].toordinal(), anchor[1], anchor[2], anchor[3]]


def to_document(history: ChildHistory) -> bytes:
    """Serialise everything the rules and the idempotence check need; nothing else about the child."""
    document = {
        "v": DOCUMENT_VERSION,
        "la": history.la_code,
        "key": history.child_key,
        "facts": [_fact_row(f) for f in history.facts],
        "seen": sorted(history.seen),
        "retracted": {e: d.toordinal() for e, d in history.retracted.items()},
        "standing": {a: [_anchor_row(s.anchor), s.fingerprint, s.rule] for a, s in history.standing.items()},
    }
    return dump_json(document)


def from_document(raw: bytes) -> ChildHistory:
    document = orjson.loads(raw)
    if document.get("v") not in READABLE_VERSIONS:
        raise ValueError(f"unknown child state document version {document.get('v')!r}")
    standing = {
        aid: Standing((dt.date.fromordinal(a[0]), a[1], dt.datetime.fromisoformat(a[2]), a[3]), fingerprint, rule)
        for aid, (a, fingerprint, rule) in document["standing"].items()
    }
    return ChildHistory(
        la_code=document["la"],
        child_key=document["key"],
        facts=[_fact(row) for row in document["facts"]],
        seen=set(document["seen"]),
        retracted={e: dt.date.fromordinal(d) for e, d in document["retracted"].items()},
        standing=standing,
    )
