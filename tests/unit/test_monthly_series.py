"""The monthly series: one row per council and month, built from the council totals (sums of contributions)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.codes import ClosureReason, ReferralSource
from schemas.events import InboundEvent
from services.core.aggregates import AggregateKey, contribution
from services.core.config import RuleConfig
from services.core.engine import Engine
from services.core.series import Period, series_by
from tests.builders import (
    CHILD_B,
    make_assessment,
    make_authorisation,
    make_closure,
    make_contact,
    make_nfa,
    make_plan,
    make_plan_end,
    make_referral,
)

OFFLINE = RuleConfig(retention_months=None)


def totals_of(events: Iterable[InboundEvent], rules: RuleConfig = OFFLINE) -> Counter[AggregateKey]:
    engine = Engine(rules)
    for event in events:
        engine.apply(event)
    totals: Counter[AggregateKey] = Counter()
    for history in engine.children.values():
        totals.update(contribution(history, rules))
    return totals


def series(events: Iterable[InboundEvent], period: Period = "month", **kwargs: Any) -> dict[str, dict[str, Any]]:
    return {str(row[period]): row for row in series_by(totals_of(events, **kwargs), period)}


def test_a_referral_within_twelve_months_of_the_previous_is_a_rereferral_in_its_own_month() -> None:
    first = make_referral("2024-01-10")
    months = series([first, make_nfa(first), make_referral("2024-03-05")])

    assert [months[m]["referrals"] for m in ("2024-01", "2024-02", "2024-03")] == [1, 0, 1]
    assert months["2024-03"]["rereferrals"] == 1 and months["2024-01"]["nfa_referrals"] == 1
    assert months["2024-03"]["rereferral_rate_r12"] == 0.5
    assert months["2024-03"]["children_referred"] == 1 and months["2024-03"]["children_rereferred"] == 1


def test_a_plan_repeated_by_several_returns_is_one_plan_counted_once() -> None:
    months = series([make_plan("2024-05-02", plan_id="p-2024"), make_plan("2024-05-02", plan_id="p-2025-return")])

    assert months["2024-05"]["cpp_started"] == 1
    assert months["2024-05"]["cpp_subsequent_ever"] == 0


def test_a_plan_after_an_earlier_plan_in_the_data_is_second_or_subsequent_ever_however_long_ago() -> None:
    first = make_plan("2015-05-02")
    months = series([first, make_plan_end(first, "2016-01-10"), make_plan("2024-05-02")])

    assert months["2024-05"]["cpp_subsequent_ever"] == 1
    assert months["2024-05"]["cpp_subsequent_within_2y"] == 0


def test_number_of_previous_plans_alone_makes_a_plan_subsequent_ever_but_never_within_two_years() -> None:
    months = series([make_plan("2024-05-02", previous_plans=2)])

    assert months["2024-05"]["cpp_subsequent_ever"] == 1
    assert months["2024-05"]["cpp_subsequent_within_2y"] == 0


def test_an_earlier_plan_ending_24_calendar_months_before_clamped_to_month_end_is_within_two_years() -> None:
    # 2024-02-29 minus 24 calendar months is 2022-02-28 (no 29th): an end on that day is within, a day before is not.
    first = make_plan("2021-06-01")
    within = series([first, make_plan_end(first, "2022-02-28"), make_plan("2024-02-29")])
    outside = series([first, make_plan_end(first, "2022-02-27"), make_plan("2024-02-29")])

    assert within["2024-02"]["cpp_subsequent_within_2y"] == 1
    assert outside["2024-02"]["cpp_subsequent_within_2y"] == 0
    assert within["2024-02"]["cpp_subsequent_ever"] == outside["2024-02"]["cpp_subsequent_ever"] == 1


def test_the_funnel_follows_ids_from_contact_to_referral_to_assessment_to_in_need_in_the_contacts_month() -> None:
    contact = make_contact("2024-03-28", source=ReferralSource.POLICE)
    unlinked = make_contact("2024-03-29", source=ReferralSource.SCHOOLS)
    referral = make_referral("2024-04-02", contact_id=contact.contact_id)
    assessment = make_assessment(referral, "2024-04-03")
    months = series([contact, unlinked, referral, assessment, make_authorisation(assessment, "2024-05-01")])

    march = months["2024-03"]
    assert (march["contacts"], march["contacts_police"], march["contacts_schools"]) == (2, 1, 1)
    assert (march["funnel_referred_police"], march["funnel_assessed_police"], march["funnel_in_need_police"]) == (
        1,
        1,
        1,
    )
    assert march["funnel_referred_schools"] == 0
    assert march["contact_to_referral_rate"] == 0.5


def test_a_rereferral_is_counted_by_the_previous_referrals_closing_team_and_reason_and_rc9_is_a_step_down() -> None:
    first = make_referral("2024-01-10")
    closure = make_closure(first, "2024-02-01", ClosureReason.CLOSED_AFTER_ASSESSMENT_EARLY_HELP, closing_team="EH")
    months = series([first, closure, make_referral("2024-04-15")])

    assert months["2024-02"]["closures_RC9"] == months["2024-02"]["step_downs"] == 1
    april = months["2024-04"]
    assert april["rereferrals_previous_team_EH"] == 1 and april["rereferrals_previous_reason_RC9"] == 1
    assert april["rereferrals_after_step_down"] == 1 and april["rereferrals_after_step_down_rate"] == 1.0


def test_a_rereferral_whose_previous_referral_had_not_closed_is_counted_as_open() -> None:
    months = series([make_referral("2024-01-10"), make_referral("2024-02-15")])

    assert months["2024-02"]["rereferrals_previous_reason_open"] == 1


def test_a_referral_is_open_at_each_month_end_from_its_date_until_it_closes() -> None:
    referral = make_referral("2024-01-15")
    other = make_referral("2024-04-01", child_key=CHILD_B)
    months = series([referral, make_closure(referral, "2024-03-10"), other])

    assert [months[m]["referrals_open_month_end"] for m in ("2024-01", "2024-02", "2024-03", "2024-04")] == [1, 1, 0, 1]


def test_an_open_assessment_is_past_45_working_days_at_a_month_end_after_the_45th_working_day() -> None:
    # 45 working days after 2 January 2024 is 5 March 2024 (no bank holiday between).
    referral = make_referral("2024-01-02")
    assessment = make_assessment(referral, "2024-01-20")
    months = series([referral, assessment, make_authorisation(assessment, "2024-04-10"), make_referral("2024-05-01")])

    from_referral = [months[m]["assessments_past_45wd_from_referral"] for m in ("2024-02", "2024-03", "2024-04")]
    from_start = [months[m]["assessments_past_45wd_from_start"] for m in ("2024-02", "2024-03", "2024-04")]
    assert from_referral == [0, 1, 0]
    assert from_start == [0, 1, 0]  # 45 working days from 20 January fall on 22 March
    assert [months[m]["assessments_open_month_end"] for m in ("2024-01", "2024-03", "2024-04")] == [1, 1, 0]


def test_a_reporting_year_counts_distinct_children_and_takes_month_end_stocks_from_its_last_month() -> None:
    first = make_referral("2024-04-10")
    events = [first, make_nfa(first), make_referral("2024-06-10"), make_referral("2024-07-01", child_key=CHILD_B)]
    years = series(events, "year")
    quarters = series(events, "quarter")

    assert (years["2024-25"]["referrals"], years["2024-25"]["rereferrals"]) == (3, 1)
    assert (years["2024-25"]["children_referred"], years["2024-25"]["children_rereferred"]) == (2, 1)
    assert years["2024-25"]["referrals_open_month_end"] == 2
    assert quarters["2024-Q2"]["referrals"] == 2 and quarters["2024-Q3"]["referrals"] == 1


def test_a_rereferral_twelve_calendar_months_later_across_a_leap_day_is_not_one_under_365_days() -> None:
    # 2025-02-28 less 12 calendar months is 2024-02-28 (inside); less 365 days is 2024-02-29 (one day too late).
    events = [make_referral("2024-02-28"), make_referral("2025-02-28")]
    days365 = RuleConfig(retention_months=None, rereferral_window="365d")

    assert series(events)["2025-02"]["rereferrals"] == 1
    assert series(events, rules=days365)["2025-02"]["rereferrals"] == 0


def _story() -> list[InboundEvent]:
    contact = make_contact("2024-01-03")
    first = make_referral("2024-01-05", contact_id=contact.contact_id)
    assessment = make_assessment(first, "2024-01-08")
    plan = make_plan("2024-02-01")
    again = make_referral("2024-06-10", source=ReferralSource.SCHOOLS)
    return [
        contact,
        first,
        assessment,
        make_authorisation(assessment, "2024-03-20", in_need=True),
        make_closure(first, "2024-04-01", ClosureReason.CLOSED_AFTER_ASSESSMENT_EARLY_HELP),
        plan,
        make_plan_end(plan, "2024-05-01"),
        make_plan("2024-09-01"),
        again,
        make_nfa(again, "2024-06-20"),
        make_referral("2024-07-01", child_key=CHILD_B),
        make_contact("2024-08-01", child_key=CHILD_B),
    ]


@settings(max_examples=60, deadline=None)
@given(order=st.permutations(_story()))
def test_any_arrival_order_of_the_same_events_gives_the_same_monthly_series(order: list[InboundEvent]) -> None:
    assert series_by(totals_of(order), "month") == series_by(totals_of(_story()), "month")


def test_an_engine_that_evaluates_no_alerts_keeps_exactly_the_same_histories() -> None:
    from bench.processor.harness import simulated_feed  # noqa: PLC0415  # one test needs a realistic feed

    feed = simulated_feed(("942",), annual_referrals=80, seed=9)
    with_alerts, facts_only = Engine(OFFLINE), Engine(OFFLINE, alerts=False)
    for event in feed:
        with_alerts.apply(event)
        facts_only.apply(event)

    assert {c: h.facts for c, h in facts_only.children.items()} == {c: h.facts for c, h in with_alerts.children.items()}
    assert facts_only.redirects == with_alerts.redirects and not facts_only.standing_alert_ids()
