"""Audit records on `frontdoor.audit.v1` (and the dip sample's audit file): strict models, discriminated by `type`."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from schemas.alerts import AlertId
from schemas.events import ChildKey, LaCode

# Ids per record: 500 ids of 32 hex digits keep a record near 20 KB, far below Kafka's 1 MiB message limit.
MAX_ALERT_IDS_PER_RECORD = 500

UserName = Annotated[str, StringConstraints(min_length=1, max_length=200)]


def new_audit_id() -> str:
    """A fresh random id for one audit record (32 hex digits)."""
    return uuid.uuid4().hex


class ChildLevelDataViewed(BaseModel):
    """One response that carried child-level data to one signed-in person.

    `route` and `purpose` come from code (the route table), never from the request, so they are bounded.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["ChildLevelDataViewed"] = "ChildLevelDataViewed"
    audit_id: str = Field(default_factory=new_audit_id)
    occurred_at: AwareDatetime
    user: UserName
    role: str
    la_code: LaCode
    route: str
    purpose: str
    alert_ids: tuple[AlertId, ...] = Field(max_length=MAX_ALERT_IDS_PER_RECORD)
    child_key: ChildKey | None = None  # the child's pseudonym, for a view of one child (a timeline)
    sample_id: str | None = None  # the dip sample shown, for a view of one (its children are in the desk's copy)
    # One view of many alerts is split into several records; `part` of `parts` (1 of 1 for most views).
    part: int = Field(default=1, ge=1)
    parts: int = Field(default=1, ge=1)
    schema_version: Literal[1] = 1


class SignInRefused(BaseModel):
    """A refused local sign-in: a wrong password, or an attempt that started a lockout. Never the password.

    `user` is the name that was typed, which may be no one's; `address` is the client's, as the desk saw it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["SignInRefused"] = "SignInRefused"
    audit_id: str = Field(default_factory=new_audit_id)
    occurred_at: AwareDatetime
    user: UserName
    address: Annotated[str, StringConstraints(max_length=100)]
    reason: Literal["wrong_password", "account_locked", "address_locked"]  # a Lockout, or a wrong password
    schema_version: Literal[1] = 1


class ChildIdentityRevealed(BaseModel):
    """A child's own council id shown to (`reveal`) or used in a case-record link for (`case`) one person.

    The record names the child by pseudonym only: the trail must not become a second copy of the identity store.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["ChildIdentityRevealed"] = "ChildIdentityRevealed"
    audit_id: str = Field(default_factory=new_audit_id)
    occurred_at: AwareDatetime
    user: UserName
    role: str
    la_code: LaCode
    route: Literal["reveal", "case"]
    purpose: str
    child_key: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]
    schema_version: Literal[1] = 1


class DipSampleLoaded(BaseModel):
    """A dip sample (the `frontdoor dip-sample` JSON) loaded into the desk: by whom, when, and which draw it was.

    Like the command's DipSampleDrawn it carries counts per stratum and the seed, never a pseudonym.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["DipSampleLoaded"] = "DipSampleLoaded"
    audit_id: str = Field(default_factory=new_audit_id)
    occurred_at: AwareDatetime
    user: UserName
    role: str
    la_code: LaCode
    sample_id: str
    quarter: str
    by: str
    seed: int
    size: int
    drawn: int
    allocation: dict[str, int]
    population: dict[str, int]
    schema_version: Literal[1] = 1


class AccessRefused(BaseModel):
    """A signed-in person refused a page (403) or told it does not exist (404): another council, agency or role.

    `route` is the route's pattern from the route table, never the URL typed; the council and agency asked for
    are kept only when they are well-formed codes (anything else is recorded as "other").
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["AccessRefused"] = "AccessRefused"
    audit_id: str = Field(default_factory=new_audit_id)
    occurred_at: AwareDatetime
    user: UserName
    role: str
    la_code: LaCode
    agency: str | None = None
    route: Annotated[str, StringConstraints(max_length=200)]
    method: Annotated[str, StringConstraints(max_length=10)]
    status: Literal[403, 404]
    asked_la_code: Annotated[str, StringConstraints(max_length=5)] | None = None
    asked_agency: Annotated[str, StringConstraints(max_length=40)] | None = None
    schema_version: Literal[1] = 1


class UserManaged(BaseModel):
    """A council admin added, disabled, enabled or changed the role of one local user of their own council."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["UserManaged"] = "UserManaged"
    audit_id: str = Field(default_factory=new_audit_id)
    occurred_at: AwareDatetime
    user: UserName  # the admin
    role: str
    la_code: LaCode
    action: Literal["added", "disabled", "enabled", "role_changed"]
    target: UserName
    target_role: str
    target_agency: str | None = None
    schema_version: Literal[1] = 1


class DipSampleDrawn(BaseModel):
    """One dip sample drawn: by whom, when, for which council and quarter, how, and with which seed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["DipSampleDrawn"] = "DipSampleDrawn"
    audit_id: str = Field(default_factory=new_audit_id)
    occurred_at: AwareDatetime
    user: UserName
    la_code: LaCode
    quarter: Annotated[str, StringConstraints(pattern=r"^\d{4}-Q[1-4]$")]
    by: str
    seed: int
    size: int = Field(ge=1)
    drawn: int = Field(ge=0)
    allocation: dict[str, int]  # stratum -> drawn
    population: dict[str, int]  # stratum -> re-referrals in the quarter
    outputs: list[str]  # the files written (names only)
    schema_version: Literal[1] = 1


# What the alert desk writes (its sinks take these).
AuditRecord = (
    ChildLevelDataViewed | SignInRefused | ChildIdentityRevealed | DipSampleLoaded | AccessRefused | UserManaged
)
# Everything on `frontdoor.audit.v1`: the desk's records and `frontdoor dip-sample`'s (which also appends its
# DipSampleDrawn to `dip-sample-audit.jsonl` beside the sample), told apart by `type`.
AuditMessage = Annotated[AuditRecord | DipSampleDrawn, Field(discriminator="type")]
