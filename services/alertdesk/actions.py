"""What a person did to an alert, as events on `frontdoor.alert-actions.v1`: strict models, codec."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

from schemas.alerts import AlertId
from schemas.events import Label, LaCode

Actor = Annotated[str, StringConstraints(min_length=1, max_length=200)]
NoteText = Annotated[str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True)]


class AlertOutcome(StrEnum):
    """How the MASH closed an alert; bounded, so safe as a metric label."""

    NFA = "nfa"
    ADVICE_SIGNPOST = "advice_signpost"
    EARLY_HELP = "early_help"
    ASSESSMENT = "assessment"
    STRATEGY_S47 = "strategy_s47"
    ALREADY_ALLOCATED = "already_allocated"
    NOT_A_CONCERN = "not_a_concern"
    HISTORICAL = "historical"


OUTCOME_LABELS: dict[AlertOutcome, str] = {
    AlertOutcome.NFA: "No further action",
    AlertOutcome.ADVICE_SIGNPOST: "Advice and signposting",
    AlertOutcome.EARLY_HELP: "Referred to early help",
    AlertOutcome.ASSESSMENT: "Child and family assessment",
    AlertOutcome.STRATEGY_S47: "Strategy discussion / S47",
    AlertOutcome.ALREADY_ALLOCATED: "Already allocated to a worker",
    AlertOutcome.NOT_A_CONCERN: "Reviewed, not a concern",
    AlertOutcome.HISTORICAL: "Historical: raised while loading past records",
}


def new_action_id() -> str:
    return uuid.uuid4().hex


class AlertAction(BaseModel):
    """Fields every action carries: who did it, when, to which alert, in which council."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")] = Field(default_factory=new_action_id)
    alert_id: AlertId
    la_code: LaCode
    actor: Actor
    at: AwareDatetime
    schema_version: Literal[1] = 1


class AlertAcknowledged(AlertAction):
    """Someone on the desk has seen the alert and taken responsibility for triage."""

    type: Literal["AlertAcknowledged"] = "AlertAcknowledged"


class AlertAssigned(AlertAction):
    """The alert was given to a worker or a team."""

    type: Literal["AlertAssigned"] = "AlertAssigned"
    assignee_kind: Literal["worker", "team"]
    assignee: Annotated[Label, StringConstraints(min_length=1, strip_whitespace=True)]


class AlertNoteAdded(AlertAction):
    """A free-text note; it is child-level data and stays on the child-level topic, never in logs."""

    type: Literal["AlertNoteAdded"] = "AlertNoteAdded"
    text: NoteText


class AlertClosed(AlertAction):
    """The desk finished with the alert, with its outcome."""

    type: Literal["AlertClosed"] = "AlertClosed"
    outcome: AlertOutcome
    reason: NoteText | None = None  # e.g. a bulk close of history says why, once per alert


ActionMessage = Annotated[
    AlertAcknowledged | AlertAssigned | AlertNoteAdded | AlertClosed,
    Field(discriminator="type"),
]
ACTION_ADAPTER: TypeAdapter[ActionMessage] = TypeAdapter(ActionMessage)


def decode_action(raw: bytes | str) -> ActionMessage:
    """Parse and validate one action; raises pydantic.ValidationError with the reason."""
    return ACTION_ADAPTER.validate_json(raw)


def action_kind(action: ActionMessage) -> str:
    """A short bounded name for metrics and the audit trail: acknowledged, assigned, note_added, closed."""
    return {
        "AlertAcknowledged": "acknowledged",
        "AlertAssigned": "assigned",
        "AlertNoteAdded": "note_added",
        "AlertClosed": "closed",
    }[action.type]


def utc_now() -> dt.datetime:
    """The wall clock, for entry points only; the state module never reads it."""
    return dt.datetime.now(dt.UTC)
