"""Pseudonymous child keys and deterministic event ids shared by every ingest adapter."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from typing import Literal, NamedTuple
from zoneinfo import ZoneInfo

from schemas.events import EventRetracted
from schemas.pseudonyms import PSEUDONYM_HEX_DIGITS, is_pseudonym
from services.pseudonym_keys import PseudonymKey, PseudonymKeyring

LONDON = ZoneInfo("Europe/London")
WorkerNames = Literal["drop", "pseudonymise", "keep"]


class ChildPseudonym(NamedTuple):
    """A child's pseudonym and the id of the council's key that made it (None when raw ids are kept)."""

    pseudonym: str
    key_id: str | None


class Pseudonymiser:
    """Keyed HMAC-SHA256 of (council, child id) with the council's own key: stable per key, unlinkable without it.

    The council's own references (referral, contact, assessment, S47 and plan ids) and workers' names are
    pseudonymised the same way, each in its own domain, so they still join up within a council.
    """

    def __init__(
        self,
        keys: PseudonymKeyring | bytes | None,
        *,
        worker_names: WorkerNames = "drop",
        keep_identities: bool = False,
    ) -> None:
        # bytes: one key for every council (synthetic data, tests). None keeps raw ids, for a council reconciling
        # its own census locally (--no-pseudonymise).
        self._keyring = PseudonymKeyring.shared(keys) if isinstance(keys, bytes) else keys
        self._worker_names: WorkerNames = "keep" if keys is None else worker_names
        # pseudonym -> (council, the council's own child id), for the sealed identity store (services/identity).
        self.identities: dict[str, tuple[str, str]] | None = {} if keep_identities and keys is not None else None
        # Pseudonyms to erase from the identity store: children a whole-child purge withdrew (see `forget_child`).
        self.erased: set[str] = set()

    @property
    def keeps_raw_ids(self) -> bool:
        return self._keyring is None

    def key_id(self, la_code: str) -> str | None:
        """The id of the key the council's new pseudonyms are made with; None when raw ids are kept."""
        return None if self._keyring is None else self._keyring.current(la_code).key_id

    def key_ids(self, la_code: str) -> tuple[str, ...]:
        """Every key id of the council, the current one first: a search by child id tries each."""
        return () if self._keyring is None else tuple(k.key_id for k in self._keyring.keys_of(la_code))

    def pseudonymise_child(self, la_code: str, raw_child_id: str, *, key_id: str | None = None) -> ChildPseudonym:
        """THE pseudonym of a council's child id, with the key id to record on the event.

        Every ingest path calls this. `key_id` picks one of the council's retired keys (a search for events made
        before a rotation); by default the council's current key. Identities are kept for the current key only.
        """
        raw = raw_child_id.strip()
        if self._keyring is None:
            return ChildPseudonym(raw, None)
        key = self._keyring.current(la_code) if key_id is None else self._keyring.by_id(la_code, key_id)
        pseudonym = _hmac(key, f"{la_code}\x1f{raw}")
        if self.identities is not None and raw and key_id is None:
            self.identities[pseudonym] = (la_code, raw)
            self.erased.discard(pseudonym)  # sent again after a purge: sealed again, not erased
        return ChildPseudonym(pseudonym, key.key_id)

    def pseudonyms_of(self, la_code: str, raw_child_id: str) -> list[str]:
        """The child's pseudonym under every key of the council (current and retired, as ingest made them before
        and after a rotation), the current key's first."""
        return [self.pseudonymise_child(la_code, raw_child_id, key_id=k).pseudonym for k in self.key_ids(la_code)]

    def forget_child(self, la_code: str, raw_child_id: str) -> None:
        """A child withdrawn whole: no identity of it kept, and its pseudonyms under every key of the council erased."""
        keys = self.pseudonyms_of(la_code, raw_child_id)
        if self.identities is not None:
            for key in keys:
                self.identities.pop(key, None)
        self.erased.update(keys)

    def reference(self, la_code: str, field: str, raw_reference: str) -> str:
        """A council reference (e.g. `referral_id`), keyed by its field so every event naming it agrees."""
        raw = raw_reference.strip()
        if self._keyring is None:
            return raw
        return _hmac(self._keyring.current(la_code), f"reference\x1f{field}\x1f{la_code}\x1f{raw}")

    def worker_name(self, la_code: str, raw_name: str | None) -> str | None:
        """A worker's name as the council's configuration asks: dropped (default), pseudonymised or kept."""
        if raw_name is None or self._worker_names == "keep" or self._keyring is None:
            return raw_name
        if self._worker_names == "drop":
            return None
        return "worker-" + _hmac(self._keyring.current(la_code), f"worker\x1f{la_code}\x1f{raw_name.strip()}")[:12]


def erasure_keys(pseudonymiser: Pseudonymiser, la_code: str, child_ids: list[str], child_keys: list[str]) -> list[str]:
    """The pseudonyms to tombstone: each council id under every key of the council (current and retired, as ingest
    made them before and after a rotation), and the pseudonyms given."""
    bad = [k for k in child_keys if not is_pseudonym(k)]
    if bad:
        raise ValueError(f"{len(bad)} --child-key value(s) are not pseudonyms (32 hex digits)")
    computed = {pseudonym for raw in child_ids for pseudonym in pseudonymiser.pseudonyms_of(la_code, raw)}
    return sorted(computed | set(child_keys))


def _hmac(key: PseudonymKey, material: str) -> str:
    return hmac.new(key.secret, material.encode(), hashlib.sha256).hexdigest()[:PSEUDONYM_HEX_DIGITS]


def event_id(*parts: object) -> str:
    """A deterministic id from the source's natural key, so re-ingesting a file gives the same ids.

    Pass the pseudonymous child key, never a raw child id: the hash is unkeyed, and sequential council ids
    are easy to guess, so an id built from a raw id would link back to the child.
    """
    material = "\x1f".join("" if p is None else str(p) for p in parts).encode()
    return hashlib.sha256(material).hexdigest()[:32]


def retraction(
    id_source: str, target: str, *, la_code: str, child_key: str, at: dt.datetime, key_id: str | None
) -> EventRetracted:
    """A door's withdrawal of its event `target` (of the child `child_key`) at `at`; its id is the door's own
    (`id_source`) and the target's, so a retraction sent twice is the same event."""
    return EventRetracted(
        event_id=event_id(id_source, "retraction", target),
        occurred_at=at,
        recorded_at=at,
        la_code=la_code,
        child_key=child_key,
        pseudonym_key_id=key_id,
        retracted_event_id=target,
    )


def start_of_day(day: dt.date) -> dt.datetime:
    """A date recorded without a time happened, by convention, at local midnight in England."""
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=LONDON)


def referral_id(la_code: str, child_key: str, referral_date: dt.date) -> str:
    """A referral's id from its DfE identity (council, child, referral date), the same from every source."""
    return event_id("referral", la_code, child_key, referral_date.isoformat())
