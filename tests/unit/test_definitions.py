"""Spec tests for services/core/definitions.py: one DfE or Ofsted definition per public function."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from schemas.codes import ReferralSource
from services.core.config import ALWAYS, CouncilRules, RuleConfig
from services.core.definitions import (
    is_rereferral,
    is_subsequent_plan,
    is_subsequent_plan_within_two_years,
    is_two_referrals_in_six_months,
    referrals,
    repeated_contacts,
)
from services.core.facts import Fact, Kind
from tests.builders import at, day

TWELVE_MONTHS = RuleConfig()
DAYS_365 = RuleConfig(rereferral_window="365d")
COUNT_AFTER_CLOSURE = RuleConfig(same_day_referrals="count_after_closure")


def make_fact(kind: Kind, date: str, ref: str, hour: int = 10, **overrides: Any) -> Fact:
    fields: dict[str, Any] = {"code": ReferralSource.POLICE.value if kind is Kind.REFERRAL else None} | overrides
    return Fact(day=day(date), kind=kind, occurred_at=at(date, hour), event_id=f"{ref}-{kind.name}", ref=ref, **fields)


def in_order(*facts: Fact) -> list[Fact]:
    return sorted(facts, key=lambda f: f.sort_key)


# is_rereferral


def test_a_referral_exactly_twelve_calendar_months_after_the_previous_is_a_rereferral() -> None:
    assert is_rereferral(day("2024-06-15"), day("2023-06-15"), TWELVE_MONTHS)


def test_a_referral_twelve_months_and_a_day_after_the_previous_is_not_a_rereferral() -> None:
    assert not is_rereferral(day("2024-06-16"), day("2023-06-15"), TWELVE_MONTHS)


def test_a_first_referral_is_not_a_rereferral() -> None:
    assert not is_rereferral(day("2024-06-15"), None, TWELVE_MONTHS)


def test_twelve_months_before_a_leap_day_is_the_last_day_of_february() -> None:
    assert is_rereferral(day("2024-02-29"), day("2023-02-28"), TWELVE_MONTHS)
    assert not is_rereferral(day("2024-02-29"), day("2023-02-27"), TWELVE_MONTHS)


def test_365_days_across_a_leap_year_is_a_day_short_of_twelve_months() -> None:
    # 2023-06-15 to 2024-06-15 is 366 days because it crosses 2024-02-29.
    assert is_rereferral(day("2024-06-15"), day("2023-06-15"), TWELVE_MONTHS)
    assert not is_rereferral(day("2024-06-15"), day("2023-06-15"), DAYS_365)
    assert is_rereferral(day("2024-06-15"), day("2023-06-16"), DAYS_365)


def test_365_days_outside_a_leap_year_is_exactly_twelve_months() -> None:
    assert is_rereferral(day("2023-06-15"), day("2022-06-15"), DAYS_365)
    assert not is_rereferral(day("2023-06-15"), day("2022-06-14"), DAYS_365)


def test_a_separate_referral_on_the_same_day_as_the_previous_is_a_rereferral() -> None:
    assert is_rereferral(day("2024-06-15"), day("2024-06-15"), TWELVE_MONTHS)


# referrals: the same-day policy


def referral_days(facts: list[Fact], rules: RuleConfig | CouncilRules) -> list[tuple[dt.date, bool, set[str]]]:
    return [(r.day, r.rereferral, r.refs) for r in referrals(facts, rules, "886")]


def test_same_day_referrals_collapse_into_one_under_the_collapse_policy() -> None:
    facts = in_order(
        make_fact(Kind.REFERRAL, "2024-06-03", "r1", hour=9),
        make_fact(Kind.REFERRAL_NFA, "2024-06-03", "r1", hour=10),
        make_fact(Kind.REFERRAL, "2024-06-03", "r2", hour=11),
    )
    assert referral_days(facts, TWELVE_MONTHS) == [(day("2024-06-03"), False, {"r1", "r2"})]


def test_a_second_same_day_referral_after_the_first_was_marked_nfa_counts_under_count_after_closure() -> None:
    facts = in_order(
        make_fact(Kind.REFERRAL, "2024-06-03", "r1", hour=9),
        make_fact(Kind.REFERRAL_NFA, "2024-06-03", "r1", hour=10),
        make_fact(Kind.REFERRAL, "2024-06-03", "r2", hour=11),
    )
    assert referral_days(facts, COUNT_AFTER_CLOSURE) == [
        (day("2024-06-03"), False, {"r1"}),
        (day("2024-06-03"), True, {"r2"}),
    ]


def test_a_second_same_day_referral_after_the_first_episode_closed_counts_under_count_after_closure() -> None:
    facts = in_order(
        make_fact(Kind.REFERRAL, "2024-06-03", "r1", hour=9),
        make_fact(Kind.EPISODE_CLOSED, "2024-06-03", "r1", hour=10, code="RC8"),
        make_fact(Kind.REFERRAL, "2024-06-03", "r2", hour=10),  # the same time: the closure comes first
    )
    assert [flag for _, flag, _ in referral_days(facts, COUNT_AFTER_CLOSURE)] == [False, True]


def test_a_second_same_day_referral_while_the_first_is_open_collapses_even_under_count_after_closure() -> None:
    facts = in_order(
        make_fact(Kind.REFERRAL, "2024-06-03", "r1", hour=9),
        make_fact(Kind.REFERRAL, "2024-06-03", "r2", hour=11),
        make_fact(Kind.REFERRAL_NFA, "2024-06-03", "r1", hour=12),  # closed after the second arrived
    )
    assert referral_days(facts, COUNT_AFTER_CLOSURE) == [(day("2024-06-03"), False, {"r1", "r2"})]


def test_a_closure_on_a_later_day_does_not_separate_same_day_referrals() -> None:
    facts = in_order(
        make_fact(Kind.REFERRAL, "2024-06-03", "r1", hour=9),
        make_fact(Kind.REFERRAL, "2024-06-03", "r2", hour=11),
        make_fact(Kind.EPISODE_CLOSED, "2024-06-04", "r1", hour=8, code="RC8"),
    )
    assert len(referrals(facts, COUNT_AFTER_CLOSURE, "886")) == 1


def test_the_same_day_policy_is_the_one_in_force_on_the_referral_day() -> None:
    rules = CouncilRules(councils={"886": ((ALWAYS, TWELVE_MONTHS), (day("2025-04-01"), COUNT_AFTER_CLOSURE))})
    for date, expected in (("2025-03-31", 1), ("2025-04-01", 2)):
        facts = in_order(
            make_fact(Kind.REFERRAL, date, "r1", hour=9),
            make_fact(Kind.REFERRAL_NFA, date, "r1", hour=10),
            make_fact(Kind.REFERRAL, date, "r2", hour=11),
        )
        assert len(referrals(facts, rules, "886")) == expected


# is_two_referrals_in_six_months


def test_a_referral_exactly_six_calendar_months_after_the_previous_is_two_in_six_months() -> None:
    assert is_two_referrals_in_six_months(day("2024-08-31"), day("2024-02-29"), TWELVE_MONTHS)
    assert not is_two_referrals_in_six_months(day("2024-08-31"), day("2024-02-28"), TWELVE_MONTHS)
    assert not is_two_referrals_in_six_months(day("2024-08-31"), None, TWELVE_MONTHS)


# second or subsequent child protection plan


def test_a_plan_with_an_earlier_plan_in_the_history_is_a_subsequent_plan() -> None:
    assert is_subsequent_plan(previous_plans_recorded=None, earlier_plans=1)


def test_number_of_previous_cpp_alone_makes_a_subsequent_plan() -> None:
    assert is_subsequent_plan(previous_plans_recorded=2, earlier_plans=0)


def test_a_first_plan_is_not_a_subsequent_plan() -> None:
    assert not is_subsequent_plan(previous_plans_recorded=0, earlier_plans=0)
    assert not is_subsequent_plan(previous_plans_recorded=None, earlier_plans=0)


def test_a_plan_ending_exactly_twenty_four_calendar_months_before_the_start_is_within_two_years() -> None:
    assert is_subsequent_plan_within_two_years(day("2024-03-01"), [day("2022-03-01")], TWELVE_MONTHS)
    assert not is_subsequent_plan_within_two_years(day("2024-03-01"), [day("2022-02-28")], TWELVE_MONTHS)


def test_a_plan_ending_on_the_new_plans_start_day_is_within_two_years_and_one_ending_after_is_not() -> None:
    assert is_subsequent_plan_within_two_years(day("2024-03-01"), [day("2024-03-01")], TWELVE_MONTHS)
    assert not is_subsequent_plan_within_two_years(day("2024-03-01"), [day("2024-03-02")], TWELVE_MONTHS)


def test_no_earlier_plan_end_is_not_within_two_years() -> None:
    assert not is_subsequent_plan_within_two_years(day("2024-03-01"), [], TWELVE_MONTHS)


# repeated contacts


def test_three_distinct_contacts_in_ninety_days_reach_the_threshold() -> None:
    facts = [make_fact(Kind.CONTACT, d, f"c{n}") for n, d in enumerate(("2024-01-01", "2024-02-01", "2024-03-30"))]
    assert repeated_contacts(facts, day("2024-03-30"), TWELVE_MONTHS) == (3, True)


def test_a_contact_ninety_one_days_before_is_outside_the_window() -> None:
    facts = [make_fact(Kind.CONTACT, d, f"c{n}") for n, d in enumerate(("2024-01-01", "2024-02-01", "2024-03-31"))]
    assert repeated_contacts(facts, day("2024-03-31"), TWELVE_MONTHS) == (2, False)


def test_the_same_contact_recorded_twice_counts_once() -> None:
    facts = [make_fact(Kind.CONTACT, "2024-01-01", "c1"), make_fact(Kind.CONTACT, "2024-01-02", "c1")]
    assert repeated_contacts(facts, day("2024-01-02"), TWELVE_MONTHS).contacts == 1


def test_a_council_may_set_its_own_number_and_window_of_repeated_contacts() -> None:
    config = RuleConfig(repeated_contacts_min=2, repeated_contacts_window_days=30)
    facts = [make_fact(Kind.CONTACT, d, f"c{n}") for n, d in enumerate(("2024-01-01", "2024-01-30"))]
    assert repeated_contacts(facts, day("2024-01-30"), config) == (2, True)
    assert repeated_contacts(facts[1:], day("2024-01-31"), config) == (1, False)


# CouncilRules: the definition in force


def test_a_council_not_listed_follows_the_default() -> None:
    rules = CouncilRules(default=((ALWAYS, DAYS_365),), councils={"886": ((ALWAYS, TWELVE_MONTHS),)})
    assert rules.at("201", day("2024-01-01")) is DAYS_365
    assert rules.at("886", day("2024-01-01")) is TWELVE_MONTHS


def test_a_dated_change_applies_from_its_date_and_never_to_the_history_before_it() -> None:
    rules = CouncilRules(councils={"886": ((ALWAYS, TWELVE_MONTHS), (day("2025-04-01"), DAYS_365))})
    assert rules.at("886", day("2025-03-31")) is TWELVE_MONTHS
    assert rules.at("886", day("2025-04-01")) is DAYS_365
    assert rules.for_council("886") is DAYS_365


def test_a_timeline_must_start_from_always_and_ascend() -> None:
    with pytest.raises(ValueError, match="ALWAYS"):
        CouncilRules(councils={"886": ((day("2025-04-01"), DAYS_365),)})
    with pytest.raises(ValueError, match="ascending"):
        CouncilRules(councils={"886": ((ALWAYS, TWELVE_MONTHS), (ALWAYS, DAYS_365))})
