"""`report --by`: each council's series with its benchmarks, and a second definition side by side (what-if)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from services.core.indicators import reporting_year_start
from services.core.series import RATES, Period, Row, series_by
from services.metrics.benchmarks import ENGLAND, NEIGHBOURS, REGION, BenchmarkPoint, Benchmarks
from services.reference.neighbours import statistical_neighbours
from services.reports.history import CouncilReplay

BENCHMARK_AREAS = (ENGLAND, REGION, NEIGHBOURS)
BENCHMARK_FIGURES = (
    "rereferral",
    "child_rereferral",
    "referral_nfa",
    "assessed_not_in_need",
    "cpp_second_or_subsequent",
    "icpc_within_15_days",
)
PLURAL: dict[Period, str] = {"month": "months", "quarter": "quarters", "year": "years"}


def reporting_year(row: Row, period: Period) -> int:
    """The DfE year (ending 31 March) a row falls in: a quarter by its last month, a year "2024-25" -> 2025."""
    name = str(row[period])
    if period == "year":
        return int(name[:4]) + 1
    month = int(name[5:7]) if period == "month" else int(name[-1]) * 3
    return reporting_year_start(dt.date(int(name[:4]), month, 1)).year + 1


def benchmark_columns(points: Sequence[BenchmarkPoint], year: int) -> Row:
    """`<figure>_<area>` fractions from the latest published year up to `year`, and that year."""
    published = sorted({p.year for p in points if p.year <= year})
    shown = published[-1] if published else None
    row: Row = {"benchmark_year": shown}
    values = {(p.figure, p.area): p.value for p in points if p.year == shown}
    for figure in BENCHMARK_FIGURES:
        for area in BENCHMARK_AREAS:
            row[f"{figure}_{area}"] = values.get((figure, area))
    return row


def council_rows(
    la_code: str, totals: Mapping[tuple[str, str, str], int], period: Period, points: Sequence[BenchmarkPoint]
) -> list[Row]:
    rows = []
    by_year: dict[int, Row] = {}  # the benchmark columns of each reporting year: worked out once, not per row
    for row in series_by(totals, period):
        year = reporting_year(row, period)
        if year not in by_year:
            by_year[year] = benchmark_columns(points, year)
        rows.append({"la_code": la_code} | row | by_year[year])
    return rows


def differences(base: Sequence[Row], other: Sequence[Row], period: Period) -> list[Row]:
    """Per period, other minus base for every count and rate (a rate's difference in fraction points)."""
    out: list[Row] = []
    for a, b in zip(base, other, strict=True):
        row: Row = {"la_code": a["la_code"], period: a[period]}
        for key, value in a.items():
            other_value = b.get(key)
            if key in ("la_code", period, "benchmark_year") or _benchmark(key):
                continue
            if isinstance(value, int | float) and isinstance(other_value, int | float):
                row[key] = round(other_value - value, 6) if key in RATES else other_value - value
            else:
                row[key] = None
        out.append(row)
    return out


def _benchmark(key: str) -> bool:
    return key.endswith(tuple(f"_{area}" for area in BENCHMARK_AREAS))


def series_document(
    replays: Mapping[str, CouncilReplay],
    period: Period,
    neighbours: Mapping[str, Sequence[str]],
    compare_label: str | None = None,
) -> dict[str, Any]:
    """The JSON document `report --by` prints: one row per council and period; with a comparison, its rows too.

    `neighbours` overrides a council's statistical neighbours (default: DfE's 2025 model).
    """
    benchmarks = Benchmarks()
    plural = PLURAL[period]
    councils: dict[str, Any] = {}
    base: list[Row] = []
    other: list[Row] = []
    for la_code, replay in sorted(replays.items()):
        peers = statistical_neighbours(la_code, neighbours.get(la_code, ()))
        points = benchmarks.with_c4(la_code, peers)
        councils[la_code] = {"statistical_neighbours": list(peers), "events": replay.events}
        base += council_rows(la_code, replay.totals[0], period, points)
        if compare_label is not None:
            other += council_rows(la_code, replay.totals[1], period, points)
    base, other = _same_keys(base), _same_keys(other)
    rejected = sum(len(r.rejected) for r in replays.values())
    document: dict[str, Any] = {"by": period, "councils": councils, "rejected": rejected, plural: base}
    if compare_label is not None:
        document["compare"] = {"rules": compare_label, plural: other, "differences": differences(base, other, period)}
    return document


def _same_keys(rows: list[Row]) -> list[Row]:
    """Every row with every key: a count only some rows have (a closing team's re-referrals) is 0 in the rest."""
    names = columns(rows)
    return [{name: row.get(name, 0) for name in names} for row in rows]


def table_rows(document: Mapping[str, Any]) -> list[Row]:
    """The document as one table (CSV, XLSX): its rows; with a comparison, a `definition` column says whose."""
    plural = PLURAL[document["by"]]
    if "compare" not in document:
        return list(document[plural])
    compare = document["compare"]
    return [
        *({"definition": "base"} | row for row in document[plural]),
        *({"definition": "compare"} | row for row in compare[plural]),
        *({"definition": "difference"} | row for row in compare["differences"]),
    ]


def columns(rows: Sequence[Row]) -> list[str]:
    """Every key of every row, in first-seen order (team names differ between councils and months)."""
    return list(dict.fromkeys(key for row in rows for key in row))


def council_months(document: Mapping[str, Any]) -> dict[str, list[Row]]:
    """council -> its rows of a `--by month` document (the base definition's)."""
    out: dict[str, list[Row]] = {}
    for row in document["months"]:
        out.setdefault(str(row["la_code"]), []).append(row)
    return out
