"""Council aggregates held beside the council's children: the sum of every child's contribution. Pure.

A council's events are all in one partition, so the worker that holds the partition holds the council's children
and keeps its sums in memory: each batch adds what its changed children contribute now and takes away what they
contributed before, and a rebalance or restart rebuilds the sums from the restored table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from services.core.aggregates import AggregateKey


@dataclass(slots=True)
class CouncilTotals:
    """(month, measure, label) -> count per council, for the councils in this worker's partitions.

    Copy on write: `totals` and the Counters in it are never changed once published, because the metrics scrape
    reads them from another thread. A change builds new Counters and swaps them in with one assignment.
    """

    totals: dict[str, Counter[AggregateKey]] = field(default_factory=dict)

    def apply(self, changes: Mapping[str, Counter[AggregateKey]]) -> None:
        """Add one batch's changes (signed counts per council) and publish the new sums."""
        self.totals = self.after(changes).totals

    def after(self, changes: Mapping[str, Counter[AggregateKey]]) -> CouncilTotals:
        """The sums with one batch's changes added, leaving these as they are (the unchanged councils shared)."""
        updated: dict[str, Counter[AggregateKey]] = {}
        for la_code, change in changes.items():
            if not any(change.values()):
                continue
            council = Counter(self.totals.get(la_code, {}))
            for key, n in change.items():
                if total := council.get(key, 0) + n:
                    council[key] = total
                else:
                    council.pop(key, None)
            updated[la_code] = council
        return CouncilTotals(self.totals | updated if updated else self.totals)

    def rebuild(self, contributions: Iterable[tuple[str, Counter[AggregateKey]]]) -> None:
        """Recompute every sum from the children this worker holds (after a restore or a rebalance)."""
        totals: dict[str, Counter[AggregateKey]] = {}
        for la_code, counts in contributions:
            totals.setdefault(la_code, Counter()).update(counts)
        self.totals = {la_code: +counts for la_code, counts in totals.items() if counts}

    def council_totals(self, la_code: str) -> Counter[AggregateKey]:
        """(month, measure, label) -> count for one council; empty if another worker holds the council."""
        return Counter(self.totals.get(la_code, {}))

    def councils(self) -> list[str]:
        return sorted(self.totals)
