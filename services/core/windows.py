"""A child's counts over windows of months (children referred, rolling 12 months, year to date, two in six).

A child counts once in each window it falls in, so these counts are not additive over referrals. They depend
only on the months the child was referred in and, per month, whether one of those referrals was a re-referral or
a second referral within six months: that `Pattern` is all they read. Children share far fewer patterns than
histories, so a council's windows are worked out once per pattern and multiplied by the children that have it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
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


def pattern_of(days: Iterable[dt.date], rereferrals: Iterable[bool], two_in_six: Iterable[bool]) -> Pattern:
    """A child's referrals (dates, re-referral, second in six months) reduced to what its windows read."""
    months: dict[int, tuple[bool, bool]] = {}
    for day, rereferral, second in zip(days, rereferrals, two_in_six, strict=True):
        index = day.year * 12 + day.month - 1  # month_index, inline on the hot path
        was = months.get(index)
        months[index] = (rereferral, second) if was is None else (was[0] or rereferral, was[1] or second)
    return tuple(sorted((index, flags[0], flags[1]) for index, flags in months.items()))


def _year_end(index: int) -> int:
    """The month index of March, the last month of the reporting year holding month `index`."""
    start = reporting_year_start(dt.date(index // 12, index % 12 + 1, 1))
    return (start.year + 1) * 12 + 2


def window_counts(pattern: Pattern) -> dict[AggregateKey, int]:
    """Every window count of a child with this pattern: 1 per window it was referred in, and 1 or 0 re-referred."""
    r12: dict[int, bool] = {}  # month index -> re-referred in the rolling 12 months ending that month
    ytd: dict[int, bool] = {}
    six: set[int] = set()
    for first, rereferred, second in pattern:
        for month in range(first, first + 12):  # rolling windows ending in this month and the next 11
            r12[month] = r12.get(month, False) or rereferred
        for month in range(first, _year_end(first) + 1):
            ytd[month] = ytd.get(month, False) or rereferred
        if second:
            six.update(range(first, first + 6))
    counts: dict[AggregateKey, int] = {}
    keys = _window_keys
    for index, rereferred, _ in pattern:  # the month's own children: one each, re-referred if one referral was
        referred_key, rereferred_key = keys(index)[0:2]
        counts[referred_key] = 1
        counts[rereferred_key] = int(rereferred)
    for index, rereferred in r12.items():
        referred_key, rereferred_key = keys(index)[2:4]
        counts[referred_key] = 1
        counts[rereferred_key] = int(rereferred)
    for index, rereferred in ytd.items():
        referred_key, rereferred_key = keys(index)[4:6]
        counts[referred_key] = 1
        counts[rereferred_key] = int(rereferred)
    for index in sorted(six):
        counts[keys(index)[6]] = 1
    return counts


@cache  # one entry per month index: a few hundred at most
def _window_keys(index: int) -> tuple[AggregateKey, ...]:
    """The month's key of each of WINDOW_MEASURES, in their order."""
    return tuple((month_name(index), measure, "") for measure in WINDOW_MEASURES)


@lru_cache(maxsize=4096)  # about 30 MB when full; the live worker meets the same few thousand patterns again
def child_windows(pattern: Pattern) -> dict[AggregateKey, int]:
    """`window_counts`, remembered: the caller copies it and must not change it."""
    return window_counts(pattern)
