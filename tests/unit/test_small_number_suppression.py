"""Small-number suppression: 1 to 4 hidden, shown cells true, and no hidden cell recoverable from the totals."""

from __future__ import annotations

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from services.reports.suppression import (
    SUPPRESSED,
    SuppressedTable,
    extended,
    lines,
    shown_count,
    shown_rate,
    suppress_table,
)

SMALL_HEAVY = st.sampled_from([0, 0, 1, 2, 3, 4, 5, 6, 9, 12, 30, 100])
TABLES = st.integers(1, 6).flatmap(
    lambda columns: st.lists(st.lists(SMALL_HEAVY, min_size=columns, max_size=columns), min_size=1, max_size=6)
)
MARGINS = st.sampled_from([(True, True), (True, False), (False, True)])


def published(table: SuppressedTable, row_totals: bool, column_totals: bool) -> list[list[object]]:
    """The published table laid out like `extended`: body, then the total column and total row."""
    grid: list[list[object]] = [list(row) for row in table.cells]
    if row_totals:
        grid = [[*row, total] for row, total in zip(grid, table.row_totals or [], strict=True)]
    if column_totals:
        grid.append([*(table.column_totals or []), *([table.grand_total] if row_totals else [])])
    return grid


def recoverable(grid: list[list[object]], row_totals: bool, column_totals: bool) -> set[tuple[int, int]]:
    """Hidden cells fixed by the published additions, by an independent check: numpy's matrix rank.

    A hidden cell is fixed exactly when adding its unit vector to the additions' matrix over the hidden cells
    does not raise the rank (the unit vector is a combination of the additions).
    """
    hidden = [(r, c) for r, row in enumerate(grid) for c, value in enumerate(row) if value == SUPPRESSED]
    constraints = lines((len(grid), len(grid[0])), row_totals, column_totals)
    matrix = np.array([[1.0 if cell in line else 0.0 for cell in hidden] for line in constraints]).reshape(
        len(constraints), len(hidden)
    )
    rank = np.linalg.matrix_rank(matrix) if matrix.size else 0
    fixed = set()
    for index, cell in enumerate(hidden):
        unit = np.zeros((1, len(hidden)))
        unit[0, index] = 1.0
        if np.linalg.matrix_rank(np.vstack([matrix, unit])) == rank:
            fixed.add(cell)
    return fixed


@settings(max_examples=300, deadline=None)
@given(TABLES, MARGINS)
def test_no_suppressed_cell_can_be_worked_out_from_the_published_cells_and_totals(
    counts: list[list[int]], margins: tuple[bool, bool]
) -> None:
    row_totals, column_totals = margins
    grid = published(suppress_table(counts, row_totals=row_totals, column_totals=column_totals), *margins)

    assert recoverable(grid, row_totals, column_totals) == set()


@settings(max_examples=300, deadline=None)
@given(TABLES, MARGINS)
def test_every_count_from_one_to_four_is_hidden_and_every_shown_cell_is_the_true_count(
    counts: list[list[int]], margins: tuple[bool, bool]
) -> None:
    truth = extended(counts, *margins)
    grid = published(suppress_table(counts, row_totals=margins[0], column_totals=margins[1]), *margins)

    for true_row, shown_row in zip(truth, grid, strict=True):
        for true, shown in zip(true_row, shown_row, strict=True):
            assert shown in (true, SUPPRESSED)
            if 1 <= true <= 4:
                assert shown == SUPPRESSED


def test_a_lone_small_count_in_a_row_hides_a_second_cell_so_the_row_total_cannot_give_it_away() -> None:
    table = suppress_table([[10, 3, 20], [15, 12, 8], [9, 30, 40]])

    assert table.cells[0][1] == SUPPRESSED
    assert sum(cell == SUPPRESSED for cell in table.cells[0]) >= 2
    assert sum(row[1] == SUPPRESSED for row in table.cells) >= 2
    assert table.grand_total == 147


def test_a_column_with_only_a_total_hides_two_cells_when_one_is_small() -> None:
    table = suppress_table([[10], [3], [20]], row_totals=False, column_totals=True)

    assert table.cells == [[SUPPRESSED], [SUPPRESSED], [20]]
    assert table.column_totals == [33]


def test_zero_is_shown_and_one_to_four_are_not() -> None:
    assert [shown_count(n) for n in (0, 1, 4, 5)] == [0, SUPPRESSED, SUPPRESSED, 5]


def test_a_rate_is_hidden_when_its_denominator_is_under_ten_or_its_numerator_is_suppressed() -> None:
    assert shown_rate(5, 9, 0.555556) is None
    assert shown_rate(SUPPRESSED, 40, 0.075) is None
    assert shown_rate(6, 10, 0.6) == 0.6
    assert shown_rate(0, 12, 0.0) == 0.0


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(SMALL_HEAVY, min_size=3, max_size=3), min_size=6, max_size=6))
@example([[0, 0, 0], [0, 0, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0], [0, 0, 5]])  # a quarter given away by the other
def test_months_by_need_with_quarter_subtotals_leave_no_hidden_cell_recoverable_from_any_table(
    counts: list[list[int]],
) -> None:
    from services.reports.pack_cells import by_need_with_quarters  # noqa: PLC0415

    table, quarters = by_need_with_quarters(counts, [[0, 1, 2], [3, 4, 5]])
    # Every published number as an unknown (hidden) or a constant, and every addition between them.
    grid = [[*row, total] for row, total in zip(table.cells, table.row_totals or [], strict=True)]
    grid.append([*(table.column_totals or []), table.grand_total])
    cells = {(r, c): v for r, row in enumerate(grid) for c, v in enumerate(row)}
    cells |= {(7 + k, 3): v for k, v in enumerate(quarters)}
    additions = [[(r, c) for c in range(4)] for r in range(7)] + [[(r, c) for r in range(7)] for c in range(4)]
    additions += [[(0, 3), (1, 3), (2, 3), (7, 3)], [(3, 3), (4, 3), (5, 3), (8, 3)]]
    hidden = [cell for cell, v in cells.items() if v == SUPPRESSED]
    matrix = np.array([[1.0 if cell in line else 0.0 for cell in hidden] for line in additions]).reshape(
        len(additions), len(hidden)
    )
    rank = np.linalg.matrix_rank(matrix) if matrix.size else 0
    for index in range(len(hidden)):
        unit = np.zeros((1, len(hidden)))
        unit[0, index] = 1.0
        assert np.linalg.matrix_rank(np.vstack([matrix, unit])) > rank, hidden[index]
    truth = [sum(row) for row in counts]
    assert quarters[0] in (sum(truth[:3]), SUPPRESSED)


def test_a_small_quarter_that_the_years_total_minus_the_other_quarter_gives_away_is_protected() -> None:
    from services.reports.pack_cells import by_need_with_quarters  # noqa: PLC0415

    # Found by the property test above: every month of the first quarter hidden, its total of 1 was still the
    # year's 6 minus the second quarter's 5. The second quarter has to be hidden too.
    counts = [[0, 0, 0], [0, 0, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0], [0, 0, 5]]

    table, quarters = by_need_with_quarters(counts, [[0, 1, 2], [3, 4, 5]])

    assert quarters == [SUPPRESSED, SUPPRESSED]
    assert table.grand_total == 6
    assert table.cells[2][2] == SUPPRESSED
