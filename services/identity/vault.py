"""The desk's copy of the identity store: sealed values in memory, opened one child at a time with the council's key."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import ValidationError

from schemas.identity import ChildIdentitySealed
from schemas.pseudonyms import is_pseudonym
from services.identity.sealing import Keyring


@dataclass(slots=True)
class IdentityVault:
    """Folded from the compacted topic; nothing here is ever decrypted except by `open_for`.

    Each value is kept as the validated bytes it arrived as (about 260 bytes), not as a model (about 1.4 KB),
    and parsed again only for a reveal: a large council's store is some 165,000 children.
    """

    keyring: Keyring = field(default_factory=Keyring)
    sealed: dict[str, bytes] = field(default_factory=dict)
    rejected: int = 0
    caught_up: bool = False

    def fold(self, key: bytes | None, value: bytes | None) -> None:
        """One message: a sealed id replaces the child's previous one, a tombstone (null value) erases it."""
        child_key = key.decode(errors="replace") if key else ""
        if value is None:
            self.sealed.pop(child_key, None)
            return
        try:
            record = ChildIdentitySealed.model_validate_json(value)
        except ValidationError:
            self.rejected += 1
            return
        if record.child_key != child_key or not is_pseudonym(child_key):
            self.rejected += 1  # a value filed under another child's key is never offered for that child
            return
        self.sealed[child_key] = bytes(value)

    def find(self, child_key: str, la_code: str) -> ChildIdentitySealed | None:
        """The child's sealed id when it belongs to `la_code`; another council's child is as unknown as no child."""
        value = self.sealed.get(child_key)
        if value is None:
            return None
        record = ChildIdentitySealed.model_validate_json(value)
        return record if record.la_code == la_code else None

    def open_for(self, record: ChildIdentitySealed) -> str:
        """The council's child id; raises IdentityUnsealError or IdentityKeyError when it cannot be opened."""
        return self.keyring.unseal(record)
