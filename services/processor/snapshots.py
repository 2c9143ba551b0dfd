"""What the worker publishes on the council totals topic: whole council-month snapshots of CouncilTotals. Pure.

A batch publishes the months its changes touched, each whole as it now stands (an emptied month as an empty
snapshot); a rebuild publishes every month of each council held, densely from its first month to its last, so a
reader that missed anything (a month emptied while the worker was down) is corrected without a change to carry it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from schemas.totals import CouncilMonthTotals, TotalCell
from services.core.aggregates import AggregateKey
from services.core.windows import month_name
from services.processor.totals import CouncilTotals


def changed_months(changes: Mapping[str, Counter[AggregateKey]]) -> dict[str, list[str]]:
    """council -> the months a batch's signed changes moved (a change that nets to nought moves nothing)."""
    touched: dict[str, list[str]] = {}
    for la_code, change in changes.items():
        months = sorted({month for (month, _, _), n in change.items() if n})
        if months:
            touched[la_code] = months
    return touched


def month_snapshots(
    la_code: str, counts: Mapping[AggregateKey, int], months: Iterable[str]
) -> list[CouncilMonthTotals]:
    """One snapshot per month asked for, from the council's (month, measure, label) -> count; empty if none."""
    wanted: dict[str, list[TotalCell]] = {month: [] for month in months}
    for (month, measure, label), n in counts.items():
        cells = wanted.get(month)
        if cells is not None and n:
            cells.append(TotalCell(measure=measure, label=label, count=n))
    return [
        CouncilMonthTotals(la_code=la_code, month=month, cells=tuple(sorted(cells, key=_order)))
        for month, cells in wanted.items()
    ]


def batch_snapshots(totals: CouncilTotals, changes: Mapping[str, Counter[AggregateKey]]) -> list[CouncilMonthTotals]:
    """With `changes` added to `totals` (`CouncilTotals.after`): the whole of every council-month the batch changed,
    and nothing else."""
    return [
        snapshot
        for la_code, months in changed_months(changes).items()
        for snapshot in month_snapshots(la_code, totals.totals.get(la_code, {}), months)
    ]


def rebuilt_snapshots(totals: CouncilTotals) -> list[CouncilMonthTotals]:
    """After `totals.rebuild(...)`: every month of every council held, first to last, the empty ones included."""
    return [
        snapshot
        for la_code in totals.councils()
        for snapshot in month_snapshots(la_code, totals.totals[la_code], dense_months(totals.totals[la_code]))
    ]


def dense_months(counts: Mapping[AggregateKey, int]) -> list[str]:
    """Every month from the first to the last with a count, "YYYY-MM", none left out."""
    held = [_index(month) for (month, _, _), n in counts.items() if n]
    return [month_name(i) for i in range(min(held), max(held) + 1)] if held else []


def _index(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def _order(cell: TotalCell) -> tuple[str, str]:
    return cell.measure, cell.label
