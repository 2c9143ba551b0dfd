"""ISO 8601 weeks (2024-W23, Monday to Sunday), as the weekly review meeting names them."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True, slots=True)
class IsoWeek:
    """An ISO 8601 week such as 2024-W23 (Monday to Sunday)."""

    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        match = _WEEK.match(text)
        if match is None:
            raise ValueError(f"not an ISO week (YYYY-Www): {text[:20]!r}")
        week = cls(int(match[1]), int(match[2]))
        week.monday  # noqa: B018  # validates the week number against the year
        return week

    @classmethod
    def of(cls, day: dt.date) -> IsoWeek:
        year, week, _ = day.isocalendar()
        return cls(year, week)

    @property
    def monday(self) -> dt.date:
        return dt.date.fromisocalendar(self.year, self.week, 1)

    @property
    def sunday(self) -> dt.date:
        return self.monday + dt.timedelta(days=6)

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"
