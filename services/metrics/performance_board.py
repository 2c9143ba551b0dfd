"""The performance board: re-referrals against England, region, neighbours and target, with RAG and trends."""

from __future__ import annotations

from services.metrics.panels import (
    ANY_IS_RED,
    PCT,
    RAG_ABOVE_TARGET,
    Council,
    Dashboard,
    Layout,
    Query,
    bars,
    dashboard,
    stat,
    table,
    trend,
)


def performance(council: Council) -> Dashboard:
    """Heads of service and scrutiny: re-referrals against England, region, neighbours and target, with RAG."""
    la = council.selector
    board = Layout()
    board.row("Re-referrals within 12 months (DfE C1)")
    board.add(
        stat(
            "Re-referral rate, rolling 12 months",
            Query(f"frontdoor:rereferral_rolling_12_months:ratio{{{la}}}"),
            unit=PCT,
            decimals=1,
        ),
        6,
        6,
    )
    board.add(
        stat(
            "Against target (RAG)",
            Query(f"frontdoor:rereferral_above_target:ratio{{{la}}}"),
            unit=PCT,
            decimals=1,
            thresholds=RAG_ABOVE_TARGET,
            description="Percentage points above (+) or below (-) the council's target: green at or below, "
            "amber up to 2 points above, red beyond.",
        ),
        6,
        6,
    )
    board.add(
        bars(
            "Against England, region, statistical neighbours and target",
            Query(f"frontdoor:rereferral_rolling_12_months:ratio{{{la}}}", "This council (live, 12 months)"),
            Query(f"frontdoor:rereferral_target:ratio{{{la}}}", "Target"),
            Query(f"max by (area) (frontdoor_benchmark_rereferral_ratio{{{la}}})", "{{area}} (DfE C1, latest year)"),
            unit=PCT,
            decimals=1,
            description="Benchmarks are DfE C1 for the latest published year. The council's own published "
            "figure shows under its DfE code. Neighbours appear when configured.",
        ),
        12,
        6,
    )
    board.add(
        trend(
            "Re-referral rate by month, rolling 12 months",
            Query(f'frontdoor_monthly_ratio{{{la}, measure="rereferral_rate_r12"}}', "Referrals"),
            Query(f'frontdoor_monthly_ratio{{{la}, measure="children_rereferral_rate_r12"}}', "Children"),
            Query(f"frontdoor:rereferral_target:ratio{{{la}}}", "Target"),
            Query(f'max(frontdoor_benchmark_rereferral_ratio{{{la}, area="england"}})', "England"),
            unit=PCT,
            time_from="3y",
            description="The monthly series: past months backfilled from history (report --by month --format "
            "openmetrics, promtool), the current month carried on by the worker under the same names.",
        ),
        12,
        8,
    )
    board.add(
        table(
            "Published re-referral rate by year (DfE C1)",
            Query(f"max by (year, area) (frontdoor_benchmark_rereferral_by_year_ratio{{{la}}})"),
            join_on="year",
            unit=PCT,
        ),
        12,
        8,
    )
    board.add(
        stat(
            "Year to date and child level",
            Query(f"frontdoor:rereferral_year_to_date:ratio{{{la}}}", "Referrals, year to date"),
            Query(f"frontdoor:child_rereferral_year_to_date:ratio{{{la}}}", "Children, year to date"),
            Query(f"frontdoor:child_rereferral_rolling_12_months:ratio{{{la}}}", "Children, 12 months"),
            unit=PCT,
            decimals=1,
        ),
        12,
        5,
    )
    board.add(
        stat(
            "Last two complete quarters against target",
            Query(f"frontdoor:rereferral_last_quarter:ratio{{{la}}}", "Last quarter"),
            Query(f"frontdoor:rereferral_quarter_before_last:ratio{{{la}}}", "Quarter before"),
            Query(f"frontdoor:rereferral_target:ratio{{{la}}}", "Target"),
            unit=PCT,
            decimals=1,
            description="Both quarters red (more than 2 points above target, the pack's quarterly RAG) raise a "
            "performance exception (alert FrontdoorRereferralAboveTargetTwoQuarters); amber is up to 2 points above.",
        ),
        12,
        5,
    )
    board.row("Breakdowns, rolling 12 months")
    board.add(
        bars(
            "Re-referral rate by primary need",
            Query(f"max by (primary_need) (frontdoor_primary_need_rereferral_ratio{{{la}}})", "{{primary_need}}"),
            unit=PCT,
            decimals=1,
        ),
        8,
        9,
    )
    board.add(
        bars(
            "Referrals by primary need",
            Query(
                f"max by (primary_need) (frontdoor_primary_need_referrals_rolling_12_months{{{la}}})",
                "{{primary_need}}",
            ),
        ),
        8,
        9,
    )
    board.add(
        bars(
            "Re-referral rate by source group",
            Query(f"max by (source_group) (frontdoor_source_group_rereferral_ratio{{{la}}})", "{{source_group}}"),
            unit=PCT,
            decimals=1,
        ),
        8,
        9,
    )
    board.row("Child protection and assessments")
    board.add(
        bars(
            "Repeat child protection plans (DfE D3)",
            Query(f"frontdoor:cpp_second_or_subsequent:ratio{{{la}}}", "Second or subsequent, 12 months"),
            Query(f"frontdoor:cpp_second_within_two_years:ratio{{{la}}}", "Within 2 years, 12 months"),
            Query(f"max by (area) (frontdoor_benchmark_cpp_second_or_subsequent_ratio{{{la}}})", "{{area}} (D3)"),
            unit=PCT,
            decimals=1,
        ),
        12,
        7,
    )
    overdue = Query(f"max(frontdoor_assessments_open_past_45_working_days{{{la}}})")
    board.add(stat("Assessments open past 45 working days", overdue, thresholds=ANY_IS_RED), 4, 7)
    board.add(stat("Open caseload (referrals)", Query(f"max(frontdoor_open_caseload_referrals{{{la}}})")), 4, 7)
    board.add(
        stat(
            "Children with two referrals in six months",
            Query(f"max(frontdoor_children_two_referrals_in_six_months{{{la}}})"),
        ),
        4,
        7,
    )
    board.row("Conversion and outcomes, rolling 12 months")
    board.add(
        bars(
            "Conversion and outcomes against England",
            Query(f"frontdoor:contact_to_referral:ratio{{{la}}}", "Contacts to referral or S47"),
            Query(f"frontdoor:referral_to_assessment:ratio{{{la}}}", "Referrals to assessment"),
            Query(f"frontdoor:referral_nfa:ratio{{{la}}}", "Referrals NFA"),
            Query(f"frontdoor:assessed_not_in_need:ratio{{{la}}}", "Assessed not in need"),
            Query(f'max(frontdoor_benchmark_referral_nfa_ratio{{{la}, area="england"}})', "England: NFA"),
            Query(
                f'max(frontdoor_benchmark_assessed_not_in_need_ratio{{{la}, area="england"}})', "England: not in need"
            ),
            unit=PCT,
            decimals=1,
        ),
        24,
        8,
    )
    return dashboard(
        f"frontdoor-{council.la_code}-performance",
        f"{council.title}: performance",
        board,
        [],
        time_from="now-1y",
        refresh="5m",
        tags=["frontdoor", f"council-{council.la_code}"],
        description="Re-referral and front-door indicators against England, the region, statistical neighbours "
        "and the council's target. Definitions: docs/definitions.md and docs/metrics.md.",
    )
