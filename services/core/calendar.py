"""Calendar arithmetic for the definitions: calendar months clamped to the month end, English local dates."""

from __future__ import annotations

import calendar
import datetime as dt
from zoneinfo import ZoneInfo

from services.core.config import RuleConfig

LONDON = ZoneInfo("Europe/London")


_MINUS_MONTHS: dict[tuple[dt.date, int], dt.date] = {}  # the rules ask about few distinct (day, months) pairs
_MINUS_MONTHS_LIMIT = 50_000  # a few MB at most; cleared, not evicted, when full


def minus_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` calendar months earlier, clamped to month end (2024-02-29 -> 2023-02-28)."""
    earlier = _MINUS_MONTHS.get((day, months))
    if earlier is None:
        if len(_MINUS_MONTHS) >= _MINUS_MONTHS_LIMIT:
            _MINUS_MONTHS.clear()
        earlier = _MINUS_MONTHS[(day, months)] = _minus_months(day, months)
    return earlier


def _minus_months(day: dt.date, months: int) -> dt.date:
    total = day.year * 12 + (day.month - 1) - months
    year, month0 = divmod(total, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return dt.date(year, month0 + 1, min(day.day, last))


def rereferral_window_start(day: dt.date, config: RuleConfig) -> dt.date:
    """Earliest date of a previous referral that makes `day`'s referral a re-referral (inclusive)."""
    if config.rereferral_window == "365d":
        return day - dt.timedelta(days=365)
    return minus_months(day, 12)


def local_date(moment: dt.datetime) -> dt.date:
    """The English calendar date of an instant, which is what council records and DfE returns use."""
    return moment.astimezone(LONDON).date()
