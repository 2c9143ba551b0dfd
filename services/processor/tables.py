"""The children table's keys and values: a child's history document or a redirect. Pure."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import orjson

from services.core.engine import ChildId
from services.core.history import ChildHistory
from services.core.state import dump_json, from_document

_REDIRECT_PREFIX = b'{"redirect":'


def table_key(child: ChildId) -> bytes:
    """Children-table key: the council keeps two councils' children apart, and tells the key's partition."""
    return f"{child[0]}|{child[1]}".encode()


def child_of(key: bytes) -> ChildId:
    la_code, _, child_key = key.decode().partition("|")
    return (la_code, child_key)


@dataclass(frozen=True, slots=True)
class Redirect:
    """A merged record: its later events belong to the surviving record `into`, in the same council."""

    into: str
    day: dt.date  # the merge's date; the redirect expires with the retention like any fact

    def dump(self) -> bytes:
        return dump_json({"redirect": self.into, "day": self.day.toordinal()})


def load(raw: bytes) -> ChildHistory | Redirect:
    """A children-table value: a child document (services.core.state) or a redirect."""
    if raw.startswith(_REDIRECT_PREFIX):
        document = orjson.loads(raw)
        return Redirect(document["redirect"], dt.date.fromordinal(document["day"]))
    return from_document(raw)
