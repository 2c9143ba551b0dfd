"""Audit records on `frontdoor.audit.v1`: who saw which child-level data, when, and why; sinks that keep them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Annotated, Literal, Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from schemas.alerts import AlertId
from schemas.events import LaCode


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
    alert_ids: tuple[AlertId, ...]
    schema_version: Literal[1] = 1


class AuditSink(Protocol):
    """Somewhere durable for audit records. `record` returns only once the record is safely kept."""

    async def record(self, entry: ChildLevelDataViewed) -> None: ...


@dataclass(slots=True)
class MemoryAuditSink:
    """Keeps records in a list: for tests, and for reading back what a test did."""

    records: list[ChildLevelDataViewed] = field(default_factory=list)

    async def record(self, entry: ChildLevelDataViewed) -> None:
        self.records.append(entry)

    def for_route(self, route: str) -> list[ChildLevelDataViewed]:
        return [r for r in self.records if r.route == route]
