"""Outbound alerts on `frontdoor.alerts.v1`: strict models (unknown fields forbidden), deterministic ids."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from schemas.codes import ClosureReason, PrimaryNeed, Rule, Severity, SourceGroup
from schemas.events import ChildKey, Id, Label, LaCode

AlertId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]


def alert_id(rule: Rule, la_code: str, child_key: str, anchor: str) -> str:
    """The same rule firing for the same child on the same anchor (referral, contact, plan) gives the same id.

    The id never depends on enrichment or arrival order, so a late event revises an alert instead of
    creating a second one, and a redelivered event cannot produce a duplicate.
    """
    material = "\x1f".join((rule.value, la_code, child_key, anchor)).encode()
    return hashlib.sha256(material).hexdigest()[:32]


class Enrichment(BaseModel):
    """What a duty manager needs to judge the alert without opening the case record."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    days_since_previous_referral: int | None = None
    referrals_in_12_months: int = 0
    previous_referral_date: dt.date | None = None
    previous_closure_date: dt.date | None = None
    previous_closure_reason: ClosureReason | None = None
    previous_closing_team: Label | None = None
    same_primary_need_as_previous: bool | None = None
    previous_cp_plan: bool = False
    contacts_in_90_days: int = 0


class Alert(BaseModel):
    """Fields every alert carries."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    alert_id: AlertId
    rule: Rule
    severity: Severity
    la_code: LaCode
    child_key: ChildKey
    occurred_at: AwareDatetime = Field(description="Event time of the fact that raised the alert")
    trigger_event_id: Id
    team: Label | None = None
    source_group: SourceGroup | None = Field(
        default=None, description="Annex A group of the referral or contact source"
    )
    enrichment: Enrichment = Enrichment()
    schema_version: Literal[1] = 1


class RereferralDetected(Alert):
    """A referral within 12 months of a previous referral of the same child in the same council."""

    type: Literal["RereferralDetected"] = "RereferralDetected"
    referral_id: Id
    referral_date: dt.date
    previous_referral_id: Id
    previous_referral_date: dt.date
    primary_need: PrimaryNeed | None = None


class RepeatedContactsDetected(Alert):
    """Several contacts without an open referral, or a contact soon after a closure."""

    type: Literal["RepeatedContactsDetected"] = "RepeatedContactsDetected"
    contact_id: Id
    contact_date: dt.date
    contact_count: int
    window_days: int


class TwoReferralsInSixMonths(Alert):
    """A child with two referrals in six months: the weekly review list."""

    type: Literal["TwoReferralsInSixMonths"] = "TwoReferralsInSixMonths"
    referral_id: Id
    referral_date: dt.date
    previous_referral_date: dt.date


class RepeatChildProtectionPlan(Alert):
    """A child protection plan for a second or subsequent time."""

    type: Literal["RepeatChildProtectionPlan"] = "RepeatChildProtectionPlan"
    plan_id: Id
    start_date: dt.date
    previous_plans: int
    within_two_years: bool


RaisedAlert = Annotated[
    RereferralDetected | RepeatedContactsDetected | TwoReferralsInSixMonths | RepeatChildProtectionPlan,
    Field(discriminator="type"),
]


class AlertRevised(BaseModel):
    """Late or corrected data changed an alert already raised; `alert` is the whole new version."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["AlertRevised"] = "AlertRevised"
    alert_id: AlertId
    la_code: LaCode
    child_key: ChildKey
    alert: RaisedAlert
    schema_version: Literal[1] = 1


class AlertWithdrawn(BaseModel):
    """Late, retracted or merged data means an alert already raised no longer holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["AlertWithdrawn"] = "AlertWithdrawn"
    alert_id: AlertId
    la_code: LaCode
    child_key: ChildKey
    rule: Rule
    reason: Annotated[str, StringConstraints(max_length=200)]
    schema_version: Literal[1] = 1


AlertMessage = Annotated[
    RereferralDetected
    | RepeatedContactsDetected
    | TwoReferralsInSixMonths
    | RepeatChildProtectionPlan
    | AlertRevised
    | AlertWithdrawn,
    Field(discriminator="type"),
]
