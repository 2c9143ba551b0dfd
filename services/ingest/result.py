"""What every ingest adapter returns: the canonical events it made and every record it rejected, with why."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from schemas.events import InboundEvent


@dataclass(frozen=True, slots=True)
class Rejected:
    """A source record that did not become an event: where it was and why, never silently dropped."""

    source: str  # file name
    location: str  # e.g. "List 3 row 7" or "CINdetails #12 (child 3)"
    reason: str


@dataclass(slots=True)
class IngestResult:
    """Events in source order plus rejections; `read` counts source records looked at."""

    events: list[InboundEvent] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    read: int = 0
    notes: list[str] = field(default_factory=list)

    def extend(self, other: IngestResult) -> None:
        self.events.extend(other.events)
        self.rejected.extend(other.rejected)
        self.read += other.read
        self.notes.extend(other.notes)

    def counts_by_type(self) -> Counter[str]:
        return Counter(type(e).__name__ for e in self.events)
