"""Golden tests: each DfE definition of a referral and a re-referral, one rule per test."""

from __future__ import annotations

import datetime as dt

from schemas.alerts import RereferralDetected
from services.core.config import RuleConfig
from services.core.engine import Engine
from services.core.indicators import rereferral_stats
from tests.builders import day, make_nfa, make_referral

WHOLE_HISTORY = RuleConfig(retention_months=None)


def rereferrals_raised(*events: object, config: RuleConfig = WHOLE_HISTORY) -> list[RereferralDetected]:
    engine = Engine(config)
    messages = [m for e in events for m in engine.apply(e)[1]]  # type: ignore[arg-type]
    return [m for m in messages if isinstance(m, RereferralDetected)]


def stats_for(*events: object, start: str, end: str, config: RuleConfig = WHOLE_HISTORY):  # type: ignore[no-untyped-def]
    engine = Engine(config)
    for e in events:
        engine.apply(e)  # type: ignore[arg-type]
    return rereferral_stats(engine.children.values(), day(start), day(end), config)


def test_referral_exactly_twelve_calendar_months_after_previous_is_a_rereferral() -> None:
    alerts = rereferrals_raised(make_referral("2023-06-15"), make_referral("2024-06-15"))
    assert [(a.referral_date, a.previous_referral_date) for a in alerts] == [(day("2024-06-15"), day("2023-06-15"))]


def test_referral_twelve_months_and_one_day_after_previous_is_not_a_rereferral() -> None:
    assert rereferrals_raised(make_referral("2023-06-15"), make_referral("2024-06-16")) == []


def test_leap_day_referral_looks_back_to_the_last_day_of_february() -> None:
    # 2024-02-29 minus 12 calendar months is clamped to 2023-02-28.
    assert len(rereferrals_raised(make_referral("2023-02-28"), make_referral("2024-02-29"))) == 1
    assert rereferrals_raised(make_referral("2023-02-27"), make_referral("2024-02-29")) == []


def test_referral_a_year_after_a_leap_day_referral_is_a_rereferral() -> None:
    # 2025-02-28 minus 12 months is 2024-02-28, so a referral on 2024-02-29 is inside the window...
    assert len(rereferrals_raised(make_referral("2024-02-29"), make_referral("2025-02-28"))) == 1
    # ...and 2025-03-01 minus 12 months is 2024-03-01, so it is not.
    assert rereferrals_raised(make_referral("2024-02-29"), make_referral("2025-03-01")) == []


def test_the_365_day_alternative_window_counts_days_not_calendar_months() -> None:
    config = RuleConfig(rereferral_window="365d", retention_months=None)
    # 2024 is a leap year: 2023-06-15 to 2024-06-15 is 366 days, outside a 365-day window.
    assert rereferrals_raised(make_referral("2023-06-15"), make_referral("2024-06-15"), config=config) == []
    assert len(rereferrals_raised(make_referral("2023-06-16"), make_referral("2024-06-15"), config=config)) == 1


def test_same_day_duplicate_referrals_collapse_into_one_and_the_number_collapsed_is_reported() -> None:
    first = make_referral("2024-06-03", referral_id="r-1")
    duplicate = make_referral("2024-06-03", referral_id="r-2")
    stats = stats_for(first, duplicate, start="2024-04-01", end="2025-03-31")
    assert (stats.referrals, stats.rereferrals, stats.same_day_collapsed) == (1, 0, 1)
    assert rereferrals_raised(first, duplicate) == []


def test_look_back_crosses_the_period_start() -> None:
    stats = stats_for(make_referral("2024-01-10"), make_referral("2024-05-10"), start="2024-04-01", end="2025-03-31")
    assert (stats.referrals, stats.rereferrals, stats.rereferral_rate) == (1, 1, 1.0)


def test_nfa_referral_counts_as_the_previous_referral() -> None:
    earlier = make_referral("2024-01-10")
    alerts = rereferrals_raised(earlier, make_nfa(earlier, "2024-01-12"), make_referral("2024-05-10"))
    assert [a.previous_referral_date for a in alerts] == [day("2024-01-10")]


def test_nfa_referral_counts_as_a_current_referral_and_as_nfa() -> None:
    later = make_referral("2024-05-10")
    stats = stats_for(make_referral("2024-01-10"), later, make_nfa(later), start="2024-04-01", end="2025-03-31")
    assert (stats.referrals, stats.rereferrals, stats.nfa_referrals) == (1, 1, 1)


def test_every_repeat_counts_the_second_and_third_rereferral_are_both_rereferrals() -> None:
    events = [make_referral(d) for d in ("2024-04-05", "2024-07-01", "2024-10-01")]
    stats = stats_for(*events, start="2024-04-01", end="2025-03-31")
    assert (stats.referrals, stats.rereferrals) == (3, 2)
    assert (stats.children_referred, stats.children_rereferred) == (1, 1)
    assert [a.enrichment.referrals_in_12_months for a in rereferrals_raised(*events)] == [2, 3]


def test_child_level_rate_divides_children_with_a_rereferral_by_children_referred() -> None:
    events = [
        make_referral("2024-05-01", child_key="a"),
        make_referral("2024-06-01", child_key="a"),
        make_referral("2024-07-01", child_key="b"),
    ]
    stats = stats_for(*events, start="2024-04-01", end="2025-03-31")
    assert (stats.rereferral_rate, stats.child_rereferral_rate) == (round(1 / 3, 6), 0.5)


def test_referrals_of_the_same_child_in_another_council_are_not_previous_referrals() -> None:
    alerts = rereferrals_raised(make_referral("2024-01-10", la_code="886"), make_referral("2024-05-10", la_code="201"))
    assert alerts == []


def test_a_referral_before_the_period_is_not_counted_in_it() -> None:
    stats = stats_for(make_referral("2024-03-31"), start="2024-04-01", end="2025-03-31")
    assert stats.referrals == 0


def test_period_end_is_inclusive() -> None:
    stats = stats_for(make_referral("2025-03-31"), start="2024-04-01", end="2025-03-31")
    assert stats.referrals == 1


def test_alert_ids_are_the_same_for_the_same_input() -> None:
    first = rereferrals_raised(make_referral("2024-01-10"), make_referral("2024-05-10"))
    again = rereferrals_raised(make_referral("2024-01-10"), make_referral("2024-05-10"))
    assert [a.alert_id for a in first] == [a.alert_id for a in again]
    assert dt.date(2024, 5, 10) == first[0].referral_date
