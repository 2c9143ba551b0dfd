"""Council aggregates: children's versioned contributions, repartitioned by council, kept latest-wins and summed.

Pure. The worker sends each changed child's whole contribution keyed by la_code (a batch's children of one
council share a message); whichever worker owns that council's partition keeps the latest version per child
in its `councils` table (one entry per child) and the sums in memory.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import orjson

from services.core.aggregates import AggregateKey
from services.core.state import dump_json
from services.processor.batch import Contribution

CHILDREN_PER_MESSAGE = 100  # a contribution is about 1.5 kB: a message stays far below Kafka's 1 MB


def encode_contributions(items: Sequence[Contribution]) -> bytes:
    """One council's changed children from one batch, in one message (one faust event for the aggregator)."""
    children = [[i.child_key, i.version, [[*key, n] for key, n in i.counts.items()]] for i in items]
    return orjson.dumps({"la_code": items[0].la_code, "children": children})


def decode_contributions(raw: bytes) -> list[Contribution]:
    document = orjson.loads(raw)
    return [
        Contribution(
            document["la_code"], child, version, Counter({(m, measure, label): n for m, measure, label, n in rows})
        )
        for child, version, rows in document["children"]
    ]


def by_council(items: Iterable[Contribution]) -> list[list[Contribution]]:
    """Group contributions by council, in chunks of at most CHILDREN_PER_MESSAGE."""
    grouped: dict[str, list[Contribution]] = {}
    for item in items:
        grouped.setdefault(item.la_code, []).append(item)
    return [
        chunk[n : n + CHILDREN_PER_MESSAGE]
        for chunk in grouped.values()
        for n in range(0, len(chunk), CHILDREN_PER_MESSAGE)
    ]


def encode_contribution(item: Contribution) -> bytes:
    rows = [[month, measure, label, n] for (month, measure, label), n in item.counts.items()]
    document = {"la_code": item.la_code, "child_key": item.child_key, "version": item.version, "contribution": rows}
    return dump_json(document)  # kept in the councils table


def decode_contribution(raw: bytes) -> Contribution:
    document = orjson.loads(raw)
    counts: Counter[AggregateKey] = Counter(
        {(m, measure, label): n for m, measure, label, n in document["contribution"]}
    )
    return Contribution(document["la_code"], document["child_key"], document["version"], counts)


def council_key(la_code: str, child_key: str) -> bytes:
    """The councils-table key: one entry per child, in the council's partition."""
    return f"{la_code}|{child_key}".encode()


@dataclass(slots=True)
class CouncilTotals:
    """Per-council sums of the latest contribution of every child this worker's council partitions hold.

    Copy on write: `totals` and the Counters in it are never changed once published, because the metrics
    scrape reads them from another thread. A batch works on copies of the councils it touches and
    `publish()` swaps them in with one assignment.
    """

    totals: dict[str, Counter[AggregateKey]] = field(default_factory=dict)
    pending: dict[str, Counter[AggregateKey]] = field(default_factory=dict)

    def accept(self, stored: bytes | None, new: Contribution, raw: bytes) -> tuple[bool, bytes | None]:
        """Fold one contribution message into the totals; returns (write the entry?, its new value).

        An older version than the stored one is ignored. A child that has left (an empty contribution)
        deletes its entry (value None). An equal version replaces: a batch redone after a crash may
        recompute the same version, and the latest computation wins.
        """
        old = orjson.loads(stored) if stored is not None else None  # rows, not a Counter: it is only subtracted
        if old is not None and new.version < old["version"]:
            return False, stored
        council = self.pending.get(new.la_code)
        if council is None:
            council = self.pending[new.la_code] = Counter(self.totals.get(new.la_code, {}))
        # Plain dict operations, dropping keys that reach 0: Counter.subtract/update and a zero scan cost twice as much
        get, pop = council.get, council.pop
        if old is not None:
            for month, measure, label, n in old["contribution"]:
                key = (month, measure, label)
                if left := get(key, 0) - n:
                    council[key] = left
                else:
                    pop(key, None)
        for key, n in new.counts.items():
            if total := get(key, 0) + n:
                council[key] = total
            else:
                pop(key, None)
        if not new.counts:
            return stored is not None, None
        return True, raw

    def publish(self) -> None:
        """Make the batch's sums visible to readers."""
        if self.pending:
            self.totals = self.totals | self.pending
            self.pending = {}

    def rebuild(self, stored: Iterable[Contribution]) -> None:
        """Recompute every sum from the table, e.g. after a rebalance moved councils to or from this worker."""
        totals: dict[str, Counter[AggregateKey]] = {}
        for item in stored:
            totals.setdefault(item.la_code, Counter()).update(item.counts)
        self.totals, self.pending = totals, {}

    def council_totals(self, la_code: str) -> Counter[AggregateKey]:
        """(month, measure, label) -> count for one council; empty if another worker holds the council."""
        return Counter(self.totals.get(la_code, {}))

    def councils(self) -> list[str]:
        return sorted(self.totals)
