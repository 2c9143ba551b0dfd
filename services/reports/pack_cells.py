"""Counts the pack publishes in more than one table, suppressed together so no table gives another's away.

A month's referrals are the row total of the presenting-issue table and a column of the re-referral and NFA
tables, and add up to the quarterly RAG table's referrals; a month's re-referrals add up to its quarter's. So
the referrals are suppressed once, with the presenting-issue table and the quarter subtotals as one set of
additions, and the re-referrals once, with their quarter subtotals and period total; every table shows these.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.core.series import NEEDS, Row
from services.reports.suppression import (
    SUPPRESSED,
    Cell,
    Shown,
    SuppressedTable,
    extended,
    lines,
    suppress_cells,
    suppress_column,
)


@dataclass(frozen=True, slots=True)
class SharedCounts:
    needs: list[str]  # the primary needs shown (those with a referral in the period or the year before)
    by_need: SuppressedTable  # months x needs; row totals are the months' referrals, the grand total the period's
    referrals_by_quarter: dict[str, Shown]
    rereferrals: list[Shown]  # per month
    rereferrals_by_quarter: dict[str, Shown]
    rereferrals_total: Shown


def quarter_members(months: Sequence[Row], quarters: Sequence[str]) -> list[list[int]]:
    """For each quarter "YYYY-QN", the indices of its three months among `months`."""
    index = {str(row["month"]): i for i, row in enumerate(months)}
    out = []
    for quarter in quarters:
        year, number = int(quarter[:4]), int(quarter[-1])
        out.append([index[f"{year}-{m:02d}"] for m in range(number * 3 - 2, number * 3 + 1)])
    return out


def needs_shown(months: Sequence[Row], previous: Sequence[Row]) -> list[str]:
    return [n for n in NEEDS if any(int(r.get(f"referrals_need_{n}") or 0) for r in [*months, *previous])]


def by_need_with_quarters(counts: list[list[int]], members: list[list[int]]) -> tuple[SuppressedTable, list[Shown]]:
    """The months x needs table with its totals, and the quarters' referrals, as one set of additions."""
    table = extended(counts, True, True)
    rows, columns = len(table), len(table[0])
    values: dict[Cell, int] = {(r, c): v for r, row in enumerate(table) for c, v in enumerate(row)}
    additions = lines((rows, columns), True, True)
    total_column = columns - 1
    for k, group in enumerate(members):
        cell = (rows + k, total_column)
        values[cell] = sum(table[i][total_column] for i in group)
        additions.append([*((i, total_column) for i in group), cell])
    hidden = suppress_cells(values, additions)

    def shown(cell: Cell) -> Shown:
        return SUPPRESSED if cell in hidden else values[cell]

    body = len(counts)
    suppressed = SuppressedTable(
        cells=[[shown((r, c)) for c in range(total_column)] for r in range(body)],
        row_totals=[shown((r, total_column)) for r in range(body)],
        column_totals=[shown((body, c)) for c in range(total_column)],
        grand_total=shown((body, total_column)),
    )
    return suppressed, [shown((rows + k, total_column)) for k in range(len(members))]


def shared_counts(months: Sequence[Row], quarters: Sequence[str], previous: Sequence[Row]) -> SharedCounts:
    needs = needs_shown(months, previous)
    members = quarter_members(months, quarters)
    counts = [[int(r.get(f"referrals_need_{n}") or 0) for n in needs] for r in months]
    if any(sum(row) != int(r.get("referrals") or 0) for row, r in zip(counts, months, strict=True)):
        raise ValueError("referrals by primary need do not add up to referrals")  # the series guarantees they do
    by_need, referrals_by_quarter = by_need_with_quarters(counts, members)
    rereferrals, by_quarter, total = suppress_column([int(r.get("rereferrals") or 0) for r in months], members)
    return SharedCounts(
        needs=needs,
        by_need=by_need,
        referrals_by_quarter=dict(zip(quarters, referrals_by_quarter, strict=True)),
        rereferrals=rereferrals,
        rereferrals_by_quarter=dict(zip(quarters, by_quarter, strict=True)),
        rereferrals_total=total,
    )
