"""The pack's headline sections (re-referrals, repeat CP plans) and the helpers every section uses to suppress."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from services.core.rag import RED_MARGIN
from services.core.series import Row
from services.reports import commentary as say
from services.reports.pack_cells import SharedCounts
from services.reports.pack_model import (
    INDICATORS,
    Chart,
    Column,
    Indicator,
    QuarterStatus,
    Section,
    Table,
    Value,
    target_for,
)
from services.reports.suppression import SuppressedTable, shown_count, shown_rate, suppress_table

TOTAL = "Period total"
COUNT_TITLES = {
    "referrals": "Referrals",
    "rereferrals": "Re-referrals",
    "contacts": "Contacts",
    "funnel_referred": "Became referrals",
    "funnel_assessed": "Assessed",
}


def count_of(row: Row, key: str) -> int:
    return int(row.get(key) or 0)


def fraction_of(row: Row, key: str) -> float | None:
    value = row.get(key)
    return float(value) if isinstance(value, int | float) else None


def numbers(rows: Sequence[Sequence[Value]], column: int) -> list[float | None]:
    """A column as a chart series: numbers as they are, anything not shown ("c", None, a label) as a gap."""
    return [float(v) if isinstance(v, int | float) else None for v in (row[column] for row in rows)]


def counts_with_total(rows: Sequence[Row], keys: Sequence[str]) -> SuppressedTable:
    """Each key as a column of counts, one row per series row, with a published total row."""
    return suppress_table([[count_of(row, key) for key in keys] for row in rows], row_totals=False, column_totals=True)


def rate_of(numerator: Value, denominator: Value, n: int, d: int) -> float | None:
    """The rate of two published counts by the series' rule (n / d, 6 places); hidden as `shown_rate` says."""
    exact = round(n / d, 6) if d > 0 else None
    if not isinstance(numerator, int) or not isinstance(denominator, int):  # "c" (or not a count): not shown
        return None
    return shown_rate(numerator, denominator, exact)


def rag_table(indicator: Indicator, quarters: Sequence[QuarterStatus]) -> Table:
    """The indicator's complete quarters in the period: counts and rate as published, target, RAG."""
    side = "above" if indicator.better == "lower" else "below"
    return Table(
        f"{indicator.title} by quarter against target (RAG)",
        [
            Column("Quarter", "label", "quarter"),
            Column(COUNT_TITLES[indicator.denominator], "count", indicator.denominator),
            Column(COUNT_TITLES[indicator.numerator], "count", indicator.numerator),
            Column("Rate", "rate", indicator.rate),
            Column("Target", "rate"),
            Column("Difference (points)", "points"),
            Column("RAG", "rag"),
        ],
        [
            [
                q.quarter,
                q.denominator,
                q.numerator,
                q.rate,
                q.target,
                _difference(q),
                q.status.value if q.status else None,
            ]
            for q in quarters
        ],
        f"Complete calendar quarters only. Green: on target or better; amber: up to {RED_MARGIN * 100:g} points "
        f"{side}; red: beyond.",
    )


def _difference(quarter: QuarterStatus) -> float | None:
    if quarter.rate is None or quarter.target is None:
        return None
    return round(quarter.rate - quarter.target, 6)


def rereferral_section(
    months: Sequence[Row], shared: SharedCounts, quarters: Sequence[QuarterStatus], targets: Mapping[str, Any]
) -> Section:
    indicator = INDICATORS[0]
    referral_cells = shared.by_need.row_totals or []
    columns = [
        Column("Month", "label", "month"),
        Column("Referrals", "count", "referrals"),
        Column("Re-referrals", "count", "rereferrals"),
        Column("Rate", "rate", "rereferral_rate"),
        Column("Rolling 12 months", "rate", "rereferral_rate_r12"),
        Column("Children, rolling 12 months", "rate", "children_rereferral_rate_r12"),
        Column("England", "rate", "rereferral_england"),
        Column("Region", "rate", "rereferral_region"),
        Column("Statistical neighbours", "rate", "rereferral_neighbours"),
        Column("Target", "rate"),
    ]
    rows: list[list[Value]] = []
    for row, referrals, rereferrals in zip(months, referral_cells, shared.rereferrals, strict=True):
        rolling = shown_rate(
            shown_count(count_of(row, "rereferrals_r12")),
            count_of(row, "referrals_r12"),
            fraction_of(row, "rereferral_rate_r12"),
        )
        children = shown_rate(
            shown_count(count_of(row, "children_rereferred_r12")),
            count_of(row, "children_referred_r12"),
            fraction_of(row, "children_rereferral_rate_r12"),
        )
        rows.append(
            [
                str(row["month"]),
                referrals,
                rereferrals,
                shown_rate(rereferrals, referrals, fraction_of(row, "rereferral_rate")),
                rolling,
                children,
                fraction_of(row, "rereferral_england"),
                fraction_of(row, "rereferral_region"),
                fraction_of(row, "rereferral_neighbours"),
                target_for(indicator, targets, row),
            ]
        )
    total_referrals, total_rereferrals = shared.by_need.grand_total, shared.rereferrals_total
    sums = [sum(count_of(r, k) for r in months) for k in ("rereferrals", "referrals")]
    rows.append([TOTAL, total_referrals, total_rereferrals, rate_of(total_rereferrals, total_referrals, *sums)])
    rows[-1] += [None] * (len(columns) - len(rows[-1]))
    names = [str(r["month"]) for r in months]
    chart = Chart(
        "Re-referral rate by month",
        names,
        {c.title: numbers(rows[:-1], i) for i, c in enumerate(columns) if i >= 3},
        dashed=frozenset({"England", "Region", "Statistical neighbours", "Target"}),
    )
    rag = rag_table(indicator, quarters)
    facts = [
        say.trend_sentence("The re-referral rate over the rolling 12 months", names, chart.series["Rolling 12 months"]),
        say.trend_sentence("The monthly re-referral rate", names, chart.series["Rate"]),
        say.comparison_sentence(
            f"The rolling 12-month rate in {say.month_name(names[-1])}",
            chart.series["Rolling 12 months"][-1],
            chart.series["England"][-1],
            "the national figure",
        ),
        say.comparison_sentence(
            f"The rolling 12-month rate in {say.month_name(names[-1])}",
            chart.series["Rolling 12 months"][-1],
            chart.series["Statistical neighbours"][-1],
            "the statistical neighbours' figure",
        ),
    ]
    facts += say.rag_sentence("The re-referral rate", [(q.quarter, q.rate, q.target, q.status) for q in quarters])
    table = Table("Re-referrals by month", columns, rows, "Referral level: DfE C1. Child level: distinct children.")
    return Section("rereferrals", "Re-referrals", [f for f in facts if f], [table, rag], [chart])


def cpp_section(months: Sequence[Row]) -> Section:
    keys = ("cpp_started", "cpp_subsequent_ever", "cpp_subsequent_within_2y")
    counts = counts_with_total(months, keys)
    rows: list[list[Value]] = []
    for row, (started, ever, within) in zip(months, counts.cells, strict=True):
        rows.append(
            [
                str(row["month"]),
                started,
                ever,
                shown_rate(ever, started, fraction_of(row, "cpp_subsequent_rate")),
                within,
                shown_rate(within, started, fraction_of(row, "cpp_subsequent_within_2y_rate")),
                fraction_of(row, "cpp_second_or_subsequent_england"),
            ]
        )
    started, ever, within = counts.column_totals or [0, 0, 0]
    sums = [sum(count_of(r, k) for r in months) for k in keys]
    rows.append(
        [
            TOTAL,
            started,
            ever,
            rate_of(ever, started, sums[1], sums[0]),
            within,
            rate_of(within, started, sums[2], sums[0]),
            None,
        ]
    )
    columns = [
        Column("Month", "label", "month"),
        Column("Plans started", "count", "cpp_started"),
        Column("Second or subsequent (ever)", "count", "cpp_subsequent_ever"),
        Column("Share, ever", "rate", "cpp_subsequent_rate"),
        Column("Within 2 years", "count", "cpp_subsequent_within_2y"),
        Column("Share, within 2 years", "rate", "cpp_subsequent_within_2y_rate"),
        Column("England, ever", "rate", "cpp_second_or_subsequent_england"),
    ]
    names = [str(r["month"]) for r in months]
    chart = Chart(
        "Child protection plans for a second or subsequent time",
        names,
        {title: numbers(rows[:-1], i) for i, title in ((3, "Ever"), (5, "Within 2 years"), (6, "England, ever"))},
        dashed=frozenset({"England, ever"}),
    )
    total = rows[-1]
    facts = [
        say.comparison_sentence(
            "Over the period, the share of plans for a second or subsequent time",
            total[3] if isinstance(total[3], float) else None,
            chart.series["England, ever"][-1],
            "England's latest published share",
        )
    ]
    table = Table(
        "Child protection plans started, by month", columns, rows, "DfE D3 definitions (docs/definitions.md)."
    )
    return Section(
        "cpp", "Child protection plans for a second or subsequent time", [f for f in facts if f], [table], [chart]
    )
