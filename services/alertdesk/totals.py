"""The council totals behind the partner portal: the worker's council-month snapshots, latest wins, as they arrive.

The worker that holds a council publishes each council-month it changes, whole, on the compacted totals topic
(services.processor.snapshots). The desk keeps the latest snapshot per council-month in `desk_council_totals`,
written in the same transaction as the offsets it came from, and reads back only the measures the portal shows.
So the portal's counts are the worker's, which are `report --by month`'s by construction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import orjson

from schemas.totals import CouncilMonthTotals
from services.alertdesk.database import Database
from services.core.aggregates import AggregateKey

PORTAL_MEASURES = frozenset(
    {"contacts", "referrals", "nfa_referrals", "funnel_referred", "funnel_assessed", "funnel_in_need"}
)


def store_snapshots(db: Database, snapshots: Iterable[CouncilMonthTotals]) -> None:
    """Keep the latest snapshot of each council-month (inside the caller's transaction); an empty month is kept."""
    latest = {(s.la_code, s.month): s for s in snapshots}  # in topic order: the last of a key wins
    db.execute_many(
        "INSERT INTO desk_council_totals (la_code, month, body) VALUES (?, ?, ?) "
        "ON CONFLICT (la_code, month) DO UPDATE SET body = excluded.body",
        [(la_code, month, _portal_cells(s)) for (la_code, month), s in latest.items()],
    )


def council_totals(db: Database, la_code: str) -> Counter[AggregateKey]:
    """(month, measure, label) -> count for one council: the portal measures of the worker's council totals."""
    totals: Counter[AggregateKey] = Counter()
    for month, body in db.query("SELECT month, body FROM desk_council_totals WHERE la_code = ?", (la_code,)):
        for measure, label, n in orjson.loads(body):
            totals[(month, measure, label)] = n
    return totals


def _portal_cells(snapshot: CouncilMonthTotals) -> str:
    """The snapshot's cells the portal reads, as [[measure, label, count], ...]: a few dozen a month."""
    cells = [[c.measure, c.label, c.count] for c in snapshot.cells if c.measure in PORTAL_MEASURES]
    return orjson.dumps(cells).decode()
