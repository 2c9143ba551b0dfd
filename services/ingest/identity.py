"""Pseudonymous child keys and deterministic event ids shared by every ingest adapter."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


class Pseudonymiser:
    """Keyed HMAC-SHA256 of (council, child id): stable per key, unlinkable without it."""

    def __init__(self, key: bytes | None) -> None:
        # key=None keeps raw ids, for a council reconciling its own census locally (--no-pseudonymise).
        self._key = key

    def child_key(self, la_code: str, raw_child_id: str) -> str:
        raw = raw_child_id.strip()
        if self._key is None:
            return raw
        digest = hmac.new(self._key, f"{la_code}\x1f{raw}".encode(), hashlib.sha256).hexdigest()
        return digest[:32]


def event_id(*parts: object) -> str:
    """A deterministic id from the source's natural key, so re-ingesting a file gives the same ids.

    Pass the pseudonymous child key, never a raw child id: the hash is unkeyed, and sequential council ids
    are easy to guess, so an id built from a raw id would link back to the child.
    """
    material = "\x1f".join("" if p is None else str(p) for p in parts).encode()
    return hashlib.sha256(material).hexdigest()[:32]


def start_of_day(day: dt.date) -> dt.datetime:
    """A date recorded without a time happened, by convention, at local midnight in England."""
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=LONDON)


def referral_id(la_code: str, child_key: str, referral_date: dt.date) -> str:
    """A referral's id from its DfE identity (council, child, referral date), the same from every source."""
    return event_id("referral", la_code, child_key, referral_date.isoformat())
