"""The alert rules. Each alert is anchored at one fact and reads only the facts before it in event time.

That property is what makes late data tractable: a fact inserted at position p can only change alerts
anchored at p or later, so the history re-evaluates exactly those and diffs them against what it raised.
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
from services.core.calendar import minus_months, rereferral_window_start
from services.core.config import RuleConfig
from services.core.facts import Fact, Kind

CLOSED_WITHOUT_SERVICE = {
    ClosureReason.CLOSED_AFTER_ASSESSMENT_NFA.value,
    ClosureReason.CLOSED_AFTER_ASSESSMENT_EARLY_HELP.value,
}


def alerts_at(facts: Sequence[Fact], i: int, la_code: str, child_key: str, config: RuleConfig) -> list[RaisedAlert]:
    """Every alert anchored at facts[i], computed from facts[:i] and facts[i] only."""
    fact = facts[i]
    if fact.kind is Kind.REFERRAL:
        return _referral_alerts(facts, i, la_code, child_key, config)
    if fact.kind is Kind.CONTACT:
        return _contact_alerts(facts, i, la_code, child_key, config)
    if fact.kind is Kind.CPP_STARTED:
        return _plan_alerts(facts, i, la_code, child_key, config)
    return []


def _group(fact: Fact) -> SourceGroup | None:
    """The Annex A source group of a referral or contact, for partner agencies' views."""
    return source_group(ReferralSource(fact.code)) if fact.code else None


def _earlier_referral_days(facts: Sequence[Fact], i: int) -> list[dt.date]:
    """Distinct referral dates before facts[i]'s date; same-day referrals are one referral (collapsed)."""
    day = facts[i].day
    return sorted({f.day for f in facts[:i] if f.kind is Kind.REFERRAL and f.day < day})


def _is_same_day_duplicate(facts: Sequence[Fact], i: int) -> bool:
    return any(f.kind is Kind.REFERRAL and f.day == facts[i].day for f in facts[:i])


def _referral_alerts(
    facts: Sequence[Fact], i: int, la_code: str, child_key: str, config: RuleConfig
) -> list[RaisedAlert]:
    if _is_same_day_duplicate(facts, i):
        return []  # the first referral of the day carries the alerts for (council, child, date)
    fact = facts[i]
    earlier = _earlier_referral_days(facts, i)
    if not earlier:
        return []
    previous_day = earlier[-1]
    enrichment = enrich(facts, i, config)
    alerts: list[RaisedAlert] = []
    anchor = fact.day.isoformat()
    previous = _first_referral_on(facts, i, previous_day)
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
    if previous_day >= rereferral_window_start(fact.day, config):
        alerts.append(
            RereferralDetected.model_validate(
                common
                | {
                    "alert_id": alert_id(Rule.REREFERRAL, la_code, child_key, anchor),
                    "rule": Rule.REREFERRAL,
                    "severity": _rereferral_severity(enrichment, fact.day, previous_day),
                    "previous_referral_id": previous.ref,
                    "primary_need": fact.need,
                }
            )
        )
    if previous_day >= minus_months(fact.day, config.two_referrals_window_months):
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


def _first_referral_on(facts: Sequence[Fact], i: int, day: dt.date) -> Fact:
    return next(f for f in facts[:i] if f.kind is Kind.REFERRAL and f.day == day)


def _rereferral_severity(enrichment: Enrichment, day: dt.date, previous_day: dt.date) -> Severity:
    """High for a third referral in a year or a child who has had a CP plan; medium within six months."""
    if enrichment.referrals_in_12_months >= 3 or enrichment.previous_cp_plan:
        return Severity.HIGH
    if (day - previous_day).days <= 183:
        return Severity.MEDIUM
    return Severity.LOW


def enrich(facts: Sequence[Fact], i: int, config: RuleConfig) -> Enrichment:
    """The context a duty manager needs, from the history before facts[i]."""
    fact = facts[i]
    earlier = _earlier_referral_days(facts, i)
    window_start = rereferral_window_start(fact.day, config)
    closure = next((f for f in reversed(facts[:i]) if f.kind is Kind.EPISODE_CLOSED), None)
    previous = _first_referral_on(facts, i, earlier[-1]) if earlier else None
    same_need = None
    if previous is not None and previous.need is not None and fact.need is not None:
        same_need = previous.need == fact.need
    return Enrichment(
        days_since_previous_referral=(fact.day - earlier[-1]).days if earlier else None,
        referrals_in_12_months=1 + sum(1 for d in earlier if d >= window_start),
        previous_referral_date=earlier[-1] if earlier else None,
        previous_closure_date=closure.day if closure else None,
        previous_closure_reason=closure.code if closure else None,
        previous_closing_team=closure.team if closure else None,
        same_primary_need_as_previous=same_need,
        previous_cp_plan=any(f.kind is Kind.CPP_STARTED or (f.number or 0) > 0 for f in facts[:i]),
        contacts_in_90_days=_contacts_within(facts, i, config.repeated_contacts_window_days),
    )


def _contacts_within(facts: Sequence[Fact], i: int, days: int) -> int:
    """Distinct contacts received in the `days` days ending on facts[i]'s date, including it if a contact."""
    first = facts[i].day - dt.timedelta(days=days - 1)
    return len({f.ref for f in facts[: i + 1] if f.kind is Kind.CONTACT and first <= f.day})


def _open_referral_at(facts: Sequence[Fact], i: int) -> bool:
    """Whether any referral before facts[i] is still open: not closed and not marked NFA before it."""
    ended = {f.ref for f in facts[:i] if f.kind in (Kind.EPISODE_CLOSED, Kind.REFERRAL_NFA)}
    referral_days = {f.day for f in facts[:i] if f.kind is Kind.REFERRAL}
    # Same-day referrals are one referral: it has ended if any of its records ended.
    ended_days = {f.day for f in facts[:i] if f.kind is Kind.REFERRAL and f.ref in ended}
    return bool(referral_days - ended_days)


def _contact_alerts(
    facts: Sequence[Fact], i: int, la_code: str, child_key: str, config: RuleConfig
) -> list[RaisedAlert]:
    fact = facts[i]
    if any(f.kind is Kind.CONTACT and f.ref == fact.ref for f in facts[:i]):
        return []  # the same contact recorded twice is one contact
    alerts: list[RaisedAlert] = []
    count = _contacts_within(facts, i, config.repeated_contacts_window_days)
    common = {
        "la_code": la_code,
        "child_key": child_key,
        "occurred_at": fact.occurred_at,
        "trigger_event_id": fact.event_id,
        "contact_id": fact.ref,
        "contact_date": fact.day,
        "source_group": _group(fact),
    }
    if count >= config.repeated_contacts_min and not _open_referral_at(facts, i):
        alerts.append(
            RepeatedContactsDetected.model_validate(
                common
                | {
                    "alert_id": alert_id(Rule.REPEATED_CONTACTS, la_code, child_key, fact.ref),
                    "rule": Rule.REPEATED_CONTACTS,
                    "severity": Severity.HIGH if count >= config.repeated_contacts_min + 2 else Severity.MEDIUM,
                    "enrichment": enrich(facts, i, config),
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
                    "enrichment": enrich(facts, i, config),
                    "contact_count": count,
                    "window_days": config.contact_after_closure_days,
                }
            )
        )
    return alerts


def _recent_closure(facts: Sequence[Fact], i: int, days: int) -> Fact | None:
    """The latest NFA marking or RC8/RC9 closure within `days` days before facts[i], if any."""
    first = facts[i].day - dt.timedelta(days=days)
    for f in reversed(facts[:i]):
        if f.day < first:
            return None
        if f.kind is Kind.REFERRAL_NFA or (f.kind is Kind.EPISODE_CLOSED and f.code in CLOSED_WITHOUT_SERVICE):
            return f
    return None


def _plan_alerts(facts: Sequence[Fact], i: int, la_code: str, child_key: str, config: RuleConfig) -> list[RaisedAlert]:
    fact = facts[i]
    earlier_plans = {f.ref for f in facts[:i] if f.kind is Kind.CPP_STARTED and f.ref != fact.ref}
    if fact.ref in {f.ref for f in facts[:i] if f.kind is Kind.CPP_STARTED}:
        return []  # the same plan recorded twice
    previous = max(fact.number or 0, len(earlier_plans))
    if previous == 0:
        return []
    window_start = minus_months(fact.day, config.repeat_cpp_window_months)
    within = any(f.kind is Kind.CPP_ENDED and window_start <= f.day <= fact.day for f in facts[:i])
    return [
        RepeatChildProtectionPlan(
            alert_id=alert_id(Rule.REPEAT_CHILD_PROTECTION_PLAN, la_code, child_key, fact.ref),
            rule=Rule.REPEAT_CHILD_PROTECTION_PLAN,
            severity=Severity.HIGH if within else Severity.MEDIUM,
            la_code=la_code,
            child_key=child_key,
            occurred_at=fact.occurred_at,
            trigger_event_id=fact.event_id,
            enrichment=enrich(facts, i, config),
            plan_id=fact.ref,
            start_date=fact.day,
            previous_plans=previous,
            within_two_years=within,
        )
    ]
