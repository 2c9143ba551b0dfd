"""A child's window counts, as runs of months, say for each month whether the child falls in that month's window."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from services.core.windows import Pattern, add_window_totals, month_name, window_counts

FIRST = 2024 * 12 + 3  # April 2024: the months drawn span several reporting years


def _year_end(index: int) -> int:
    """March of the reporting year (April to March) holding month `index`."""
    year, month = divmod(index, 12)
    return (year + (1 if month >= 3 else 0)) * 12 + 2


@st.composite
def patterns(draw: st.DrawFn) -> Pattern:
    months = draw(st.lists(st.integers(FIRST, FIRST + 40), min_size=1, max_size=6, unique=True))
    return tuple((m, draw(st.booleans()), draw(st.booleans())) for m in sorted(months))


def _expected(pattern: Pattern) -> dict[tuple[str, str, str], int]:
    """Month by month: is a referral (or a re-referral, or a second in six months) inside the month's window?"""
    expected: dict[tuple[str, str, str], int] = {}
    for month in range(FIRST, FIRST + 60):
        inside = {
            "": [(m, r) for m, r, _ in pattern if m == month],
            "_r12": [(m, r) for m, r, _ in pattern if month - 11 <= m <= month],
            "_ytd": [(m, r) for m, r, _ in pattern if m <= month <= _year_end(m)],
        }
        for suffix, found in inside.items():
            if found:
                expected[(month_name(month), f"children_referred{suffix}", "")] = 1
                expected[(month_name(month), f"children_rereferred{suffix}", "")] = int(any(r for _, r in found))
        if any(month - 5 <= m <= month for m, _, second in pattern if second):
            expected[(month_name(month), "children_two_referrals_r6", "")] = 1
    return expected


@settings(max_examples=200, deadline=None)
@given(pattern=patterns())
def test_a_child_counts_once_in_each_month_whose_window_holds_one_of_its_referrals(pattern: Pattern) -> None:
    assert window_counts(pattern) == _expected(pattern)


@settings(max_examples=100, deadline=None)
@given(children=st.lists(patterns(), min_size=1, max_size=8))
def test_a_councils_window_totals_are_its_childrens_window_counts_summed_without_zeros(
    children: list[Pattern],
) -> None:
    summed: Counter[tuple[str, str, str]] = Counter()
    for pattern in children:
        summed.update(window_counts(pattern))
    totals: dict[tuple[str, str, str], int] = {}

    add_window_totals(Counter(children), totals)

    assert totals == +summed
