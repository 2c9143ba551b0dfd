"""A child's counts over windows of months (children referred, rolling 12 months, year to date, two in six).

A child counts once in each window it falls in, so these counts are not additive over referrals. They depend
only on the months the child was referred in and, per month, whether one of those referrals was a re-referral or
a second referral within six months: that `Pattern` is all they read. Children share far fewer patterns than
histories, so a council's windows are worked out once per pattern and multiplied by the children that have it.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Mapping
from functools import cache, lru_cache

from services.core.indicators import reporting_year_start

AggregateKey = tuple[str, str, str]
Pattern = tuple[tuple[int, bool, bool], ...]  # (month index, a re-referral that month, a second in six months)
WINDOW_MEASURES = (
    "children_referred",  # 1 in each month the child was referred
    "children_rereferred",  # 1 in each month the child was re-referred (0 when referred but not re-referred)
    "children_referred_r12",  # month = end of a rolling 12 months in which the child was referred
    "children_rereferred_r12",
    "children_referred_ytd",  # month = a month of the reporting year; referred since 1 April up to its end
    "children_rereferred_ytd",
    "children_two_referrals_r6",  # month M: a referral in M-5..M had a previous referral within the window
)
_MONTH_NAMES: dict[int, str] = {}  # month index (year * 12 + month - 1) -> "YYYY-MM"; a few hundred at most


def month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def month_name(index: int) -> str:
    name = _MONTH_NAMES.get(index)
    if name is None:
        name = _MONTH_NAMES[index] = f"{index // 12:04d}-{index % 12 + 1:02d}"
    return name


Span = tuple[int, int, int]  # (position in WINDOW_MEASURES, first month index, last month index)


def pattern_of(referrals: Iterable[tuple[dt.date, bool, bool]]) -> Pattern:
    """A child's referrals (date, re-referral, second in six months) reduced to what its windows read."""
    months: dict[int, tuple[bool, bool]] = {}
    for day, rereferral, second in referrals:
        index = day.year * 12 + day.month - 1  # month_index, inline on the hot path
        was = months.get(index)
        months[index] = (rereferral, second) if was is None else (was[0] or rereferral, was[1] or second)
    if len(months) == 1:  # the usual case: one month, nothing to sort
        ((index, (rereferral, second)),) = months.items()
        return ((index, rereferral, second),)
    return tuple(sorted((index, flags[0], flags[1]) for index, flags in months.items()))


def _year_end(index: int) -> int:
    """The month index of March, the last month of the reporting year holding month `index`."""
    start = reporting_year_start(dt.date(index // 12, index % 12 + 1, 1))
    return (start.year + 1) * 12 + 2


# Per measure of WINDOW_MEASURES, in order: which of the child's referral months open a window (all of them, those
# with a re-referral, those with a second referral in six months) and the window's last month from its first.
_ALL, _REREFERRED, _SECOND = 0, 1, 2
_WINDOWS: tuple[tuple[int, Callable[[int], int]], ...] = (
    (_ALL, lambda index: index),  # children_referred: the month itself
    (_REREFERRED, lambda index: index),
    (_ALL, lambda index: index + 11),  # rolling 12 months: windows ending in this month and the next 11
    (_REREFERRED, lambda index: index + 11),
    (_ALL, _year_end),  # year to date: every month from this one to the reporting year's March
    (_REREFERRED, _year_end),
    (_SECOND, lambda index: index + 5),  # two referrals in six months: windows ending here and the next 5
)
_REFERRED_MEASURES = {0: 1, 2: 3, 4: 5}  # a "referred" measure's position -> its "re-referred" measure's


@lru_cache(maxsize=1 << 16)  # a few MB when full; children share few patterns
def window_spans(pattern: Pattern) -> tuple[Span, ...]:
    """The definition of the window counts: the runs of months in which a child with this pattern counts 1 under
    each of WINDOW_MEASURES (a child counts once in a window however many of its referrals fall in it)."""
    spans: list[Span] = []
    for position, (opens, last_of) in enumerate(_WINDOWS):
        run: list[int] | None = None  # [first, last] of the run being built
        for index, rereferred, second in pattern:
            if (opens == _REREFERRED and not rereferred) or (opens == _SECOND and not second):
                continue
            last = last_of(index)
            if run is not None and index <= run[1] + 1:  # overlaps or touches the run: one window of months
                run[1] = max(run[1], last)
                continue
            if run is not None:
                spans.append((position, run[0], run[1]))
            run = [index, last]
        if run is not None:
            spans.append((position, run[0], run[1]))
    return tuple(spans)


def window_counts(pattern: Pattern) -> dict[AggregateKey, int]:
    """Every window count of a child with this pattern: 1 per window it was referred in, and 1 or 0 re-referred."""
    counts: dict[AggregateKey, int] = {}
    keys = _window_keys
    for position, first, last in window_spans(pattern):  # the "referred" runs of a pair come before its other's
        rereferred = _REFERRED_MEASURES.get(position)
        for index in range(first, last + 1):
            if rereferred is not None:
                counts[keys(index)[rereferred]] = 0  # referred in the window: 0 unless a re-referral's run says 1
            counts[keys(index)[position]] = 1
    return counts


def add_window_totals(patterns: Mapping[Pattern, int], totals: dict[AggregateKey, int]) -> None:
    """Add to `totals` the window counts of `patterns`' children (pattern -> how many children have it).

    The same as adding each child's `window_counts`, with its 0s left out: each run of months adds its children
    at its first month and takes them away after its last, and the running sums are the counts.
    """
    changes: dict[tuple[int, int], int] = {}
    get = changes.get
    for pattern, children in patterns.items():
        for position, first, last in window_spans(pattern):
            changes[(position, first)] = get((position, first), 0) + children
            changes[(position, last + 1)] = get((position, last + 1), 0) - children
    level = 0  # children counted at the month being passed; each measure's last change brings it back to 0
    for ((position, index), change), ((next_position, next_index), _) in itertools.pairwise(sorted(changes.items())):
        level += change
        if level > 0 and next_position == position:
            for month in range(index, next_index):
                key = _window_keys(month)[position]
                totals[key] = totals.get(key, 0) + level


@cache  # one entry per month index: a few hundred at most
def _window_keys(index: int) -> tuple[AggregateKey, ...]:
    """The month's key of each of WINDOW_MEASURES, in their order."""
    return tuple((month_name(index), measure, "") for measure in WINDOW_MEASURES)


@lru_cache(maxsize=4096)  # about 30 MB when full; the live worker meets the same few thousand patterns again
def child_windows(pattern: Pattern) -> dict[AggregateKey, int]:
    """`window_counts`, remembered: the caller copies it and must not change it."""
    return window_counts(pattern)
