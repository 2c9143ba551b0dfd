"""The pack's breakdowns: the funnel by source group, presenting issues by month, re-referrals by closure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from schemas.codes import PRIMARY_NEED_LABELS
from services.core.rereferral_list import Rereferral
from services.core.series import GROUPS, REASONS, Row
from services.reports import commentary as say
from services.reports.pack_cells import SharedCounts
from services.reports.pack_model import INDICATORS, Chart, Column, QuarterStatus, Section, Table, Value
from services.reports.pack_sections import TOTAL, count_of, fraction_of, numbers, rag_table, rate_of
from services.reports.suppression import (
    SUPPRESSED,
    SuppressedTable,
    shown_count,
    shown_rate,
    suppress_column,
    suppress_table,
)

# The CIN census schema's own words for each need, and a name for referrals without one.
NEED_NAMES = {need.value: label for need, label in PRIMARY_NEED_LABELS.items()} | {"unknown": "Not recorded"}
GROUP_NAMES = {"la_services": "LA services", "other_legal_agency": "Other legal agency"}


def funnel_section(
    months: Sequence[Row], shared: SharedCounts, statuses: Mapping[str, Sequence[QuarterStatus]]
) -> Section:
    stages = ("contacts", "funnel_referred", "funnel_assessed", "funnel_in_need")
    groups = [g for g in GROUPS if any(count_of(r, f"contacts_{g}") for r in months)]
    sums = [[sum(count_of(r, f"{stage}_{g}") for r in months) for stage in stages] for g in groups]
    table = suppress_table(sums, row_totals=False, column_totals=True)
    totals = [sum(column) for column in zip(*sums, strict=True)] if sums else [0] * len(stages)
    rows: list[list[Value]] = []
    for group, shown, exact in [
        *zip(groups, table.cells, sums, strict=True),
        ("All sources", table.column_totals or [0] * len(stages), totals),  # no contacts (census): zeros
    ]:
        rows.append(
            [GROUP_NAMES.get(group, group.replace("_", " ").capitalize()), *shown]
            + [rate_of(shown[i + 1], shown[i], exact[i + 1], exact[i]) for i in range(3)]
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
    nfa_cells, _, _ = suppress_column([count_of(r, "nfa_referrals") for r in months], [])
    nfa = list(zip(shared.by_need.row_totals or [], nfa_cells, strict=True))  # referrals as in every table
    nfa_rows: list[list[Value]] = [
        [
            str(r["month"]),
            refs,
            n,
            shown_rate(n, refs, fraction_of(r, "nfa_rate")),
            fraction_of(r, "referral_nfa_england"),
        ]
        for r, (refs, n) in zip(months, nfa, strict=True)
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
    rag_tables = [rag_table(i, statuses[i.key]) for i in INDICATORS[1:] if statuses.get(i.key)]
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
    tables = [funnel, *rag_tables, nfa_table]
    return Section("funnel", "From contact to assessment, by source group", facts, tables, [chart])


def previous_year_rows(document: Mapping[str, Any], months: Sequence[Row]) -> list[Row]:
    """The same months one year earlier, where the history has them."""
    earlier = {f"{int(str(r['month'])[:4]) - 1}{str(r['month'])[4:]}" for r in months}
    return [row for row in document["months"] if row["month"] in earlier]


def _need_table(title: str, rows: Sequence[Row], needs: Sequence[str], shown: SuppressedTable) -> Table:
    body: list[list[Value]] = [
        [str(r["month"]), *cells, total]
        for r, cells, total in zip(rows, shown.cells, shown.row_totals or [], strict=True)
    ]
    body.append([TOTAL, *(shown.column_totals or []), shown.grand_total])
    columns = [Column("Month", "label", "month")] + [Column(n, "count", f"referrals_need_{n}") for n in needs]
    return Table(title, [*columns, Column("All", "count")], body)


def needs_section(months: Sequence[Row], previous: Sequence[Row], shared: SharedCounts) -> Section:
    """The period by month, and for seasonality its last 12 months beside the same months a year earlier.

    The period's table is the shared one (its row totals are the referrals every table shows); months a year
    earlier that fall before the period get a table of their own.
    """
    needs = shared.needs
    this_year = _need_table("Referrals by primary need, by month", months, needs, shared.by_need)
    tables = [this_year]
    if previous:
        earlier_counts = [[count_of(r, f"referrals_need_{n}") for n in needs] for r in previous]
        tables.append(
            _need_table("The same months a year earlier (seasonality)", previous, needs, suppress_table(earlier_counts))
        )
    totals = {n: sum(count_of(r, f"referrals_need_{n}") for r in months) for n in needs}
    top = sorted(needs, key=lambda n: -totals[n])[:4]
    last_year = this_year.rows[:-1][-12:]
    shown_months = [str(r[0]) for r in last_year]
    series: dict[str, list[float | None]] = {}
    for need in top:
        column = 1 + needs.index(need)
        series[f"{need} {NEED_NAMES[need]}"] = numbers(last_year, column)
        shown_by_month = {str(r[0]): r[column] for table in tables for r in table.rows[:-1]}
        earlier = [[shown_by_month.get(f"{int(m[:4]) - 1}{m[4:]}")] for m in shown_months]
        if any(row[0] is not None for row in earlier):
            series[f"{need}, a year earlier"] = numbers(earlier, 0)
    chart = Chart(
        "Referrals by primary need (the four most common): the last 12 months and a year earlier",
        shown_months,
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
            f"In the last 12 months, monthly referrals with {top[0]} ranged from {low[1]:.0f} in "
            f"{say.month_name(low[0])} to {high[1]:.0f} in {say.month_name(high[0])}."
        )
    return Section("needs", "Presenting issue (primary need) by month", facts, tables, [chart])


def _one_way(title: str, label: str, items: Sequence[tuple[str, int]], total: Value) -> Table:
    """Re-referrals by one breakdown; `total` is the period's re-referrals as the re-referral table shows it."""
    if total == SUPPRESSED:  # the total is hidden there, so here too; without it, only 1..4 need hiding
        cells: list[Value] = [shown_count(n) for _, n in items]
    else:
        shown = suppress_table([[n] for _, n in items], row_totals=False, column_totals=True)
        cells, total = [row[0] for row in shown.cells], (shown.column_totals or [0])[0]
    rows: list[list[Value]] = [[name, cell] for (name, _), cell in zip(items, cells, strict=True)]
    rows.append([TOTAL, total])
    return Table(title, [Column(label, "label"), Column("Re-referrals", "count")], rows)


def closures_section(months: Sequence[Row], listing: Sequence[Rereferral], shared: SharedCounts) -> Section:
    keys = {k for r in months for k in r if str(k).startswith("rereferrals_previous_team_")}
    teams = sorted((k.removeprefix("rereferrals_previous_team_"), sum(count_of(r, k) for r in months)) for k in keys)
    reasons = [(rc, sum(count_of(r, f"rereferrals_previous_reason_{rc}") for r in months)) for rc in (*REASONS, "open")]
    by_team = _one_way(
        "Re-referrals by the team that closed the previous episode",
        "Closing team",
        [t for t in teams if t[1]],
        shared.rereferrals_total,
    )
    by_reason = _one_way(
        "Re-referrals by the previous episode's closure reason",
        "Closure reason",
        [r for r in reasons if r[1]],
        shared.rereferrals_total,
    )
    same = sum(1 for r in listing if r.same_concern)
    step_downs = sum(count_of(r, "step_downs") for r in months)
    after = sum(count_of(r, "rereferrals_after_step_down") for r in months)
    same_shown, downs_shown, after_shown = (shown_count(n) for n in (same, step_downs, after))
    listed = shared.rereferrals_total  # the same number as the re-referral table's period total
    summary = Table(
        "Same concern and step-downs to early help",
        [Column("Figure", "label"), Column("Count", "count"), Column("Share", "rate")],
        [
            ["Re-referrals in the period", listed, None],
            [
                "...with the same primary need as the previous referral",
                same_shown,
                rate_of(same_shown, listed, same, len(listing)),
            ],
            ["Referrals closed to early help (RC9) in the period", downs_shown, None],
            [
                "Re-referrals whose previous referral closed to early help",
                after_shown,
                rate_of(after_shown, downs_shown, after, step_downs),
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
