"""Indicator gauges from known council totals, every value worked out by hand (as of Tuesday 20 May 2025)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from services.core.aggregates import AggregateKey
from services.metrics.indicators import (
    PRIMARY_NEEDS,
    SOURCE_GROUPS,
    completed_quarters,
    council_indicators,
    months_ending,
    reporting_year_months,
)

TODAY = dt.date(2025, 5, 20)  # rolling 12 months: June 2024 to May 2025; reporting year from April 2025


def totals() -> Counter[AggregateKey]:
    """A council's totals; keys are written "month|measure|label"."""
    known: dict[str, int] = {
        # referrals and re-referrals by source group; May 2024 is just outside the rolling 12 months
        "2024-05|referrals|police": 100,
        "2024-05|rereferrals|police": 50,
        "2024-06|referrals|police": 40,
        "2024-06|rereferrals|police": 8,
        "2024-11|referrals|health_services": 25,
        "2024-11|rereferrals|health_services": 10,
        "2025-02|referrals|schools": 30,
        "2025-02|rereferrals|schools": 6,
        "2025-02|nfa_referrals|schools": 5,
        "2025-04|referrals|police": 20,
        "2025-04|rereferrals|police": 5,
        "2025-05|referrals|schools": 10,
        "2025-05|rereferrals|schools": 3,
        # child-level windows are read at the current month only
        "2025-04|children_referred_r12|": 999,
        "2025-05|children_referred_r12|": 90,
        "2025-05|children_rereferred_r12|": 18,
        "2025-05|children_referred_ytd|": 28,
        "2025-05|children_rereferred_ytd|": 7,
        "2025-04|children_two_referrals_r6|": 9,
        "2025-05|children_two_referrals_r6|": 4,
        # contact decisions: referral and strategy/S47 progress a contact
        "2024-05|contact_decisions|referral": 500,
        "2025-01|contact_decisions|referral": 30,
        "2025-01|contact_decisions|strategy_s47": 10,
        "2025-01|contact_decisions|nfa": 40,
        "2025-03|contact_decisions|early_help": 20,
        "2025-03|assessments_started|": 100,
        "2025-03|assessments_not_in_need|": 25,
        "2025-01|cpp_starts|": 10,
        "2025-01|cpp_repeat_ever|": 3,
        "2025-01|cpp_repeat_within_two_years|": 1,
        # open assessments by start date: the 45th working day after 12 March 2025 is 19 May
        "2025-01|assessments_open|2025-01-06": 1,
        "2025-03|assessments_open|2025-03-12": 2,
        "2025-03|assessments_open|2025-03-13": 3,
        "2024-01|referrals_open|": 2,
        "2025-05|referrals_open|": 7,
        "2025-05|contacts_undecided|": 6,
        "2025-04|contacts|police": 200,
        "2025-05|contacts|police": 50,
        "2025-04|contacts|schools": 60,
        "2025-02|referrals_by_need|N1": 30,
        "2025-02|rereferrals_by_need|N1": 6,
    }
    counter: Counter[AggregateKey] = Counter()
    for key, value in known.items():
        month, measure, label = key.split("|")
        counter[(month, measure, label)] = value
    return counter


def test_windows_are_calendar_months_and_the_dfe_reporting_year_starts_in_april() -> None:
    assert months_ending(TODAY, 12)[0] == "2024-06"
    assert months_ending(TODAY, 12)[-1] == "2025-05"
    assert reporting_year_months(TODAY) == ("2025-04", "2025-05")
    assert reporting_year_months(dt.date(2025, 3, 31))[0] == "2024-04"
    assert completed_quarters(TODAY) == (("2025-01", "2025-02", "2025-03"), ("2024-10", "2024-11", "2024-12"))
    assert completed_quarters(dt.date(2025, 1, 2)) == (
        ("2024-10", "2024-11", "2024-12"),
        ("2024-07", "2024-08", "2024-09"),
    )


def test_referral_level_rates_sum_the_months_of_each_window() -> None:
    values = council_indicators(totals(), TODAY)

    assert (values.referrals_r12, values.rereferrals_r12) == (125, 32)
    assert values.rereferral_r12 == 0.256  # 32 / 125; May 2024 is outside
    assert values.rereferral_ytd == 0.266667  # 8 / 30 in April and May 2025
    assert values.rereferral_last_quarter == 0.2  # 6 / 30 in January to March 2025
    assert values.rereferral_quarter_before_last == 0.4  # 10 / 25 in October to December 2024


def test_child_level_rates_and_two_referrals_read_the_current_month_window() -> None:
    values = council_indicators(totals(), TODAY)

    assert values.child_rereferral_r12 == 0.2  # 18 / 90
    assert values.child_rereferral_ytd == 0.25  # 7 / 28
    assert values.children_two_referrals_in_six_months == 4


def test_conversion_nfa_not_in_need_and_repeat_plans_over_the_rolling_12_months() -> None:
    values = council_indicators(totals(), TODAY)

    assert values.contact_to_referral == 0.4  # (30 referral + 10 S47) / 100 decisions
    assert values.referral_to_assessment == 0.8  # 100 / 125
    assert values.referral_nfa == 0.04  # 5 / 125
    assert values.assessed_not_in_need == 0.2  # 25 / 125, as C1 counts it (a share of referrals)
    assert values.cpp_second_or_subsequent == 0.3
    assert values.cpp_second_within_two_years == 0.1


def test_open_assessments_past_45_working_days_count_start_dates_before_the_cutoff() -> None:
    values = council_indicators(totals(), TODAY)

    assert values.assessments_open_past_45_working_days == 3  # 6 January (1) and 12 March (2); 13 March is due today


def test_caseload_and_undecided_contacts_count_every_month() -> None:
    values = council_indicators(totals(), TODAY)

    assert values.open_caseload == 9
    assert values.contacts_awaiting_decision == 6


def test_the_source_group_funnel_has_every_annex_a_group() -> None:
    values = council_indicators(totals(), TODAY)
    police, schools, health = (values.by_source_group[g] for g in ("police", "schools", "health_services"))

    assert set(values.by_source_group) == set(SOURCE_GROUPS)
    assert (police.contacts, police.referrals, police.rereferrals, police.nfa_referrals) == (250, 60, 13, 0)
    assert (police.contact_to_referral, police.nfa) == (0.24, 0.0)
    assert (schools.referrals, schools.nfa_referrals, schools.nfa) == (40, 5, 0.125)
    assert health.contact_to_referral is None  # referrals without recorded contacts: no denominator
    assert values.by_source_group["housing"].rereferral is None


def test_primary_need_breakdown_includes_unknown_and_leaves_out_rates_without_referrals() -> None:
    values = council_indicators(totals(), TODAY)

    assert set(values.by_primary_need) == set(PRIMARY_NEEDS)
    assert values.by_primary_need["N1"].rereferral == 0.2
    assert values.by_primary_need["N2"].referrals == 0
    assert values.by_primary_need["N2"].rereferral is None


def test_expected_contacts_are_per_working_day_over_the_12_complete_months() -> None:
    # May 2024 to April 2025: 261 weekdays less 8 bank holidays = 253 working days; May 2025 is not complete.
    values = council_indicators(totals(), TODAY)

    assert values.expected_contacts_per_working_day["police"] == round(200 / 253, 6)
    assert values.expected_contacts_per_working_day["schools"] == round(60 / 253, 6)
    assert values.expected_contacts_per_working_day["housing"] == 0.0


def test_rates_without_a_denominator_are_none_not_zero() -> None:
    values = council_indicators(Counter(), TODAY)

    assert values.rereferral_r12 is None
    assert values.contact_to_referral is None
    assert values.referrals_r12 == 0
    assert values.assessments_open_past_45_working_days == 0


def test_beyond_the_bank_holiday_data_the_working_day_gauges_are_unknown() -> None:
    values = council_indicators(totals(), dt.date(2031, 2, 3))

    assert values.assessments_open_past_45_working_days is None
    assert values.expected_contacts_per_working_day == {}
