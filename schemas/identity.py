"""The identity store's value on `frontdoor.identity.v1`: a child's own council id, sealed with the council's key."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, StringConstraints

from schemas.events import LaCode
from schemas.pseudonyms import PSEUDONYM_PATTERN

Pseudonym = Annotated[str, StringConstraints(pattern=rf"^{PSEUDONYM_PATTERN.pattern}$")]
Base64 = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_\-]+={0,2}$", max_length=1024)]


class ChildIdentitySealed(BaseModel):
    """Keyed by `child_key`; a null value (tombstone) erases the mapping, and compaction drops the old ones.

    `ciphertext` is AES-256-GCM over the council's own child id (`LAchildID`), with `la_code` and `child_key`
    as associated data, so a sealed value copied under another pseudonym or council does not open.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["ChildIdentitySealed"] = "ChildIdentitySealed"
    la_code: LaCode
    child_key: Pseudonym
    key_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]
    nonce: Base64
    ciphertext: Base64
    occurred_at: AwareDatetime
    schema_version: Literal[1] = 1
