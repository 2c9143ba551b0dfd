"""Spec tests for the alert rules other than re-referral, and for how late, retracted and merged data revise them."""

from __future__ import annotations

from typing import Any

from schemas.alerts import (
    AlertRevised,
    AlertWithdrawn,
    RepeatChildProtectionPlan,
    RepeatedContactsDetected,
    RereferralDetected,
    TwoReferralsInSixMonths,
)
from schemas.codes import ClosureReason, PrimaryNeed, Rule, Severity
from services.core.config import RuleConfig
from services.core.engine import Engine
from tests.builders import (
    day,
    make_closure,
    make_contact,
    make_merge,
    make_nfa,
    make_plan,
    make_plan_end,
    make_referral,
    make_retraction,
)

CONFIG = RuleConfig(retention_months=None)


def run(*events: Any, engine: Engine | None = None) -> list[Any]:
    engine = engine or Engine(CONFIG)
    return [m for e in events for m in engine.apply(e)[1]]


def of_rule(messages: list[Any], rule: Rule) -> list[Any]:
    return [m for m in messages if getattr(m, "rule", None) is rule and not isinstance(m, AlertWithdrawn)]


def test_third_contact_in_ninety_days_without_an_open_referral_raises_repeated_contacts() -> None:
    messages = run(make_contact("2024-01-01"), make_contact("2024-02-01"), make_contact("2024-03-30"))
    [alert] = of_rule(messages, Rule.REPEATED_CONTACTS)
    assert isinstance(alert, RepeatedContactsDetected)
    assert (alert.contact_count, alert.window_days, alert.contact_date) == (3, 90, day("2024-03-30"))


def test_three_contacts_spread_over_more_than_ninety_days_raise_nothing() -> None:
    messages = run(make_contact("2024-01-01"), make_contact("2024-02-01"), make_contact("2024-03-31"))
    assert of_rule(messages, Rule.REPEATED_CONTACTS) == []


def test_repeated_contacts_while_a_referral_is_open_raise_nothing() -> None:
    messages = run(
        make_referral("2023-12-01"), make_contact("2024-01-01"), make_contact("2024-01-10"), make_contact("2024-01-20")
    )
    assert of_rule(messages, Rule.REPEATED_CONTACTS) == []


def test_the_same_contact_recorded_twice_counts_once() -> None:
    messages = run(
        make_contact("2024-01-01", contact_id="c1"),
        make_contact("2024-01-01", contact_id="c1"),
        make_contact("2024-01-05", contact_id="c2"),
    )
    assert of_rule(messages, Rule.REPEATED_CONTACTS) == []


def test_a_contact_within_thirty_days_of_an_nfa_referral_raises_contact_after_closure() -> None:
    referral = make_referral("2024-01-01")
    messages = run(referral, make_nfa(referral, "2024-01-03"), make_contact("2024-02-02"))
    [alert] = of_rule(messages, Rule.CONTACT_AFTER_CLOSURE)
    assert alert.severity is Severity.HIGH


def test_a_contact_within_thirty_days_of_an_rc8_or_rc9_closure_raises_contact_after_closure() -> None:
    for reason in (ClosureReason.CLOSED_AFTER_ASSESSMENT_NFA, ClosureReason.CLOSED_AFTER_ASSESSMENT_EARLY_HELP):
        referral = make_referral("2024-01-01")
        messages = run(referral, make_closure(referral, "2024-02-20", reason), make_contact("2024-03-01"))
        assert len(of_rule(messages, Rule.CONTACT_AFTER_CLOSURE)) == 1


def test_a_contact_after_a_closure_for_other_reasons_or_after_thirty_days_raises_nothing() -> None:
    referral = make_referral("2024-01-01")
    closed_rc7 = run(
        referral, make_closure(referral, "2024-02-20", ClosureReason.SERVICES_CEASED), make_contact("2024-03-01")
    )
    referral = make_referral("2024-01-01")
    late = run(referral, make_nfa(referral, "2024-01-01"), make_contact("2024-02-01"))
    assert of_rule(closed_rc7, Rule.CONTACT_AFTER_CLOSURE) == of_rule(late, Rule.CONTACT_AFTER_CLOSURE) == []


def test_two_referrals_within_six_months_go_on_the_weekly_review_list() -> None:
    [alert] = of_rule(run(make_referral("2024-01-15"), make_referral("2024-07-15")), Rule.TWO_REFERRALS_IN_SIX_MONTHS)
    assert isinstance(alert, TwoReferralsInSixMonths)
    assert alert.previous_referral_date == day("2024-01-15")
    assert (
        of_rule(run(make_referral("2024-01-15"), make_referral("2024-07-16")), Rule.TWO_REFERRALS_IN_SIX_MONTHS) == []
    )


def test_a_plan_for_a_second_time_within_two_years_of_the_last_ending_is_high_severity() -> None:
    first = make_plan("2022-01-10", plan_id="p1")
    [alert] = of_rule(
        run(first, make_plan_end(first, "2022-09-01"), make_plan("2024-08-01", plan_id="p2")),
        Rule.REPEAT_CHILD_PROTECTION_PLAN,
    )
    assert isinstance(alert, RepeatChildProtectionPlan)
    assert (alert.previous_plans, alert.within_two_years, alert.severity) == (1, True, Severity.HIGH)


def test_a_plan_more_than_two_years_after_the_last_ended_is_subsequent_but_not_within_two_years() -> None:
    first = make_plan("2020-01-10", plan_id="p1")
    [alert] = of_rule(
        run(first, make_plan_end(first, "2020-09-01"), make_plan("2022-09-02", plan_id="p2")),
        Rule.REPEAT_CHILD_PROTECTION_PLAN,
    )
    assert (alert.within_two_years, alert.severity) == (False, Severity.MEDIUM)


def test_a_plan_whose_record_says_there_were_previous_plans_is_subsequent_ever() -> None:
    [alert] = of_rule(run(make_plan("2024-01-10", previous_plans=2)), Rule.REPEAT_CHILD_PROTECTION_PLAN)
    assert (alert.previous_plans, alert.within_two_years) == (2, False)


def test_a_first_plan_raises_nothing() -> None:
    assert run(make_plan("2024-01-10", previous_plans=0)) == []


def test_rereferral_alert_is_enriched_with_the_previous_closure_need_and_contacts() -> None:
    first = make_referral("2024-01-10", primary_need=PrimaryNeed.N1)
    messages = run(
        first,
        make_closure(first, "2024-02-20", ClosureReason.CLOSED_AFTER_ASSESSMENT_NFA, closing_team="Team East"),
        make_contact("2024-04-01"),
        make_referral("2024-04-02", primary_need=PrimaryNeed.N1),
    )
    [alert] = [m for m in messages if isinstance(m, RereferralDetected)]
    e = alert.enrichment
    assert (e.days_since_previous_referral, e.referrals_in_12_months) == (83, 2)
    assert (e.previous_closure_reason, e.previous_closing_team) == (
        ClosureReason.CLOSED_AFTER_ASSESSMENT_NFA,
        "Team East",
    )
    assert (e.same_primary_need_as_previous, e.contacts_in_90_days, e.previous_cp_plan) == (True, 1, False)


def test_a_late_earlier_referral_raises_the_rereferral_it_reveals() -> None:
    engine = Engine(CONFIG)
    run(make_referral("2024-05-10"), engine=engine)
    [alert] = [m for m in run(make_referral("2024-01-10"), engine=engine) if isinstance(m, RereferralDetected)]
    assert alert.referral_date == day("2024-05-10")


def test_a_late_referral_in_between_revises_the_alert_that_follows_it() -> None:
    engine = Engine(CONFIG)
    run(make_referral("2024-01-10"), make_referral("2024-09-10"), engine=engine)
    messages = run(make_referral("2024-05-10"), engine=engine)
    revised = [m for m in messages if isinstance(m, AlertRevised) and m.alert.rule is Rule.REREFERRAL]
    assert [r.alert.previous_referral_date for r in revised] == [day("2024-05-10")]


def test_retracting_the_previous_referral_withdraws_the_rereferral() -> None:
    engine = Engine(CONFIG)
    earlier = make_referral("2024-01-10")
    raised = run(earlier, make_referral("2024-05-10"), engine=engine)
    messages = run(make_retraction(earlier), engine=engine)
    withdrawn = {m.alert_id for m in messages if isinstance(m, AlertWithdrawn)}
    assert {m.alert_id for m in raised} == withdrawn
    assert engine.standing_alert_ids() == set()


def test_a_retraction_arriving_before_its_event_means_the_event_never_counts() -> None:
    earlier = make_referral("2024-01-10")
    messages = run(make_retraction(earlier), earlier, make_referral("2024-05-10"))
    assert messages == []


def test_merging_two_records_of_one_child_reveals_the_rereferral_across_them() -> None:
    engine = Engine(CONFIG)
    run(make_referral("2024-01-10", child_key="old"), make_referral("2024-05-10", child_key="new"), engine=engine)
    messages = run(make_merge(into="new", merged="old"), engine=engine)
    [alert] = [m for m in messages if isinstance(m, RereferralDetected)]
    assert (alert.child_key, alert.previous_referral_date) == ("new", day("2024-01-10"))
    run(make_referral("2024-06-10", child_key="old"), engine=engine)  # a late event for the old record follows
    assert ("886", "old") not in engine.children


def test_merging_withdraws_the_merged_records_own_alerts() -> None:
    engine = Engine(CONFIG)
    raised = run(
        make_referral("2024-01-10", child_key="old"), make_referral("2024-02-10", child_key="old"), engine=engine
    )
    messages = run(make_merge(into="new", merged="old"), engine=engine)
    assert {m.alert_id for m in messages if isinstance(m, AlertWithdrawn)} == {m.alert_id for m in raised}


def test_alerts_carry_the_source_group_of_the_referral_or_contact_for_partner_views() -> None:
    messages = run(make_referral("2024-01-10"), make_referral("2024-03-10"))
    contact_alerts = of_rule(run(*[make_contact(f"2024-0{m}-01") for m in (1, 2, 3)]), Rule.REPEATED_CONTACTS)
    assert {m.source_group.value for m in messages} == {"police"}
    assert [m.source_group.value for m in contact_alerts] == ["schools"]
