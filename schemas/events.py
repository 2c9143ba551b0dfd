"""Inbound front-door events: one topic, keyed by the pseudonymous child key, discriminated by `type`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from schemas.codes import ClosureReason, ContactOutcome, PrimaryNeed, ReferralSource
from schemas.pseudonyms import PseudonymKeyId

SCHEMA_VERSION: Literal[1] = 1

Id = Annotated[str, StringConstraints(min_length=1, max_length=128, strip_whitespace=True)]
LaCode = Annotated[str, StringConstraints(pattern=r"^\d{3}$")]
ChildKey = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Label = Annotated[str, StringConstraints(max_length=200)]


class InboundEvent(BaseModel):
    """Fields every inbound event carries. Unknown fields are ignored so producers can add fields first."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: Id
    occurred_at: AwareDatetime = Field(description="Event time: when the fact happened in the world")
    recorded_at: AwareDatetime = Field(description="When the source system recorded it (may be much later)")
    la_code: LaCode = Field(description="Three-digit DfE local authority code, e.g. 886 for Kent")
    child_key: ChildKey = Field(description="Keyed-HMAC pseudonym of the council's child identifier")
    pseudonym_key_id: PseudonymKeyId | None = Field(
        default=None,
        description="Id of the council's key that made child_key (and the references); None on events made "
        "before keys had ids",
    )
    schema_version: Literal[1] = SCHEMA_VERSION


class ContactReceived(InboundEvent):
    """A MASH contact about one child; a contact about several children is one event per child."""

    type: Literal["ContactReceived"] = "ContactReceived"
    contact_id: Id
    received_at: AwareDatetime
    source: ReferralSource


class ContactDecided(InboundEvent):
    """The MASH decision on a contact."""

    type: Literal["ContactDecided"] = "ContactDecided"
    contact_id: Id
    outcome: ContactOutcome


class ReferralOpened(InboundEvent):
    """A referral to children's social care (CIN census ReferralDate)."""

    type: Literal["ReferralOpened"] = "ReferralOpened"
    referral_id: Id
    referral_date: dt.date
    source: ReferralSource
    primary_need: PrimaryNeed | None = None
    team: Label | None = None
    contact_id: Id | None = None


class ReferralMarkedNFA(InboundEvent):
    """The referral was closed with no further action (CIN census ReferralNFA = true)."""

    type: Literal["ReferralMarkedNFA"] = "ReferralMarkedNFA"
    referral_id: Id


class AssessmentStarted(InboundEvent):
    """A child and family assessment started."""

    type: Literal["AssessmentStarted"] = "AssessmentStarted"
    assessment_id: Id
    referral_id: Id | None = None
    start_date: dt.date


class AssessmentAuthorised(InboundEvent):
    """An assessment was authorised, with its factors and whether the child was found to be in need."""

    type: Literal["AssessmentAuthorised"] = "AssessmentAuthorised"
    assessment_id: Id
    authorised_date: dt.date
    factors: tuple[Annotated[str, StringConstraints(max_length=8)], ...] = ()
    child_in_need: bool | None = Field(description="None when the record has no answer (common in Annex A)")


class S47Started(InboundEvent):
    """A section 47 enquiry started."""

    type: Literal["S47Started"] = "S47Started"
    s47_id: Id
    start_date: dt.date
    referral_id: Id | None = None


class ICPCHeld(InboundEvent):
    """An initial child protection conference was held."""

    type: Literal["ICPCHeld"] = "ICPCHeld"
    s47_id: Id | None = Field(default=None, description="None when the source records the ICPC only per episode")
    referral_id: Id | None = None
    icpc_date: dt.date
    plan_started: bool | None = None


class CPPStarted(InboundEvent):
    """A child protection plan started; previous_plans comes from the case record when known."""

    type: Literal["CPPStarted"] = "CPPStarted"
    plan_id: Id
    start_date: dt.date
    previous_plans: Annotated[int, Field(ge=0, le=99)] | None = None
    referral_id: Id | None = None


class CPPEnded(InboundEvent):
    """A child protection plan ended."""

    type: Literal["CPPEnded"] = "CPPEnded"
    plan_id: Id
    end_date: dt.date


class EpisodeClosed(InboundEvent):
    """A CIN episode closed (CIN census CINclosureDate and ReasonForClosure)."""

    type: Literal["EpisodeClosed"] = "EpisodeClosed"
    referral_id: Id
    closure_date: dt.date
    reason: ClosureReason
    closing_team: Label | None = None
    closing_worker: Label | None = None


class EventRetracted(InboundEvent):
    """An earlier event was entered in error and is withdrawn."""

    type: Literal["EventRetracted"] = "EventRetracted"
    retracted_event_id: Id


class ChildRecordsMerged(InboundEvent):
    """Two records of the same child were merged; `child_key` is the surviving record."""

    type: Literal["ChildRecordsMerged"] = "ChildRecordsMerged"
    merged_child_key: ChildKey


FrontDoorEvent = Annotated[
    ContactReceived
    | ContactDecided
    | ReferralOpened
    | ReferralMarkedNFA
    | AssessmentStarted
    | AssessmentAuthorised
    | S47Started
    | ICPCHeld
    | CPPStarted
    | CPPEnded
    | EpisodeClosed
    | EventRetracted
    | ChildRecordsMerged,
    Field(discriminator="type"),
]

EVENT_TYPES: tuple[type[InboundEvent], ...] = (
    ContactReceived,
    ContactDecided,
    ReferralOpened,
    ReferralMarkedNFA,
    AssessmentStarted,
    AssessmentAuthorised,
    S47Started,
    ICPCHeld,
    CPPStarted,
    CPPEnded,
    EpisodeClosed,
    EventRetracted,
    ChildRecordsMerged,
)
