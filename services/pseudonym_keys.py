"""Each council's pseudonymisation keys and their ids: the current key for new events, retired ones for search."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, SecretStr

from schemas.pseudonyms import PseudonymKeyId


class KeyEntry(BaseModel):
    """One key as FRONTDOOR_PSEUDONYM_KEYS gives it: its public id and the secret."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: PseudonymKeyId
    key: SecretStr


class CouncilKeys(KeyEntry):
    """A council's current key, and the keys it replaced (newest first) so searches still find older events."""

    retired: tuple[KeyEntry, ...] = ()


@dataclass(frozen=True, slots=True)
class PseudonymKey:
    """A key's id, recorded with every event it pseudonymised, and its secret bytes (never printed)."""

    key_id: str
    secret: bytes = field(repr=False)


def shared_key_id(secret: bytes) -> str:
    """The id of a key shared by every council (dev profile, simulator): a public fingerprint of the key."""
    return "shared-" + hashlib.sha256(b"frontdoor pseudonym key id\x1f" + secret).hexdigest()[:12]


class UnknownCouncilKeyError(LookupError):
    """No key for this council (or no key with this id); the message says which variable to set."""


@dataclass(frozen=True, slots=True)
class PseudonymKeyring:
    """Each council's keys, current first; `fallback` serves councils without their own (dev profile only)."""

    councils: Mapping[str, tuple[PseudonymKey, ...]]
    fallback: PseudonymKey | None = None

    @classmethod
    def shared(cls, secret: bytes) -> PseudonymKeyring:
        """One key for every council: synthetic data and tests, never a council's real files in production."""
        return cls({}, PseudonymKey(shared_key_id(secret), secret))

    def keys_of(self, la_code: str) -> tuple[PseudonymKey, ...]:
        """The council's keys, the current one first."""
        own = self.councils.get(la_code)
        if own:
            return own
        if self.fallback is not None:
            return (self.fallback,)
        raise UnknownCouncilKeyError(
            f"no pseudonymisation key for council {la_code}: add it to FRONTDOOR_PSEUDONYM_KEYS, e.g. "
            f'{{"{la_code}": {{"id": "{la_code}-2026a", "key": "<64 hex digits>"}}}} (docs/platform.md)'
        )

    def current(self, la_code: str) -> PseudonymKey:
        return self.keys_of(la_code)[0]

    def by_id(self, la_code: str, key_id: str) -> PseudonymKey:
        for key in self.keys_of(la_code):
            if key.key_id == key_id:
                return key
        raise UnknownCouncilKeyError(f"council {la_code} has no pseudonymisation key with id {key_id!r}")
