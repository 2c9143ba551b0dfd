"""The backfill writes complete months only: a sample stamped after "now" would make Prometheus refuse live scrapes."""

from __future__ import annotations

import datetime as dt

from services.core.series import Row
from services.metrics.backfill import COUNT_METRIC, month_end_timestamp, openmetrics


def months(*names: str) -> dict[str, list[Row]]:
    return {"942": [{"la_code": "942", "month": name, "referrals": 10 + n} for n, name in enumerate(names)]}


def stamped_months(text: str) -> list[int]:
    return [int(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(COUNT_METRIC + "{")]


def test_the_current_month_is_left_out_because_its_stamp_would_be_in_the_future() -> None:
    now = dt.datetime(2026, 12, 4, 23, 40, tzinfo=dt.UTC)
    text = openmetrics(months("2026-10", "2026-11", "2026-12"), complete_before=now)
    assert stamped_months(text) == [month_end_timestamp("2026-10"), month_end_timestamp("2026-11")]
    assert all(stamp < now.timestamp() for stamp in stamped_months(text))
    assert text.endswith("# EOF\n")


def test_a_month_is_written_once_its_last_day_has_ended() -> None:
    last_day_ends = dt.datetime(2026, 12, 1, 0, 0, tzinfo=dt.UTC)
    during_last_day = last_day_ends - dt.timedelta(minutes=1)
    assert stamped_months(openmetrics(months("2026-11"), complete_before=last_day_ends)) == [
        month_end_timestamp("2026-11")
    ]
    assert stamped_months(openmetrics(months("2026-11"), complete_before=during_last_day)) == []
