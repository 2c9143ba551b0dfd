"""Event builders with keyword overrides, so each test states only what matters to it."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from typing import Any

from schemas.codes import ClosureReason, ContactOutcome, PrimaryNeed, ReferralSource
from schemas.events import (
    AssessmentAuthorised,
    AssessmentStarted,
    ChildRecordsMerged,
    ContactDecided,
    ContactReceived,
    CPPEnded,
    CPPStarted,
    EpisodeClosed,
    EventRetracted,
    ReferralMarkedNFA,
    ReferralOpened,
)

UTC = dt.UTC
_ids = itertools.count(1)


def pseudonym(name: str) -> str:
    """A child key in the ingest pseudonym format (32 hex digits), named for the test that reads it."""
    return hashlib.sha256(name.encode()).hexdigest()[:32]


# The worker dead-letters a child key that is not a pseudonym, so tests that go through admission use these.
CHILD_A, CHILD_B, CHILD_C = pseudonym("child-a"), pseudonym("child-b"), pseudonym("child-c")


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def at(d: dt.date | str, hour: int = 10) -> dt.datetime:
    d = day(d) if isinstance(d, str) else d
    return dt.datetime.combine(d, dt.time(hour), tzinfo=UTC)


def _common(date: dt.date | str, overrides: dict[str, Any]) -> dict[str, Any]:
    d = day(date) if isinstance(date, str) else date
    base: dict[str, Any] = {
        "event_id": f"e{next(_ids)}",
        "occurred_at": at(d),
        "recorded_at": at(d, 17),
        "la_code": "886",
        "child_key": CHILD_A,
    }
    return base | overrides


def make_referral(date: dt.date | str = "2024-06-03", **overrides: Any) -> ReferralOpened:
    d = day(date) if isinstance(date, str) else date
    fields = _common(d, overrides)
    fields.setdefault("referral_id", f"ref-{fields['child_key']}-{d.isoformat()}")
    fields.setdefault("source", ReferralSource.POLICE)
    fields.setdefault("primary_need", PrimaryNeed.N1)
    fields.setdefault("team", "Assessment Team North")
    return ReferralOpened(referral_date=d, **fields)


def make_nfa(referral: ReferralOpened, date: dt.date | str | None = None, **overrides: Any) -> ReferralMarkedNFA:
    d = date or referral.referral_date
    fields = _common(d, {"child_key": referral.child_key, "la_code": referral.la_code} | overrides)
    return ReferralMarkedNFA(referral_id=referral.referral_id, **fields)


def make_closure(
    referral: ReferralOpened,
    date: dt.date | str,
    reason: ClosureReason = ClosureReason.SERVICES_CEASED,
    **overrides: Any,
) -> EpisodeClosed:
    d = day(date) if isinstance(date, str) else date
    fields = _common(d, {"child_key": referral.child_key, "la_code": referral.la_code} | overrides)
    fields.setdefault("closing_team", "Family Support East")
    fields.setdefault("closing_worker", "worker-007")
    return EpisodeClosed(referral_id=referral.referral_id, closure_date=d, reason=reason, **fields)


def make_contact(date: dt.date | str = "2024-06-03", **overrides: Any) -> ContactReceived:
    fields = _common(date, overrides)
    fields.setdefault("contact_id", f"c{next(_ids)}")
    fields.setdefault("source", ReferralSource.SCHOOLS)
    fields.setdefault("received_at", fields["occurred_at"])
    return ContactReceived(**fields)


def make_decision(contact: ContactReceived, outcome: ContactOutcome, **overrides: Any) -> ContactDecided:
    fields = _common(contact.received_at.date(), {"child_key": contact.child_key} | overrides)
    return ContactDecided(contact_id=contact.contact_id, outcome=outcome, **fields)


def make_plan(date: dt.date | str, plan_id: str | None = None, **overrides: Any) -> CPPStarted:
    d = day(date) if isinstance(date, str) else date
    fields = _common(d, overrides)
    return CPPStarted(plan_id=plan_id or f"plan-{d}", start_date=d, **fields)


def make_plan_end(plan: CPPStarted, date: dt.date | str, **overrides: Any) -> CPPEnded:
    d = day(date) if isinstance(date, str) else date
    fields = _common(d, {"child_key": plan.child_key} | overrides)
    return CPPEnded(plan_id=plan.plan_id, end_date=d, **fields)


def make_assessment(referral: ReferralOpened, date: dt.date | str, **overrides: Any) -> AssessmentStarted:
    d = day(date) if isinstance(date, str) else date
    fields = _common(d, {"child_key": referral.child_key, "la_code": referral.la_code} | overrides)
    fields.setdefault("assessment_id", f"a-{referral.referral_id}")
    return AssessmentStarted(referral_id=referral.referral_id, start_date=d, **fields)


def make_authorisation(
    assessment: AssessmentStarted, date: dt.date | str, in_need: bool | None = True, **overrides: Any
) -> AssessmentAuthorised:
    d = day(date) if isinstance(date, str) else date
    fields = _common(d, {"child_key": assessment.child_key, "la_code": assessment.la_code} | overrides)
    return AssessmentAuthorised(
        assessment_id=assessment.assessment_id, authorised_date=d, child_in_need=in_need, **fields
    )


def make_retraction(target: Any, date: dt.date | str = "2025-01-01", **overrides: Any) -> EventRetracted:
    fields = _common(date, {"child_key": target.child_key, "la_code": target.la_code} | overrides)
    return EventRetracted(retracted_event_id=target.event_id, **fields)


def make_merge(into: str, merged: str, date: dt.date | str = "2025-01-01", **overrides: Any) -> ChildRecordsMerged:
    fields = _common(date, {"child_key": into} | overrides)
    return ChildRecordsMerged(merged_child_key=merged, **fields)
