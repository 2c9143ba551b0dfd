"""The council totals behind the partner portal: the worker's own batch function over the events the desk reads.

The desk already reads the events topic (for the timeline). For each batch it applies the events with
`services.processor.batch.apply_batch`, the pure function the live worker runs, to the child histories kept in
`desk_children`, and adds each council's change in `aggregates.contribution` to `desk_totals`. So the portal's
counts are the worker's and `report --by month`'s by construction; only the measures the portal shows are kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from schemas.events import InboundEvent
from services.alertdesk.database import Database
from services.core.aggregates import AggregateKey
from services.core.config import Rules
from services.processor.batch import apply_batch

PORTAL_MEASURES = frozenset(
    {"contacts", "referrals", "nfa_referrals", "funnel_referred", "funnel_assessed", "funnel_in_need"}
)


def project_totals(db: Database, events: Sequence[InboundEvent], rules: Rules) -> None:
    """Apply one batch's events to the stored histories and the council totals (inside the caller's transaction)."""
    if not events:
        return

    def read(key: bytes) -> bytes | None:
        rows = db.query("SELECT body FROM desk_children WHERE child = ?", (key.decode(),))
        return rows[0][0].encode() if rows else None

    result = apply_batch(events, read, rules)
    kept = [(k.decode(), v.decode()) for k, v in result.writes.items() if v is not None]
    gone = [(k.decode(),) for k, v in result.writes.items() if v is None]
    db.execute_many(
        "INSERT INTO desk_children (child, body) VALUES (?, ?) ON CONFLICT (child) DO UPDATE SET body = excluded.body",
        kept,
    )
    db.execute_many("DELETE FROM desk_children WHERE child = ?", gone)
    changes = [
        (la_code, month, measure, label, n)
        for la_code, change in result.changes.items()
        for (month, measure, label), n in change.items()
        if n and measure in PORTAL_MEASURES
    ]
    db.execute_many(
        "INSERT INTO desk_totals (la_code, month, measure, label, n) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (la_code, month, measure, label) DO UPDATE SET n = desk_totals.n + excluded.n",
        changes,
    )
    if changes:
        db.execute("DELETE FROM desk_totals WHERE n = 0")


def council_totals(db: Database, la_code: str) -> Counter[AggregateKey]:
    """(month, measure, label) -> count for one council: the portal measures of the core's council totals."""
    rows = db.query("SELECT month, measure, label, n FROM desk_totals WHERE la_code = ?", (la_code,))
    return Counter({(month, measure, label): int(n) for month, measure, label, n in rows if n})
