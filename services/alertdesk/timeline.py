"""A child's front-door history as the desk projects it: one dated line per event, pure, pseudonymised only.

Events reach the desk already pseudonymised (child keys and council references are keyed HMACs, workers' names
dropped or pseudonymised at ingest), so a line carries only codes, dates, teams and pseudonymous references.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

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
    ICPCHeld,
    InboundEvent,
    ReferralMarkedNFA,
    ReferralOpened,
    S47Started,
)


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One line of a child's timeline: what happened, on which date, and its few facts as label/value pairs."""

    event_id: str
    la_code: str
    child_key: str
    date: dt.date
    kind: str
    facts: tuple[tuple[str, str], ...]


KIND_LABELS = {
    "ContactReceived": "Contact received",
    "ContactDecided": "Contact decision",
    "ReferralOpened": "Referral",
    "ReferralMarkedNFA": "Referral: no further action",
    "AssessmentStarted": "Assessment started",
    "AssessmentAuthorised": "Assessment authorised",
    "S47Started": "Section 47 enquiry",
    "ICPCHeld": "Initial child protection conference",
    "CPPStarted": "Child protection plan started",
    "CPPEnded": "Child protection plan ended",
    "EpisodeClosed": "Episode closed",
}


def _value(value: object) -> str:
    return str(getattr(value, "value", value))


def timeline_entry(event: InboundEvent) -> TimelineEntry | None:
    """The line an event adds, or None for events that change other lines (retractions, merges)."""
    if isinstance(event, EventRetracted | ChildRecordsMerged) or event.type not in KIND_LABELS:  # type: ignore[attr-defined]  # every concrete event has `type`
        return None
    date, facts = _date_and_facts(event)
    return TimelineEntry(event.event_id, event.la_code, event.child_key, date, event.type, facts)  # type: ignore[attr-defined]  # as above


def _date_and_facts(event: InboundEvent) -> tuple[dt.date, tuple[tuple[str, str], ...]]:
    if isinstance(event, ContactReceived):
        return event.received_at.date(), (("Source", _value(event.source)),)
    if isinstance(event, ContactDecided):
        return event.occurred_at.date(), (("Outcome", _value(event.outcome)),)
    if isinstance(event, ReferralOpened):
        facts = [("Source", _value(event.source)), ("Team", event.team or "not recorded")]
        if event.primary_need is not None:
            facts.append(("Primary need", _value(event.primary_need)))
        return event.referral_date, tuple(facts)
    if isinstance(event, AssessmentStarted):
        return event.start_date, ()
    if isinstance(event, AssessmentAuthorised):
        need = {None: "unknown", True: "yes", False: "no"}[event.child_in_need]
        return event.authorised_date, (("Child in need", need), ("Factors", " ".join(event.factors) or "none"))
    if isinstance(event, S47Started):
        return event.start_date, ()
    if isinstance(event, ICPCHeld):
        plan = {None: "unknown", True: "yes", False: "no"}[event.plan_started]
        return event.icpc_date, (("Plan started", plan),)
    if isinstance(event, CPPStarted):
        previous = "unknown" if event.previous_plans is None else str(event.previous_plans)
        return event.start_date, (("Previous plans", previous),)
    if isinstance(event, CPPEnded):
        return event.end_date, ()
    if isinstance(event, EpisodeClosed):
        facts = [("Reason", _value(event.reason)), ("Closing team", event.closing_team or "not recorded")]
        return event.closure_date, tuple(facts)
    assert isinstance(event, ReferralMarkedNFA)
    return event.occurred_at.date(), ()
