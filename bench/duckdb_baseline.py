"""The baseline: the C1 re-referral figures computed by one DuckDB query over the referral table.

A referral is one (council, child, date); same-day records collapse, and a day is NFA if any of its records
is. It is a re-referral if the child's previous distinct referral date in the same council is on or after
the date minus 12 calendar months (clamped to month end). With distinct sorted dates, "some earlier date in
[date - 12 months, date)" is the same as "the latest earlier date is in it", so LAG is enough.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

FIELDS = ("referrals", "rereferrals", "children_referred", "children_rereferred", "nfa_referrals")
# Typed columns: la_code "201" must stay text, as it is in the events. File names are always parameters.
LOAD_CSV = (
    "CREATE TABLE records AS SELECT * FROM read_csv(?, header=true, columns="
    "{'la_code': 'VARCHAR', 'child_key': 'VARCHAR', 'referral_date': 'DATE', 'nfa': 'BOOLEAN'})"
)
LOAD_PARQUET = "CREATE TABLE records AS SELECT * FROM read_parquet(?)"
CSV_TO_PARQUET = (
    "COPY (SELECT * FROM read_csv(?, header=true, columns="
    "{'la_code': 'VARCHAR', 'child_key': 'VARCHAR', 'referral_date': 'DATE', 'nfa': 'BOOLEAN'})) TO ? (FORMAT parquet)"
)

# Calendar months clamped to month end, written out, for a DuckDB whose interval arithmetic does not clamp.
CLAMPED_MINUS_MONTHS = """
CREATE OR REPLACE MACRO minus_months(d, n) AS make_date(
    (year(d) * 12 + month(d) - 1 - n) // 12,
    (year(d) * 12 + month(d) - 1 - n) % 12 + 1,
    least(day(d), day(last_day(make_date((year(d) * 12 + month(d) - 1 - n) // 12,
                                         (year(d) * 12 + month(d) - 1 - n) % 12 + 1, 1)))))
"""
INTERVAL_MINUS_MONTHS = "CREATE OR REPLACE MACRO minus_months(d, n) AS CAST(d - to_months(n) AS DATE)"


# One row per referral (council, child, date), flagged: re-referral within 12 calendar months, second within 6.
FLAG_REFERRALS = """
CREATE TABLE referrals AS
WITH days AS (
    SELECT la_code, child_key, referral_date, bool_or(nfa) AS nfa, count(*) AS records,
           lag(referral_date) OVER (PARTITION BY la_code, child_key ORDER BY referral_date) AS previous_date
    FROM records GROUP BY la_code, child_key, referral_date
)
SELECT *,
       coalesce(previous_date >= minus_months(referral_date, 12), false) AS rereferral,
       coalesce(previous_date >= minus_months(referral_date, 6), false) AS within_6_months
FROM days
"""
MONTHLY = """
SELECT la_code, strftime(referral_date, '%Y-%m') AS month,
       count(*) AS referrals,
       count(*) FILTER (WHERE rereferral) AS rereferrals,
       count(DISTINCT child_key) AS children_referred,
       count(DISTINCT child_key) FILTER (WHERE rereferral) AS children_rereferred,
       count(*) FILTER (WHERE nfa) AS nfa_referrals
FROM referrals GROUP BY ALL
"""


@dataclass(frozen=True, slots=True)
class Monthly:
    """One timed DuckDB run of the C1 monthly flags: (council, "YYYY-MM") -> figures, and the rows it read."""

    seconds: float
    rows: int
    figures: dict[tuple[str, str], dict[str, int]]


def monthly(path: Path, threads: int | None = None) -> Monthly:
    """Load the referral table, flag every referral and count each council's months; timed connect to last row."""
    started = time.perf_counter()
    con = duckdb.connect(config={"threads": threads} if threads else {})
    con.execute(INTERVAL_MINUS_MONTHS if interval_clamps_to_month_end(con) else CLAMPED_MINUS_MONTHS)
    con.execute(LOAD_PARQUET if path.suffix == ".parquet" else LOAD_CSV, [str(path)])
    con.execute(FLAG_REFERRALS)
    found: list[tuple[Any, ...]] = con.execute(MONTHLY).fetchall()
    count = con.execute("SELECT count(*) FROM records").fetchone()
    seconds = time.perf_counter() - started
    con.close()
    figures = {(str(r[0]), str(r[1])): dict(zip(FIELDS, (int(v) for v in r[2:]), strict=True)) for r in found}
    return Monthly(seconds, int(count[0]) if count else 0, figures)


@dataclass(frozen=True, slots=True)
class Period:
    name: str
    start: dt.date
    end: dt.date


@dataclass(slots=True)
class Baseline:
    """What one timed DuckDB run produced: figures per period and council, and whole-history flag counts."""

    seconds: float
    rows: int
    by_council: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)  # period -> la -> figures
    whole_history: dict[str, int] = field(default_factory=dict)

    def totals(self, period: str) -> dict[str, int]:
        names = (*FIELDS, "same_day_collapsed")
        return {name: sum(c[name] for c in self.by_council[period].values()) for name in names}


def interval_clamps_to_month_end(con: duckdb.DuckDBPyConnection | None = None) -> bool:
    """DuckDB's `date - INTERVAL n MONTH` must give 2023-02-28 for 2024-02-29 minus 12, like docs/definitions.md."""
    row = (
        (con or duckdb.connect())
        .execute(
            "SELECT CAST(DATE '2024-02-29' - INTERVAL 12 MONTH AS DATE),"
            " CAST(DATE '2024-08-31' - INTERVAL 6 MONTH AS DATE)"
        )
        .fetchone()
    )
    return row == (dt.date(2023, 2, 28), dt.date(2024, 2, 29))


def run(path: Path, periods: list[Period], threads: int | None = None) -> Baseline:
    """Load the table from `path` and compute every period's figures; timed from connect to last result."""
    started = time.perf_counter()
    con = duckdb.connect(config={"threads": threads} if threads else {})
    con.execute(INTERVAL_MINUS_MONTHS if interval_clamps_to_month_end(con) else CLAMPED_MINUS_MONTHS)
    con.execute(LOAD_PARQUET if path.suffix == ".parquet" else LOAD_CSV, [str(path)])
    con.execute(FLAG_REFERRALS)
    rows = con.execute("SELECT count(*) FROM records").fetchone()
    result = Baseline(seconds=0.0, rows=int(rows[0]) if rows else 0)
    for period in periods:
        result.by_council[period.name] = _period(con, period)
    whole = con.execute(
        "SELECT count(*) FILTER (WHERE rereferral), count(*) FILTER (WHERE within_6_months) FROM referrals"
    ).fetchone()
    assert whole is not None
    result.whole_history = {"rereferral": int(whole[0]), "two_referrals_in_six_months": int(whole[1])}
    result.seconds = time.perf_counter() - started
    con.close()
    return result


def _period(con: duckdb.DuckDBPyConnection, period: Period) -> dict[str, dict[str, int]]:
    rows: list[tuple[Any, ...]] = con.execute(
        """
        SELECT la_code,
               count(*) AS referrals,
               count(*) FILTER (WHERE rereferral) AS rereferrals,
               count(DISTINCT child_key) AS children_referred,
               count(DISTINCT child_key) FILTER (WHERE rereferral) AS children_rereferred,
               count(*) FILTER (WHERE nfa) AS nfa_referrals,
               sum(records - 1) AS same_day_collapsed
        FROM referrals
        WHERE referral_date BETWEEN ? AND ?
        GROUP BY la_code
        """,
        [period.start, period.end],
    ).fetchall()
    names = (*FIELDS, "same_day_collapsed")
    return {str(row[0]): dict(zip(names, (int(v) for v in row[1:]), strict=True)) for row in rows}
