"""Calendar arithmetic for the definitions: calendar months clamped to the month end, English local dates."""

from __future__ import annotations

import calendar
import datetime as dt
from zoneinfo import ZoneInfo

from services.core.config import RuleConfig

LONDON = ZoneInfo("Europe/London")


def minus_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` calendar months earlier, clamped to month end (2024-02-29 -> 2023-02-28)."""
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
