"""The monthly series as OpenMetrics for `promtool tsdb create-blocks-from openmetrics`: the boards' history.

Each council's month is one sample per key, stamped at 00:00 UTC on the month's last day, so a range query with
a one-day step from a midnight start meets every month once (Prometheus looks back 5 minutes from each step).
Counts go in `frontdoor_monthly_count`, rates (fractions) in `frontdoor_monthly_ratio`; the `measure` label is a
series key, named in code. Keys whose names carry data (a closing team's name) are left out. The live worker
exposes the current month under the same names and keys (services.metrics.collector), so a trend carries on.

Only complete months are written: a month whose last day has not ended at `complete_before` would be stamped in
the future, and one block reaching past "now" makes Prometheus refuse every scraped sample after it ("out of
bounds") until that time comes. Found when the demo backfilled a history that ended today.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

from services.core.series import RATES, Row
from services.metrics import metrics as m

COUNT_METRIC = m.MONTHLY_COUNT.name  # the names the worker's collector carries the current month on
RATIO_METRIC = m.MONTHLY_RATIO.name
DATA_NAMED_PREFIXES = ("rereferrals_previous_team_",)
SECONDS_PER_DAY = 86_400


def month_end_timestamp(month: str) -> int:
    """Seconds since the epoch at 00:00 UTC on the last day of "YYYY-MM"."""
    year, number = int(month[:4]), int(month[5:7])
    last = dt.datetime(year, number, calendar.monthrange(year, number)[1], tzinfo=dt.UTC)
    return int(last.timestamp())


def backfilled_keys(row: Row) -> list[str]:
    """The keys of a month row that go into Prometheus: every count and rate except data-named ones."""
    return [
        key
        for key, value in row.items()
        if key not in ("la_code", "month") and not key.startswith(DATA_NAMED_PREFIXES) and _numeric(key, value)
    ]


def _numeric(key: str, value: object) -> bool:
    return key in RATES or (isinstance(value, int) and not isinstance(value, bool))


def is_complete(month: str, complete_before: dt.datetime) -> bool:
    """True when the month's last day has ended by `complete_before` (an aware time)."""
    return month_end_timestamp(month) + SECONDS_PER_DAY <= complete_before.timestamp()


def openmetrics(series: Mapping[str, Sequence[Row]], complete_before: dt.datetime) -> str:
    """council -> its monthly rows, as one OpenMetrics text; a family's samples in time order, as promtool needs.

    Months not complete at `complete_before` (the current one) are left out: the worker carries them live.
    """
    counts: list[str] = []
    ratios: list[str] = []
    for la_code, rows in sorted(series.items()):
        keys = sorted({key for row in rows for key in backfilled_keys(row)})
        for key in keys:
            target = ratios if key in RATES else counts
            metric = RATIO_METRIC if key in RATES else COUNT_METRIC
            for row in rows:
                value = row.get(key)
                if value is None or not is_complete(str(row["month"]), complete_before):
                    continue
                stamp = month_end_timestamp(str(row["month"]))
                target.append(f'{metric}{{la_code="{la_code}",measure="{key}"}} {value} {stamp}')
    return "\n".join(
        _family(COUNT_METRIC, m.MONTHLY_COUNT.documentation, counts)
        + _family(RATIO_METRIC, m.MONTHLY_RATIO.documentation, ratios)
    ) + ("\n# EOF\n")


def _family(name: str, help_text: str, samples: Iterable[str]) -> list[str]:
    lines = list(samples)
    return [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", *lines] if lines else []
