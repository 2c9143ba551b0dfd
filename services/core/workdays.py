"""England working days: Monday to Friday except England and Wales bank holidays, shipped as package data."""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import json
from dataclasses import dataclass
from importlib import resources

BANK_HOLIDAYS_FILE = "bank_holidays_england_wales.json"


class OutsideBankHolidayDataError(ValueError):
    """A date the shipped bank holiday list does not cover: the list must be extended, not guessed."""


@dataclass(frozen=True, slots=True)
class BankHolidays:
    """The England and Wales bank holidays between `first_day` and `last_day`, inclusive."""

    first_day: dt.date
    last_day: dt.date
    days: frozenset[dt.date]

    def covers(self, day: dt.date) -> bool:
        return self.first_day <= day <= self.last_day


def parse_bank_holidays(text: str) -> BankHolidays:
    document = json.loads(text)
    days = frozenset(dt.date.fromisoformat(event["date"]) for event in document["events"])
    return BankHolidays(
        first_day=dt.date.fromisoformat(document["first_day"]),
        last_day=dt.date.fromisoformat(document["last_day"]),
        days=days,
    )


@functools.cache
def england_bank_holidays() -> BankHolidays:
    """The shipped list (read once from package data, never from the network)."""
    text = resources.files(__package__).joinpath("data", BANK_HOLIDAYS_FILE).read_text(encoding="utf-8")
    return parse_bank_holidays(text)


@functools.cache
def _working_days(holidays: BankHolidays) -> tuple[dt.date, ...]:
    """Every working day the list covers, in order, so counting is a binary search."""
    day, last, out = holidays.first_day, holidays.last_day, []
    while day <= last:
        if day.weekday() < 5 and day not in holidays.days:
            out.append(day)
        day += dt.timedelta(days=1)
    return tuple(out)


def _check(day: dt.date, holidays: BankHolidays) -> None:
    if not holidays.covers(day):
        raise OutsideBankHolidayDataError(
            f"{day} is outside the bank holiday data ({holidays.first_day} to {holidays.last_day})"
        )


def is_working_day(day: dt.date, holidays: BankHolidays | None = None) -> bool:
    holidays = holidays or england_bank_holidays()
    _check(day, holidays)
    return day.weekday() < 5 and day not in holidays.days


def working_days_between(start: dt.date, end: dt.date, holidays: BankHolidays | None = None) -> int:
    """Working days after `start` up to and including `end` (negative when `end` is before `start`)."""
    holidays = holidays or england_bank_holidays()
    _check(start, holidays)
    _check(end, holidays)
    days = _working_days(holidays)
    return bisect.bisect_right(days, end) - bisect.bisect_right(days, start)


def add_working_days(day: dt.date, count: int, holidays: BankHolidays | None = None) -> dt.date:
    """The `count`-th working day after `day` (before it when `count` is negative); `day` itself never counts.

    An assessment started on `day` is due by `add_working_days(day, 45)`, and is overdue on any later date.
    """
    holidays = holidays or england_bank_holidays()
    _check(day, holidays)
    if count == 0:
        return day
    days = _working_days(holidays)
    # Forward: the first working day after `day` is index bisect_right; backward: the last before is bisect_left - 1.
    index = bisect.bisect_right(days, day) + count - 1 if count > 0 else bisect.bisect_left(days, day) + count
    if not 0 <= index < len(days):
        raise OutsideBankHolidayDataError(f"{count} working days from {day} leaves the bank holiday data")
    return days[index]
