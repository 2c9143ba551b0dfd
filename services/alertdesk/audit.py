"""Audit records on `frontdoor.audit.v1`: who saw which child-level data, when, and why; sinks that keep them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Annotated, Literal, Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from schemas.alerts import AlertId
from schemas.events import ChildKey, LaCode


class ChildLevelDataViewed(BaseModel):
    """One response that carried child-level data to one signed-in person.

    `route` and `purpose` come from code (the route table), never from the request, so they are bounded.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["ChildLevelDataViewed"] = "ChildLevelDataViewed"
    audit_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    occurred_at: AwareDatetime
    user: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    role: str
    la_code: LaCode
    route: str
    purpose: str
    alert_ids: tuple[AlertId, ...] = Field(max_length=500)
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
    audit_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    occurred_at: AwareDatetime
    user: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    address: Annotated[str, StringConstraints(max_length=100)]
    reason: Literal["wrong_password", "account_locked", "address_locked"]  # a Lockout, or a wrong password
    schema_version: Literal[1] = 1


class ChildIdentityRevealed(BaseModel):
    """A child's own council id shown to (`reveal`) or used in a case-record link for (`case`) one person.

    The record names the child by pseudonym only: the trail must not become a second copy of the identity store.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["ChildIdentityRevealed"] = "ChildIdentityRevealed"
    audit_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    occurred_at: AwareDatetime
    user: Annotated[str, StringConstraints(min_length=1, max_length=200)]
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
    audit_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    occurred_at: AwareDatetime
    user: Annotated[str, StringConstraints(min_length=1, max_length=200)]
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
    audit_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    occurred_at: AwareDatetime
    user: Annotated[str, StringConstraints(min_length=1, max_length=200)]
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
    audit_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    occurred_at: AwareDatetime
    user: Annotated[str, StringConstraints(min_length=1, max_length=200)]  # the admin
    role: str
    la_code: LaCode
    action: Literal["added", "disabled", "enabled", "role_changed"]
    target: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    target_role: str
    target_agency: str | None = None
    schema_version: Literal[1] = 1


AuditRecord = (
    ChildLevelDataViewed | SignInRefused | ChildIdentityRevealed | DipSampleLoaded | AccessRefused | UserManaged
)
# Ids per record: 500 ids of 32 hex digits keep a record near 20 KB, far below Kafka's 1 MiB message limit.
MAX_ALERT_IDS_PER_RECORD = 500


@dataclass(slots=True)
class AuditHealth:
    """Whether the last audit write succeeded; /healthz fails while it did not."""

    consecutive_failures: int = 0
    failures_total: int = 0

    def failed(self) -> None:
        self.consecutive_failures += 1
        self.failures_total += 1

    def succeeded(self) -> None:
        self.consecutive_failures = 0

    @property
    def ok(self) -> bool:
        return self.consecutive_failures == 0


class AuditSink(Protocol):
    """Somewhere durable for audit records. `record` returns only once the record is safely kept."""

    async def record(self, entry: AuditRecord) -> None: ...


@dataclass(slots=True)
class MemoryAuditSink:
    """Keeps records in a list: for tests, and for reading back what a test did."""

    records: list[AuditRecord] = field(default_factory=list)

    async def record(self, entry: AuditRecord) -> None:
        self.records.append(entry)

    def for_route(self, route: str) -> list[ChildLevelDataViewed]:
        return [r for r in self.records if isinstance(r, ChildLevelDataViewed) and r.route == route]

    def dip_samples(self) -> list[DipSampleLoaded]:
        return [r for r in self.records if isinstance(r, DipSampleLoaded)]

    def reveals(self) -> list[ChildIdentityRevealed]:
        return [r for r in self.records if isinstance(r, ChildIdentityRevealed)]

    def refusals(self) -> list[AccessRefused]:
        return [r for r in self.records if isinstance(r, AccessRefused)]

    def user_changes(self) -> list[UserManaged]:
        return [r for r in self.records if isinstance(r, UserManaged)]

    def sign_ins(self) -> list[SignInRefused]:
        return [r for r in self.records if isinstance(r, SignInRefused)]
