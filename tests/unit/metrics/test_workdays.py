"""England working days: the shipped GOV.UK bank holidays, and counting and adding working days across them."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from services.core.workdays import (
    OutsideBankHolidayDataError,
    add_working_days,
    england_bank_holidays,
    is_working_day,
    working_days_between,
)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def easter_sunday(year: int) -> dt.date:
    """The Gregorian computus (Meeus/Jones/Butcher), independent of the shipped data."""
    a, b, c = year % 19, year // 100, year % 100
    h = (19 * a + b - b // 4 - (b - (b + 8) // 25 + 1) // 3 + 15) % 30
    i, k = c // 4, c % 4
    l_ = (32 + 2 * (b % 4) + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    return dt.date(year, (h + l_ - 7 * m + 114) // 31, (h + l_ - 7 * m + 114) % 31 + 1)


def test_the_data_covers_2013_to_2030_with_eight_holidays_a_year_and_the_royal_extras() -> None:
    holidays = england_bank_holidays()
    per_year = Counter(day.year for day in holidays.days)

    assert (holidays.first_day, holidays.last_day) == (d("2013-01-01"), d("2030-12-31"))
    assert set(per_year) == set(range(2013, 2031))
    assert {year: n for year, n in per_year.items() if n != 8} == {2022: 10, 2023: 9}


def test_good_friday_and_easter_monday_follow_easter_every_year() -> None:
    days = england_bank_holidays().days
    for year in range(2013, 2031):
        easter = easter_sunday(year)
        assert easter - dt.timedelta(days=2) in days, year
        assert easter + dt.timedelta(days=1) in days, year
    assert easter_sunday(2024) == d("2024-03-31")
    assert easter_sunday(2025) == d("2025-04-20")


@pytest.mark.parametrize(
    ("day", "why"),
    [
        ("2020-05-08", "early May bank holiday moved to Friday for the 75th anniversary of VE day"),
        ("2022-06-02", "spring bank holiday moved to Thursday for the Platinum Jubilee"),
        ("2022-06-03", "Platinum Jubilee bank holiday"),
        ("2022-09-19", "state funeral of Queen Elizabeth II"),
        ("2023-05-08", "coronation of King Charles III"),
        ("2016-12-27", "Christmas Day on a Sunday: substitute Tuesday"),
        ("2017-01-02", "New Year's Day on a Sunday: substitute Monday"),
        ("2020-12-28", "Boxing Day on a Saturday: substitute Monday"),
        ("2021-12-27", "Christmas Day on a Saturday: substitute Monday"),
        ("2021-12-28", "Boxing Day on a Sunday: substitute Tuesday"),
        ("2022-01-03", "New Year's Day on a Saturday: substitute Monday"),
        ("2022-12-27", "Christmas Day on a Sunday: substitute Tuesday"),
        ("2026-12-28", "Boxing Day on a Saturday: substitute Monday"),
    ],
)
def test_moved_extra_and_substitute_days_are_bank_holidays(day: str, why: str) -> None:
    assert d(day) in england_bank_holidays().days, why


@pytest.mark.parametrize(
    "day",
    ["2020-05-04", "2022-05-30", "2021-12-25", "2022-01-01", "2016-12-25"],
    ids=["VE day year first Monday", "jubilee year last Monday of May", "weekend Christmas", "weekend NYD", "Sunday"],
)
def test_days_moved_away_from_or_falling_on_weekends_are_not_listed(day: str) -> None:
    assert d(day) not in england_bank_holidays().days


def test_weekends_and_bank_holidays_are_not_working_days() -> None:
    assert is_working_day(d("2025-05-20"))
    assert not is_working_day(d("2025-05-24"))  # Saturday
    assert not is_working_day(d("2025-05-26"))  # spring bank holiday


def test_2024_has_254_working_days() -> None:
    assert working_days_between(d("2023-12-31"), d("2024-12-31")) == 262 - 8


def test_the_45th_working_day_after_new_years_day_2024_skips_the_holiday_itself() -> None:
    assert add_working_days(d("2024-01-01"), 45) == d("2024-03-04")


def test_counting_back_45_working_days_crosses_easter_and_two_may_bank_holidays() -> None:
    # 20 May 2025 back past 5 May, Easter Monday 21 April and Good Friday 18 April.
    assert add_working_days(d("2025-05-20"), -45) == d("2025-03-13")
    assert add_working_days(d("2025-03-12"), 45) == d("2025-05-19")
    assert add_working_days(d("2025-03-13"), 45) == d("2025-05-20")


def test_adding_from_a_weekend_starts_counting_on_the_next_working_day() -> None:
    assert add_working_days(d("2025-05-24"), 1) == d("2025-05-27")  # Saturday, then spring bank holiday Monday
    assert add_working_days(d("2025-05-24"), -1) == d("2025-05-23")
    assert add_working_days(d("2025-05-24"), 0) == d("2025-05-24")


def test_counting_between_is_the_inverse_of_adding() -> None:
    start = d("2022-05-27")
    for n in (1, 5, 45, 300):
        assert working_days_between(start, add_working_days(start, n)) == n


def test_dates_beyond_the_shipped_data_are_an_error_not_a_guess() -> None:
    with pytest.raises(OutsideBankHolidayDataError):
        is_working_day(d("2031-01-02"))
    with pytest.raises(OutsideBankHolidayDataError):
        add_working_days(d("2030-12-20"), 45)
