"""The pack's sections from the series rows: each table's counts suppressed, rates shown by the same rule."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from services.core.rereferral_list import Rereferral
from services.core.series import GROUPS, NEEDS, REASONS, Row
from services.reports import commentary as say
from services.reports.pack_model import (
    INDICATORS,
    Chart,
    Column,
    PackModel,
    QuarterStatus,
    Section,
    Table,
    Value,
    quarter_statuses,
    rows_between,
    target_for,
)
from services.reports.pack_source import CouncilSeries
from services.reports.suppression import SuppressedTable, shown_count, shown_rate, suppress_table

TOTAL = "Period total"
NEED_NAMES = {
    "N0": "Not stated",
    "N1": "Abuse or neglect",
    "N2": "Child's disability",
    "N3": "Parental illness or disability",
    "N4": "Family in acute stress",
    "N5": "Family dysfunction",
    "N6": "Socially unacceptable behaviour",
    "N7": "Low income",
    "N8": "Absent parenting",
    "N9": "Cases other than children in need",
    "unknown": "Not recorded",
}


def _int(row: Row, key: str) -> int:
    return int(row.get(key) or 0)


def _fraction(row: Row, key: str) -> float | None:
    value = row.get(key)
    return float(value) if isinstance(value, int | float) else None


def numbers(rows: Sequence[Sequence[Value]], column: int) -> list[float | None]:
    """A column as a chart series: numbers as they are, anything not shown ("c", None, a label) as a gap."""
    return [float(v) if isinstance(v, int | float) else None for v in (row[column] for row in rows)]


def counts_with_total(rows: Sequence[Row], keys: Sequence[str]) -> SuppressedTable:
    """Each key as a column of counts, one row per series row, with a published total row."""
    return suppress_table([[_int(row, key) for key in keys] for row in rows], row_totals=False, column_totals=True)


def _rate_of(numerator: Value, denominator: Value, n: int, d: int) -> float | None:
    """The rate of two published counts, by the series' rule (numerator / denominator, 6 places)."""
    exact = round(n / d, 6) if d > 0 else None
    return shown_rate(numerator if numerator is not None else 0, denominator if denominator is not None else 0, exact)  # type: ignore[arg-type]  # Value here is always a count or "c"


def _difference(quarter: QuarterStatus) -> float | None:
    if quarter.rate is None or quarter.target is None:
        return None
    return round(quarter.rate - quarter.target, 6)


def rereferral_section(months: Sequence[Row], quarters: Sequence[QuarterStatus], targets: Mapping[str, Any]) -> Section:
    indicator = INDICATORS[0]
    counts = counts_with_total(months, ("referrals", "rereferrals"))
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
    for row, (referrals, rereferrals) in zip(months, counts.cells, strict=True):
        rolling = shown_rate(
            shown_count(_int(row, "rereferrals_r12")), _int(row, "referrals_r12"), _fraction(row, "rereferral_rate_r12")
        )
        children = shown_rate(
            shown_count(_int(row, "children_rereferred_r12")),
            _int(row, "children_referred_r12"),
            _fraction(row, "children_rereferral_rate_r12"),
        )
        rows.append(
            [
                str(row["month"]),
                referrals,
                rereferrals,
                shown_rate(rereferrals, referrals, _fraction(row, "rereferral_rate")),
                rolling,
                children,
                _fraction(row, "rereferral_england"),
                _fraction(row, "rereferral_region"),
                _fraction(row, "rereferral_neighbours"),
                target_for(indicator, targets, row),
            ]
        )
    total_referrals, total_rereferrals = counts.column_totals or [0, 0]
    sums = [sum(_int(r, k) for r in months) for k in ("rereferrals", "referrals")]
    rows.append([TOTAL, total_referrals, total_rereferrals, _rate_of(total_rereferrals, total_referrals, *sums)])
    rows[-1] += [None] * (len(columns) - len(rows[-1]))
    names = [str(r["month"]) for r in months]
    chart = Chart(
        "Re-referral rate by month",
        names,
        {c.title: numbers(rows[:-1], i) for i, c in enumerate(columns) if i >= 3},
        dashed=frozenset({"England", "Region", "Statistical neighbours", "Target"}),
    )
    rag = Table(
        "Re-referral rate by quarter against target (RAG)",
        [
            Column("Quarter", "label", "quarter"),
            Column("Referrals", "count", "referrals"),
            Column("Re-referrals", "count", "rereferrals"),
            Column("Rate", "rate", "rereferral_rate"),
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
        "Complete calendar quarters only. Green: at or below target; amber: up to 2 points above; red: beyond.",
    )
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
            "It", chart.series["Rolling 12 months"][-1], chart.series["Statistical neighbours"][-1], "the neighbours'"
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
                shown_rate(ever, started, _fraction(row, "cpp_subsequent_rate")),
                within,
                shown_rate(within, started, _fraction(row, "cpp_subsequent_within_2y_rate")),
                _fraction(row, "cpp_second_or_subsequent_england"),
            ]
        )
    started, ever, within = counts.column_totals or [0, 0, 0]
    sums = [sum(_int(r, k) for r in months) for k in keys]
    rows.append(
        [
            TOTAL,
            started,
            ever,
            _rate_of(ever, started, sums[1], sums[0]),
            within,
            _rate_of(within, started, sums[2], sums[0]),
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


def funnel_section(months: Sequence[Row], statuses: Mapping[str, Sequence[QuarterStatus]]) -> Section:
    stages = ("contacts", "funnel_referred", "funnel_assessed", "funnel_in_need")
    groups = [g for g in GROUPS if any(_int(r, f"contacts_{g}") for r in months)]
    sums = [[sum(_int(r, f"{stage}_{g}") for r in months) for stage in stages] for g in groups]
    table = suppress_table(sums, row_totals=False, column_totals=True)
    totals = [sum(column) for column in zip(*sums, strict=True)] if sums else [0] * len(stages)
    rows: list[list[Value]] = []
    for group, shown, exact in [
        *zip(groups, table.cells, sums, strict=True),
        ("All sources", table.column_totals or [], totals),
    ]:
        rows.append(
            [group.replace("_", " ").capitalize() if group != "All sources" else group, *shown]
            + [_rate_of(shown[i + 1], shown[i], exact[i + 1], exact[i]) for i in range(3)]
        )
    columns = (
        [Column("Source group", "label")]
        + [Column(title, "count") for title in ("Contacts", "Became referrals", "Assessed", "In need")]
        + [
            Column(title, "rate")
            for title in ("Contact to referral", "Referral to assessment", "Assessment to in need")
        ]
    )
    funnel = Table(
        "Contacts received in the period: contact, referral, assessment, in need", columns, rows, "Linked by ids."
    )
    nfa = counts_with_total(months, ("referrals", "nfa_referrals"))
    nfa_rows: list[list[Value]] = [
        [str(r["month"]), refs, n, shown_rate(n, refs, _fraction(r, "nfa_rate")), _fraction(r, "referral_nfa_england")]
        for r, (refs, n) in zip(months, nfa.cells, strict=True)
    ]
    nfa_columns = [
        Column("Month", "label", "month"),
        Column("Referrals", "count", "referrals"),
        Column("NFA referrals", "count", "nfa_referrals"),
        Column("NFA rate", "rate", "nfa_rate"),
        Column("England", "rate", "referral_nfa_england"),
    ]
    chart = Chart(
        "Contacts and what became of them, by source group",
        [str(r[0]) for r in rows[:-1]],
        {c.title: numbers(rows[:-1], i) for i, c in enumerate(columns[1:5], 1)},
        style="bars",
        percent=False,
    )
    facts = []
    for key, title in (
        ("contact_to_referral", "Contact to referral conversion"),
        ("referral_to_assessment", "Referral to assessment conversion"),
    ):
        facts += say.rag_sentence(title, [(q.quarter, q.rate, q.target, q.status) for q in statuses.get(key, [])])
    all_row = rows[-1]
    if isinstance(all_row[5], float):
        facts.insert(0, f"{say.percent(all_row[5])} of the period's contacts became referrals.")
    nfa_table = Table("Referrals marked no further action (NFA), by month", nfa_columns, nfa_rows)
    return Section("funnel", "From contact to assessment, by source group", facts, [funnel, nfa_table], [chart])


def previous_year_rows(document: Mapping[str, Any], months: Sequence[Row]) -> list[Row]:
    """The same months one year earlier, where the history has them."""
    earlier = {f"{int(str(r['month'])[:4]) - 1}{str(r['month'])[4:]}" for r in months}
    return [row for row in document["months"] if row["month"] in earlier]


def _need_table(title: str, rows: Sequence[Row], needs: Sequence[str]) -> Table:
    shown = suppress_table([[_int(r, f"referrals_need_{n}") for n in needs] for r in rows])
    body: list[list[Value]] = [
        [str(r["month"]), *cells, total]
        for r, cells, total in zip(rows, shown.cells, shown.row_totals or [], strict=True)
    ]
    body.append([TOTAL, *(shown.column_totals or []), shown.grand_total])
    columns = [Column("Month", "label", "month")] + [Column(n, "count", f"referrals_need_{n}") for n in needs]
    return Table(title, [*columns, Column("All", "count")], body)


def needs_section(months: Sequence[Row], previous: Sequence[Row]) -> Section:
    needs = [n for n in NEEDS if any(_int(r, f"referrals_need_{n}") for r in [*months, *previous])]
    this_year = _need_table("Referrals by primary need, by month", months, needs)
    tables = [this_year]
    if previous:
        tables.append(_need_table("The same months a year earlier", previous, needs))
    totals = {n: sum(_int(r, f"referrals_need_{n}") for r in months) for n in needs}
    top = sorted(needs, key=lambda n: -totals[n])[:4]
    months_shown = [str(r["month"])[5:] for r in months]
    series: dict[str, list[float | None]] = {}
    for need in top:
        column = 1 + needs.index(need)
        series[f"{need} {NEED_NAMES[need]}"] = numbers(this_year.rows[:-1], column)
        if previous:
            earlier = {str(r[0])[5:]: r[column] for r in tables[1].rows[:-1]}
            series[f"{need}, a year earlier"] = numbers([[earlier.get(m)] for m in months_shown], 0)
    chart = Chart(
        "Referrals by primary need (the four most common), this period and a year earlier",
        [str(r["month"]) for r in months],
        series,
        dashed=frozenset(k for k in series if k.endswith("a year earlier")),
        percent=False,
    )
    all_referrals = sum(totals.values())
    facts = [
        f"The most common primary need was {n} ({NEED_NAMES[n].lower()}): {say.percent(totals[n] / all_referrals)} of "
        f"the period's referrals."
        for n in top[:1]
        if all_referrals and totals[n] >= 5
    ]
    key = f"{top[0]} {NEED_NAMES[top[0]]}" if top else ""
    values = [(m, v) for m, v in zip(chart.x, chart.series.get(key, []), strict=False) if v is not None]
    if values:
        high, low = max(values, key=lambda p: p[1]), min(values, key=lambda p: p[1])
        facts.append(
            f"Monthly referrals with {top[0]} ranged from {low[1]:.0f} in {say.month_name(low[0])} "
            f"to {high[1]:.0f} in {say.month_name(high[0])}."
        )
    return Section("needs", "Presenting issue (primary need) by month", facts, tables, [chart])


def _one_way(title: str, label: str, items: Sequence[tuple[str, int]]) -> Table:
    shown = suppress_table([[n] for _, n in items], row_totals=False, column_totals=True)
    rows: list[list[Value]] = [[name, cell[0]] for (name, _), cell in zip(items, shown.cells, strict=True)]
    rows.append([TOTAL, (shown.column_totals or [0])[0]])
    return Table(title, [Column(label, "label"), Column("Re-referrals", "count")], rows)


def closures_section(months: Sequence[Row], listing: Sequence[Rereferral]) -> Section:
    keys = {k for r in months for k in r if str(k).startswith("rereferrals_previous_team_")}
    teams = sorted((k.removeprefix("rereferrals_previous_team_"), sum(_int(r, k) for r in months)) for k in keys)
    reasons = [(rc, sum(_int(r, f"rereferrals_previous_reason_{rc}") for r in months)) for rc in (*REASONS, "open")]
    by_team = _one_way(
        "Re-referrals by the team that closed the previous episode", "Closing team", [t for t in teams if t[1]]
    )
    by_reason = _one_way(
        "Re-referrals by the previous episode's closure reason", "Closure reason", [r for r in reasons if r[1]]
    )
    same = sum(1 for r in listing if r.same_concern)
    step_downs = sum(_int(r, "step_downs") for r in months)
    after = sum(_int(r, "rereferrals_after_step_down") for r in months)
    listed, same_shown, downs_shown, after_shown = (shown_count(n) for n in (len(listing), same, step_downs, after))
    summary = Table(
        "Same concern and step-downs to early help",
        [Column("Figure", "label"), Column("Count", "count"), Column("Share", "rate")],
        [
            ["Re-referrals in the period", listed, None],
            [
                "...with the same primary need as the previous referral",
                same_shown,
                _rate_of(same_shown, listed, same, len(listing)),
            ],
            ["Referrals closed to early help (RC9) in the period", downs_shown, None],
            [
                "Re-referrals whose previous referral closed to early help",
                after_shown,
                _rate_of(after_shown, downs_shown, after, step_downs),
            ],
        ],
        "Same concern: both referrals' primary needs are recorded and equal (docs/reports.md).",
    )
    facts = []
    if isinstance(summary.rows[1][2], float):
        facts.append(
            f"Of {len(listing):,} re-referrals in the period, {same:,} ({say.percent(summary.rows[1][2])}) came back "
            "with the same primary need as the previous referral."
        )
    shown_teams = [t for t in teams if t[1] >= 5]
    if shown_teams:
        name, count = max(shown_teams, key=lambda t: t[1])
        facts.append(f"{count:,} re-referrals followed an episode closed by {name}, more than by any other team.")
    return Section(
        "closures", "Re-referrals by how the previous episode closed", facts, [by_team, by_reason, summary], []
    )


def build_pack(series: CouncilSeries, first: str, last: str, targets: Mapping[str, float | None]) -> PackModel:
    """The pack for months first..last ("YYYY-MM") from the council's `report --by` documents."""
    months = rows_between(series.months, "months", first, last)
    if not months:
        raise ValueError(f"no months of council {series.la_code} between {first} and {last} in the history")
    quarters = rows_between(series.quarters, "quarters", first, last)
    statuses = {i.key: quarter_statuses(quarters, i, targets) for i in INDICATORS}
    statuses = {key: found for key, found in statuses.items() if any(q.target is not None for q in found)}
    listing = [r for r in series.rereferrals if first <= r.referral_date.strftime("%Y-%m") <= last]
    return PackModel(
        la_code=series.la_code,
        name=series.name,
        first_month=first,
        last_month=last,
        sections=[
            rereferral_section(months, statuses.get("rereferral", []), targets),
            cpp_section(months),
            funnel_section(months, statuses),
            needs_section(months, previous_year_rows(series.months, months)),
            closures_section(months, listing),
        ],
        quarters=statuses,
        targets=dict(targets),
        events=series.events,
        rejected=series.rejected,
    )
