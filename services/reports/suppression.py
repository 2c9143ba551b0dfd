"""Small-number suppression for published tables: counts 1 to 4 shown as "c", and no suppressed cell recoverable.

The rule (docs/reports.md): a count from 1 to 4 is primary-suppressed. A table publishes its totals (a total
column, a total row, or both, and then the grand total), so secondary suppression hides further cells until no
suppressed cell can be worked out exactly from the published cells and totals by any combination of the
table's additions. That is checked exactly, by elimination over the rationals, not by a rule of thumb; the
complementary cell chosen is the smallest other non-zero count of the line, then a zero, then the line's total.
A rate is hidden when its denominator is under 10 or its numerator is a suppressed count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

SUPPRESSED: Literal["c"] = "c"
SMALLEST_SHOWN = 5  # counts 1..4 are suppressed; 0 is shown
SMALLEST_RATE_DENOMINATOR = 10
Shown = int | Literal["c"]
Cell = tuple[int, int]  # (row, column) in the table extended by its totals: the total row/column come last


@dataclass(frozen=True, slots=True)
class SuppressedTable:
    """A table as published: body cells, and the totals it was asked for (None when not published)."""

    cells: list[list[Shown]]
    row_totals: list[Shown] | None
    column_totals: list[Shown] | None
    grand_total: Shown | None


def is_small(count: int) -> bool:
    """A count that could identify a child: 1 to 4."""
    return 0 < count < SMALLEST_SHOWN


def shown_count(count: int) -> Shown:
    """A single count published on its own (no totals beside it): "c" for 1 to 4."""
    return SUPPRESSED if is_small(count) else count


def shown_rate(numerator: Shown, denominator: Shown, rate: float | None) -> float | None:
    """The rate as published: hidden when its numerator is suppressed or its denominator is under 10."""
    if rate is None or not isinstance(numerator, int) or not isinstance(denominator, int):  # "c": suppressed
        return None
    return rate if denominator >= SMALLEST_RATE_DENOMINATOR else None


def extended(counts: Sequence[Sequence[int]], row_totals: bool, column_totals: bool) -> list[list[int]]:
    """The table with its published totals appended: a total column, a total row, both with the grand total."""
    table = [list(row) for row in counts]
    if row_totals:
        table = [[*row, sum(row)] for row in table]
    if column_totals:
        table.append([sum(column) for column in zip(*table, strict=True)] if table else [])
    return table


def lines(shape: tuple[int, int], row_totals: bool, column_totals: bool) -> list[list[Cell]]:
    """Each addition the extended table publishes, as its cells: the total is one of them (see `extended`)."""
    rows, columns = shape
    found: list[list[Cell]] = []
    if row_totals:  # each row (the total row too, when there is one) adds up to its last cell
        found += [[(r, c) for c in range(columns)] for r in range(rows)]
    if column_totals:
        found += [[(r, c) for r in range(rows)] for c in range(columns)]
    return found


def determined(suppressed: set[Cell], constraints: Sequence[Sequence[Cell]]) -> set[Cell]:
    """The suppressed cells that the published cells and totals fix exactly.

    With each total written as minus its value, every addition is "these cells sum to a known number", so a
    hidden cell is fixed exactly when its unit vector lies in the row space of the additions over hidden cells:
    after reduction to reduced row echelon form, when some row has it as its only non-zero entry.
    """
    unknowns = sorted(suppressed)
    position = {cell: i for i, cell in enumerate(unknowns)}
    matrix = [[Fraction(0)] * len(unknowns) for _ in constraints]
    for row, line in zip(matrix, constraints, strict=True):
        for cell in line:
            if cell in position:
                row[position[cell]] = Fraction(1)
    reduced = _reduced_rows(matrix, len(unknowns))
    return {unknowns[next(i for i, x in enumerate(row) if x)] for row in reduced if sum(1 for x in row if x) == 1}


def _reduced_rows(matrix: list[list[Fraction]], width: int) -> list[list[Fraction]]:
    rows = [row for row in matrix if any(row)]
    pivot_row = 0
    for column in range(width):
        pivot = next((i for i in range(pivot_row, len(rows)) if rows[i][column]), None)
        if pivot is None:
            continue
        rows[pivot_row], rows[pivot] = rows[pivot], rows[pivot_row]
        lead = rows[pivot_row][column]
        rows[pivot_row] = [x / lead for x in rows[pivot_row]]
        for i, row in enumerate(rows):
            if i != pivot_row and row[column]:
                factor = row[column]
                rows[i] = [a - factor * b for a, b in zip(row, rows[pivot_row], strict=True)]
        pivot_row += 1
    return rows[:pivot_row]


def _complement(
    line: Sequence[Cell], values: Mapping[Cell, int], hidden: set[Cell], constraints: Sequence[Sequence[Cell]]
) -> Cell | None:
    """The cell to hide beside an exposed one in `line`.

    Preferred: a body cell whose other line already hides a cell (that closes a loop, which no addition can undo),
    then a non-zero count before a zero, then the smallest; the line's total only when no body cell is left.
    """
    total = line[-1]
    open_cells = [cell for cell in line if cell not in hidden and cell != total]
    if not open_cells:
        return total if total not in hidden else None

    def preference(cell: Cell) -> tuple[int, int, int, Cell]:
        others = [other for other in constraints if cell in other and other is not line]
        closes = any(x in hidden for other in others for x in other)
        value = values[cell]
        return (0 if closes else 1, 0 if value > 0 else 1, value, cell)

    return min(open_cells, key=preference)


def suppress_cells(values: Mapping[Cell, int], additions: Sequence[Sequence[Cell]]) -> set[Cell]:
    """The cells to hide, for any set of published additions: the general form of `suppress_table`.

    `values` holds every published cell, totals included; each addition lists the cells it adds up, its total
    last. Hidden: every count from 1 to 4, then complementary cells until none is determined (`determined`).
    Tables that share cells (a month's referrals in two tables, months adding up to quarters) are protected
    together by listing all their additions here.
    """
    hidden = {cell for cell, value in values.items() if is_small(value)}
    while hidden:
        exposed = determined(hidden, additions)
        if not exposed:
            break
        # Work on the line with the fewest hidden cells that holds an exposed one: a lone hidden cell first.
        touched = [ln for ln in additions if any(cell in exposed for cell in ln)]
        candidates = sorted(touched, key=lambda ln: sum(x in hidden for x in ln))
        added = next((c for ln in candidates if (c := _complement(ln, values, hidden, additions)) is not None), None)
        if added is None:  # every cell of its lines is hidden, and it is still worked out through other lines
            added = _breaking_cell(exposed, values, hidden, additions)
        if added is None:  # hiding any one more cell leaves it exposed: only a line of one cell can do that
            raise ValueError("suppression cannot protect a table whose lines have one cell")
        hidden.add(added)
    return hidden


def _breaking_cell(
    exposed: set[Cell], values: Mapping[Cell, int], hidden: set[Cell], additions: Sequence[Sequence[Cell]]
) -> Cell | None:
    """A shown cell whose hiding leaves fewer of the exposed cells worked out, for an exposure no line closes.

    E.g. a quarter of 1 whose months are all hidden, worked out as the year's total minus the other quarter: the
    other quarter has to go. Preferred as `_complement` prefers: a non-zero count before a zero, then the smallest.
    """
    shown = {cell for line in additions for cell in line} - hidden
    for cell in sorted(shown, key=lambda c: (0 if values[c] > 0 else 1, values[c], c)):
        if len(determined(hidden | {cell}, additions) & exposed) < len(exposed):
            return cell
    return None


def suppression_pattern(table: list[list[int]], row_totals: bool, column_totals: bool) -> set[Cell]:
    """The cells of the extended table to hide: primary (1..4), then secondary until none is determined."""
    shape = (len(table), len(table[0]) if table else 0)
    values = {(r, c): value for r, row in enumerate(table) for c, value in enumerate(row)}
    return suppress_cells(values, lines(shape, row_totals, column_totals))


def suppress_column(values: Sequence[int], groups: Sequence[Sequence[int]]) -> tuple[list[Shown], list[Shown], Shown]:
    """A column of counts published with subtotals of `groups` of its rows (e.g. months into quarters) and a total.

    Returns the shown cells, the shown subtotals (one per group) and the shown total.
    """
    n = len(values)
    cells: dict[Cell, int] = {(i, 0): v for i, v in enumerate(values)}
    cells[(n, 0)] = sum(values)
    additions: list[list[Cell]] = [[*((i, 0) for i in range(n)), (n, 0)]]
    for k, group in enumerate(groups):
        cells[(n + 1 + k, 0)] = sum(values[i] for i in group)
        additions.append([*((i, 0) for i in group), (n + 1 + k, 0)])
    hidden = suppress_cells(cells, additions)

    def shown(cell: Cell) -> Shown:
        return SUPPRESSED if cell in hidden else cells[cell]

    return [shown((i, 0)) for i in range(n)], [shown((n + 1 + k, 0)) for k in range(len(groups))], shown((n, 0))


def suppress_table(
    counts: Sequence[Sequence[int]], *, row_totals: bool = True, column_totals: bool = True
) -> SuppressedTable:
    """The table with its totals as published under the small-number rule (module docstring).

    `counts` is rows of non-negative counts; `row_totals` publishes each row's sum, `column_totals` each column's
    sum (and, with both, the grand total). The partner views call this too.
    """
    if any(value < 0 for row in counts for value in row):
        raise ValueError("counts are non-negative")
    table = extended(counts, row_totals, column_totals)
    hidden = suppression_pattern(table, row_totals, column_totals)
    shown = [[SUPPRESSED if (r, c) in hidden else v for c, v in enumerate(row)] for r, row in enumerate(table)]
    body_rows = len(counts)
    body = [row[: len(row) - 1] if row_totals else row for row in shown[:body_rows]]
    totals_row = shown[body_rows] if column_totals and len(shown) > body_rows else None
    return SuppressedTable(
        cells=body,
        row_totals=[row[-1] for row in shown[:body_rows]] if row_totals else None,
        column_totals=(totals_row[:-1] if row_totals else totals_row) if totals_row is not None else None,
        grand_total=totals_row[-1] if totals_row is not None and row_totals else None,
    )
