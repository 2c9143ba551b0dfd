"""Council aggregates are sums of per-child contributions and reconcile exactly with the C1 indicators."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from hypothesis import HealthCheck, given, settings

from schemas.codes import ContactOutcome
from schemas.events import InboundEvent
from services.core.aggregates import AggregateKey, contribution
from services.core.config import RuleConfig
from services.core.engine import Engine
from services.core.indicators import rereferral_stats
from tests.builders import make_contact, make_decision, make_nfa, make_plan, make_plan_end, make_referral
from tests.unit.test_arrival_order_properties import front_door_histories

CONFIG = RuleConfig(retention_months=None)


def council_totals(events: list[InboundEvent]) -> tuple[Engine, Counter[AggregateKey]]:
    engine = Engine(CONFIG)
    for event in events:
        engine.apply(event)
    totals: Counter[AggregateKey] = Counter()
    for history in engine.children.values():
        totals.update(contribution(history, CONFIG))
    return engine, totals


def measure(totals: Counter[AggregateKey], name: str, months: list[str]) -> int:
    return sum(v for (month, m, _), v in totals.items() if m == name and month in months)


REPORTING_YEAR = [f"2023-{m:02d}" for m in range(4, 13)] + [f"2024-{m:02d}" for m in range(1, 4)]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=front_door_histories())
def test_summed_contributions_equal_the_c1_figures_for_a_reporting_year(events: list[InboundEvent]) -> None:
    engine, totals = council_totals(events)
    stats = rereferral_stats(engine.children.values(), dt.date(2023, 4, 1), dt.date(2024, 3, 31), CONFIG)
    assert measure(totals, "referrals", REPORTING_YEAR) == stats.referrals
    assert measure(totals, "rereferrals", REPORTING_YEAR) == stats.rereferrals
    assert measure(totals, "nfa_referrals", REPORTING_YEAR) == stats.nfa_referrals
    assert totals[("2024-03", "children_referred_ytd", "")] == stats.children_referred
    assert totals[("2024-03", "children_rereferred_ytd", "")] == stats.children_rereferred


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=front_door_histories())
def test_rolling_twelve_month_child_counts_equal_the_indicator_for_month_end_windows(
    events: list[InboundEvent],
) -> None:
    engine, totals = council_totals(events)
    stats = rereferral_stats(engine.children.values(), dt.date(2023, 7, 1), dt.date(2024, 6, 30), CONFIG)
    assert totals[("2024-06", "children_referred_r12", "")] == stats.children_referred
    assert totals[("2024-06", "children_rereferred_r12", "")] == stats.children_rereferred


def test_contacts_and_decisions_feed_the_conversion_by_source_group() -> None:
    contact = make_contact("2024-05-02")
    _, totals = council_totals([contact, make_decision(contact, ContactOutcome.REFERRAL), make_contact("2024-05-20")])
    assert totals[("2024-05", "contacts", "schools")] == 2
    assert totals[("2024-05", "contact_decisions", "referral")] == 1


def test_an_open_referral_counts_in_the_open_caseload_until_it_is_marked_nfa() -> None:
    referral = make_referral("2024-05-02")
    _, before = council_totals([referral])
    _, after = council_totals([referral, make_nfa(referral)])
    assert (before[("2024-05", "referrals_open", "")], after[("2024-05", "referrals_open", "")]) == (1, 0)
    assert after[("2024-05", "nfa_referrals", "police")] == 1


def test_repeat_plans_count_ever_and_within_two_years() -> None:
    first = make_plan("2022-01-10", plan_id="p1")
    _, totals = council_totals([first, make_plan_end(first, "2022-09-01"), make_plan("2024-03-01", plan_id="p2")])
    assert (totals[("2024-03", "cpp_starts", "")], totals[("2024-03", "cpp_repeat_ever", "")]) == (1, 1)
    assert totals[("2024-03", "cpp_repeat_within_two_years", "")] == 1


def test_undecided_contacts_count_until_the_mash_decides() -> None:
    contact = make_contact("2024-05-02")
    _, before = council_totals([contact])
    _, after = council_totals([contact, make_decision(contact, ContactOutcome.NFA)])
    assert (
        before[("2024-05", "contacts_undecided", "schools")],
        after[("2024-05", "contacts_undecided", "schools")],
    ) == (1, 0)


def test_a_child_with_two_referrals_in_six_months_counts_in_the_six_months_from_the_second() -> None:
    _, totals = council_totals([make_referral("2024-01-15"), make_referral("2024-05-15")])
    months = sorted(m for (m, measure, _), v in totals.items() if measure == "children_two_referrals_r6" and v)
    assert months == ["2024-05", "2024-06", "2024-07", "2024-08", "2024-09", "2024-10"]
    _, apart = council_totals([make_referral("2024-01-15"), make_referral("2024-08-15")])
    assert not any(measure == "children_two_referrals_r6" for (_, measure, _) in apart)
