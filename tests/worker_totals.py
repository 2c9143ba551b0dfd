"""The worker's council totals path without Kafka: batches through apply_batch, the sums, the snapshots it publishes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from schemas.events import InboundEvent
from schemas.totals import CouncilMonthTotals
from services.core.config import DEFAULT_CONFIG, Rules
from services.processor.batch import apply_batch
from services.processor.snapshots import batch_snapshots, rebuilt_snapshots
from services.processor.totals import CouncilTotals


@dataclass(slots=True)
class WorkerTotals:
    """A children table in a dict and the council sums, moved batch by batch as `frontdoor worker` moves them."""

    rules: Rules = DEFAULT_CONFIG
    table: dict[bytes, bytes] = field(default_factory=dict)
    totals: CouncilTotals = field(default_factory=CouncilTotals)

    def batch(self, events: Sequence[InboundEvent]) -> list[CouncilMonthTotals]:
        """One batch (one council's partition): the snapshots the worker publishes for it."""
        result = apply_batch(events, self.table.get, self.rules)
        self.totals.apply(result.changes)
        for key, value in result.writes.items():
            if value is None:
                self.table.pop(key, None)
            else:
                self.table[key] = value
        return batch_snapshots(self.totals, result.changes)

    def run(self, events: Sequence[InboundEvent], size: int = 500) -> list[CouncilMonthTotals]:
        """Every snapshot published for `events` in batches of `size`, in order (councils mixed, as one partition)."""
        return [s for start in range(0, len(events), size) for s in self.batch(events[start : start + size])]

    def rebuilt(self) -> list[CouncilMonthTotals]:
        return rebuilt_snapshots(self.totals)


def published_totals(events: Sequence[InboundEvent], size: int = 500) -> list[CouncilMonthTotals]:
    """The snapshots a worker publishes for `events` from an empty table."""
    return WorkerTotals().run(events, size)


def latest(snapshots: Sequence[CouncilMonthTotals]) -> dict[str, CouncilMonthTotals]:
    """What compaction keeps: the last snapshot of each key."""
    return {s.key: s for s in snapshots}
