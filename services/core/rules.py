"""The alert rules. Each alert is anchored at one fact and reads only the facts up to the end of its day.

That property is what makes late data tractable: a fact inserted or retracted on day d can only change alerts
anchored on day d or later, so the history re-evaluates exactly those and diffs them against what it raised.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from schemas.alerts import (
    Enrichment,
    RaisedAlert,
    RepeatChildProtectionPlan,
    RepeatedContactsDetected,
    RereferralDetected,
    TwoReferralsInSixMonths,
    alert_id,
)
from schemas.codes import ClosureReason, ReferralSource, Rule, Severity, SourceGroup, source_group
from services.core.calendar import rereferral_window_start
from services.core.config import RuleConfig, Rules
from services.core.definitions import (
    ReferralRecords,
    is_two_referrals_in_six_months,
    plans,
    referrals,
    repeated_contacts,
)
from services.core.facts import Fact, Kind

CLOSED_WITHOUT_SERVICE = {
    ClosureReason.CLOSED_AFTER_ASSESSMENT_NFA.value,
    ClosureReason.CLOSED_AFTER_ASSESSMENT_EARLY_HELP.value,
}


def alerts_at(facts: Sequence[Fact], i: int, la_code: str, child_key: str, rules: Rules) -> list[RaisedAlert]:
    """Every alert anchored at facts[i], computed from the facts up to the end of facts[i]'s day only.

    The definition used is the council's in force on facts[i]'s date.
    """
    fact = facts[i]
    if fact.kind is Kind.REFERRAL:
        return _referral_alerts(facts, i, la_code, child_key, rules)
    if fact.kind is Kind.CONTACT:
        return _contact_alerts(facts, i, la_code, child_key, rules)
    if fact.kind is Kind.CPP_STARTED:
        return _plan_alerts(facts, i, la_code, child_key, rules)
    return []


def _group(fact: Fact) -> SourceGroup | None:
    """The Annex A source group of a referral or contact, for partner agencies' views."""
    return source_group(ReferralSource(fact.code)) if fact.code else None


def _referrals_before(facts: Sequence[Fact], i: int, la_code: str, rules: Rules) -> list[ReferralRecords]:
    """The referrals dated before facts[i]'s date, for the context of a contact or plan alert."""
    day = facts[i].day
    return [r for r in referrals(facts[:i], rules, la_code) if r.day < day]


def _referral_alerts(facts: Sequence[Fact], i: int, la_code: str, child_key: str, rules: Rules) -> list[RaisedAlert]:
    fact = facts[i]
    config = rules.at(la_code, fact.day)
    *earlier, current = referrals(facts[: i + 1], rules, la_code)
    if current.first is not fact:
        return []  # a record collapsed into an earlier referral: that referral's first record carries the alerts
    if not earlier:
        return []
    previous = earlier[-1].first
    previous_day = previous.day
    enrichment = enrich(facts, i, config, earlier)
    alerts: list[RaisedAlert] = []
    # A separate referral on the day of an earlier one (count_after_closure) needs its own anchor.
    anchor = fact.day.isoformat() if previous_day < fact.day else f"{fact.day.isoformat()}/{fact.ref}"
    # What both referral alerts say about this referral; each adds its own rule, id and severity.
    common = {
        "la_code": la_code,
        "child_key": child_key,
        "occurred_at": fact.occurred_at,
        "trigger_event_id": fact.event_id,
        "team": fact.team,
        "source_group": _group(fact),
        "enrichment": enrichment,
        "referral_id": fact.ref,
        "referral_date": fact.day,
        "previous_referral_date": previous_day,
    }
    if current.rereferral:  # decided once, by definitions.is_rereferral
        alerts.append(
            RereferralDetected.model_validate(
                common
                | {
                    "alert_id": alert_id(Rule.REREFERRAL, la_code, child_key, anchor),
                    "rule": Rule.REREFERRAL,
                    "severity": _rereferral_severity(enrichment, fact.day, previous_day, config),
                    "previous_referral_id": previous.ref,
                    "primary_need": fact.need,
                }
            )
        )
    if is_two_referrals_in_six_months(fact.day, previous_day, config):
        alerts.append(
            TwoReferralsInSixMonths.model_validate(
                common
                | {
                    "alert_id": alert_id(Rule.TWO_REFERRALS_IN_SIX_MONTHS, la_code, child_key, anchor),
                    "rule": Rule.TWO_REFERRALS_IN_SIX_MONTHS,
                    "severity": Severity.MEDIUM,
                }
            )
        )
    return alerts


def _rereferral_severity(enrichment: Enrichment, day: dt.date, previous_day: dt.date, config: RuleConfig) -> Severity:
    """High for a third referral in the window or a child who has had a CP plan; medium within six months."""
    if enrichment.referrals_in_12_months >= config.rereferral_high_referrals or enrichment.previous_cp_plan:
        return Severity.HIGH
    if (day - previous_day).days <= config.rereferral_medium_within_days:
        return Severity.MEDIUM
    return Severity.LOW


def enrich(facts: Sequence[Fact], i: int, config: RuleConfig, earlier: Sequence[ReferralRecords]) -> Enrichment:
    """The context a duty manager needs, from the history before facts[i] and the referrals before it."""
    fact = facts[i]
    window_start = rereferral_window_start(fact.day, config)
    closure = next((f for f in reversed(facts[:i]) if f.kind is Kind.EPISODE_CLOSED), None)
    previous = earlier[-1].first if earlier else None
    same_need = None
    if previous is not None and previous.need is not None and fact.need is not None:
        same_need = previous.need == fact.need
    return Enrichment(
        days_since_previous_referral=(fact.day - previous.day).days if previous else None,
        referrals_in_12_months=1 + sum(1 for r in earlier if r.day >= window_start),
        previous_referral_date=previous.day if previous else None,
        previous_closure_date=closure.day if closure else None,
        previous_closure_reason=closure.code if closure else None,
        previous_closing_team=closure.team if closure else None,
        same_primary_need_as_previous=same_need,
        previous_cp_plan=any(f.kind is Kind.CPP_STARTED or (f.number or 0) > 0 for f in facts[:i]),
        contacts_in_90_days=repeated_contacts(facts[: i + 1], fact.day, config).contacts,
    )


def _open_referral_at(facts: Sequence[Fact], i: int, earlier: Sequence[ReferralRecords]) -> bool:
    """Whether any referral before facts[i] is still open: none of its records closed or marked NFA before it."""
    ended = {f.ref for f in facts[:i] if f.kind in (Kind.EPISODE_CLOSED, Kind.REFERRAL_NFA)}
    return any(not referral.refs & ended for referral in earlier)


def _contact_alerts(facts: Sequence[Fact], i: int, la_code: str, child_key: str, rules: Rules) -> list[RaisedAlert]:
    fact = facts[i]
    config = rules.at(la_code, fact.day)
    if any(f.kind is Kind.CONTACT and f.ref == fact.ref for f in facts[:i]):
        return []  # the same contact recorded twice is one contact
    alerts: list[RaisedAlert] = []
    earlier = _referrals_before(facts, i, la_code, rules)
    count, reached = repeated_contacts(facts[: i + 1], fact.day, config)
    common = {
        "la_code": la_code,
        "child_key": child_key,
        "occurred_at": fact.occurred_at,
        "trigger_event_id": fact.event_id,
        "contact_id": fact.ref,
        "contact_date": fact.day,
        "source_group": _group(fact),
    }
    if reached and not _open_referral_at(facts, i, earlier):
        alerts.append(
            RepeatedContactsDetected.model_validate(
                common
                | {
                    "alert_id": alert_id(Rule.REPEATED_CONTACTS, la_code, child_key, fact.ref),
                    "rule": Rule.REPEATED_CONTACTS,
                    "severity": _contacts_severity(count, config),
                    "enrichment": enrich(facts, i, config, earlier),
                    "contact_count": count,
                    "window_days": config.repeated_contacts_window_days,
                }
            )
        )
    closed = _recent_closure(facts, i, config.contact_after_closure_days)
    if closed is not None:
        alerts.append(
            RepeatedContactsDetected.model_validate(
                common
                | {
                    "alert_id": alert_id(Rule.CONTACT_AFTER_CLOSURE, la_code, child_key, fact.ref),
                    "rule": Rule.CONTACT_AFTER_CLOSURE,
                    "severity": Severity.HIGH,
                    "enrichment": enrich(facts, i, config, earlier),
                    "contact_count": count,
                    "window_days": config.contact_after_closure_days,
                }
            )
        )
    return alerts


def _contacts_severity(count: int, config: RuleConfig) -> Severity:
    high = config.repeated_contacts_min + config.repeated_contacts_high_margin
    return Severity.HIGH if count >= high else Severity.MEDIUM


def _recent_closure(facts: Sequence[Fact], i: int, days: int) -> Fact | None:
    """The latest NFA marking or RC8/RC9 closure within `days` days before facts[i], if any."""
    first = facts[i].day - dt.timedelta(days=days)
    for f in reversed(facts[:i]):
        if f.day < first:
            return None
        if f.kind is Kind.REFERRAL_NFA or (f.kind is Kind.EPISODE_CLOSED and f.code in CLOSED_WITHOUT_SERVICE):
            return f
    return None


def _plan_alerts(facts: Sequence[Fact], i: int, la_code: str, child_key: str, rules: Rules) -> list[RaisedAlert]:
    """A second or subsequent plan, exactly as `definitions.plans` (the D3 series) judges the plan started that day.

    A plan is one (child, start date), so every record of that start (another return, another plan id) is the
    same plan, with one alert, anchored at its first record and judged on the facts up to the end of its day:
    every record of the start and every end dated on or before it.
    """
    fact = facts[i]
    if any(f.kind is Kind.CPP_STARTED and f.day == fact.day for f in facts[:i]):
        return []  # a later record of a plan already judged at its first record
    end = i + 1
    while end < len(facts) and facts[end].day == fact.day:
        end += 1
    *earlier, plan = plans(facts[:end], rules, la_code)  # the last plan up to the day's end starts that day
    if not plan.subsequent_ever:
        return []
    config = rules.at(la_code, fact.day)
    within = plan.subsequent_within_two_years
    recorded = max(f.number or 0 for f in facts[i:end] if f.kind is Kind.CPP_STARTED)
    return [
        RepeatChildProtectionPlan(
            alert_id=alert_id(Rule.REPEAT_CHILD_PROTECTION_PLAN, la_code, child_key, fact.day.isoformat()),
            rule=Rule.REPEAT_CHILD_PROTECTION_PLAN,
            severity=Severity.HIGH if within else Severity.MEDIUM,
            la_code=la_code,
            child_key=child_key,
            occurred_at=fact.occurred_at,
            trigger_event_id=fact.event_id,
            enrichment=enrich(facts, i, config, _referrals_before(facts, i, la_code, rules)),
            plan_id=fact.ref,
            start_date=fact.day,
            previous_plans=max(recorded, len(earlier)),
            within_two_years=within,
        )
    ]
