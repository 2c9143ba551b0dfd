"""Pseudonymous child keys and deterministic event ids shared by every ingest adapter."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from typing import Literal
from zoneinfo import ZoneInfo

from schemas.pseudonyms import PSEUDONYM_HEX_DIGITS

LONDON = ZoneInfo("Europe/London")
WorkerNames = Literal["drop", "pseudonymise", "keep"]


class Pseudonymiser:
    """Keyed HMAC-SHA256 of (council, child id): stable per key, unlinkable without it.

    The council's own references (referral, contact, assessment, S47 and plan ids) and workers' names are
    pseudonymised the same way, each in its own domain, so they still join up within a council.
    """

    def __init__(self, key: bytes | None, *, worker_names: WorkerNames = "drop", keep_identities: bool = False) -> None:
        # key=None keeps raw ids, for a council reconciling its own census locally (--no-pseudonymise).
        self._key = key
        self._worker_names: WorkerNames = "keep" if key is None else worker_names
        # pseudonym -> (council, the council's own child id), for the sealed identity store (services/identity).
        self.identities: dict[str, tuple[str, str]] | None = {} if keep_identities and key is not None else None

    @property
    def keeps_raw_ids(self) -> bool:
        return self._key is None

    def child_key(self, la_code: str, raw_child_id: str) -> str:
        raw = raw_child_id.strip()
        if self._key is None:
            return raw
        key = self._hmac(f"{la_code}\x1f{raw}")
        if self.identities is not None and raw:
            self.identities[key] = (la_code, raw)
        return key

    def reference(self, la_code: str, field: str, raw_reference: str) -> str:
        """A council reference (e.g. `referral_id`), keyed by its field so every event naming it agrees."""
        raw = raw_reference.strip()
        return raw if self._key is None else self._hmac(f"reference\x1f{field}\x1f{la_code}\x1f{raw}")

    def worker_name(self, la_code: str, raw_name: str | None) -> str | None:
        """A worker's name as the council's configuration asks: dropped (default), pseudonymised or kept."""
        if raw_name is None or self._worker_names == "keep":
            return raw_name
        if self._worker_names == "drop":
            return None
        return "worker-" + self._hmac(f"worker\x1f{la_code}\x1f{raw_name.strip()}")[:12]

    def _hmac(self, material: str) -> str:
        assert self._key is not None
        return hmac.new(self._key, material.encode(), hashlib.sha256).hexdigest()[:PSEUDONYM_HEX_DIGITS]


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
