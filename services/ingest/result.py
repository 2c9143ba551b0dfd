"""What every ingest adapter returns: the canonical events it made and every record it rejected, with why."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from schemas.events import InboundEvent
from schemas.pseudonyms import is_pseudonym


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

    def refuse_raw_child_keys(self, source: str) -> None:
        """Move every event whose child key is not a pseudonym (e.g. a raw id given as `child_key`) to rejected.

        Pseudonymised ids always pass; this catches a file that already carried keys, before they leave.
        """
        kept: list[InboundEvent] = []
        for number, event in enumerate(self.events, start=1):
            keys = (event.child_key, getattr(event, "merged_child_key", event.child_key))
            if all(is_pseudonym(k) for k in keys):
                kept.append(event)
            else:  # the reason names neither the key nor the event, which may hold the raw id
                self.rejected.append(Rejected(source, f"event {number}", "child_key is not a pseudonym"))
        self.events = kept
