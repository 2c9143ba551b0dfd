"""Where the desk's audit records (schemas.audit) go: the sinks that keep them, and whether the last write held."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from schemas.audit import (
    AccessRefused,
    AuditRecord,
    ChildIdentityRevealed,
    ChildLevelDataViewed,
    DipSampleLoaded,
    SignInRefused,
    UserManaged,
)


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
