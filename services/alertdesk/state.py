"""The desk's state, folded from the alerts and actions topics: pure, no I/O, no clock.

Each change to an alert's record takes the next feed sequence number, which the live feed uses as its
server-sent event id. The two topics are read independently, so an action may arrive before its alert:
it waits until the alert does, and the final records do not depend on how the two streams interleave.
The database read model (projection.py) applies these same rules to the few records a batch touches.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from schemas.alerts import (
    AlertMessage,
    AlertRevised,
    AlertWithdrawn,
    RaisedAlert,
    RepeatedContactsDetected,
    RereferralDetected,
    TwoReferralsInSixMonths,
)
from schemas.codes import Rule, Severity
from services.alertdesk.actions import (
    ActionMessage,
    AlertAcknowledged,
    AlertAssigned,
    AlertClosed,
    AlertNoteAdded,
    AlertOutcome,
)

Status = Literal["new", "acknowledged", "assigned", "closed", "withdrawn"]
OPEN_STATUSES: tuple[Status, ...] = ("new", "acknowledged", "assigned")  # an alert still needing someone
SEVERITY_RANK = {Severity.HIGH: 0, Severity.MEDIUM: 1, Severity.LOW: 2}


@dataclass(frozen=True, slots=True)
class Note:
    author: str
    at: dt.datetime
    text: str


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """One alert as the desk sees it: the latest version from the processor plus what people did to it."""

    alert: RaisedAlert
    seq: int
    raised_seq: int
    revisions: int = 0
    withdrawn_reason: str | None = None
    acknowledged_by: str | None = None
    acknowledged_at: dt.datetime | None = None
    assignee_kind: Literal["worker", "team"] | None = None
    assignee: str | None = None
    notes: tuple[Note, ...] = ()
    outcome: AlertOutcome | None = None
    closed_by: str | None = None
    closed_at: dt.datetime | None = None
    closed_reason: str | None = None
    action_ids: frozenset[str] = frozenset()
    # Raised about something already old when the desk first saw it (loading history): kept out of the live feed.
    history: bool = False

    @property
    def alert_id(self) -> str:
        return self.alert.alert_id

    @property
    def la_code(self) -> str:
        return self.alert.la_code

    @property
    def rule(self) -> Rule:
        return self.alert.rule

    @property
    def severity(self) -> Severity:
        return self.alert.severity

    @property
    def team(self) -> str | None:
        """The team that owns the alert now: the one it was assigned to, else the referral's team."""
        return self.assignee if self.assignee_kind == "team" else self.alert.team

    @property
    def status(self) -> Status:
        if self.withdrawn_reason is not None:
            return "withdrawn"
        if self.outcome is not None:
            return "closed"
        if self.assignee is not None:
            return "assigned"
        return "acknowledged" if self.acknowledged_by is not None else "new"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def anchor_date(self) -> dt.date:
        """The date of the record that raised the alert (referral, contact or plan start)."""
        return _anchor_of(self.alert)

    @property
    def previous_referral_date(self) -> dt.date | None:
        if isinstance(self.alert, RereferralDetected | TwoReferralsInSixMonths):
            return self.alert.previous_referral_date
        return self.alert.enrichment.previous_referral_date

    @property
    def source_group(self) -> str | None:
        """The referring agency's Annex A group, for partners' aggregates, once alerts carry it."""
        value: Any = getattr(self.alert, "source_group", None)
        return None if value is None else str(value)


def is_history(anchor_date: dt.date, seen_at: dt.datetime | None, history_after_days: int | None) -> bool:
    """An alert about a date older than `history_after_days` when first seen belongs to history, not the live feed.

    `seen_at` is when the alert reached its topic (the message timestamp), so a rebuild decides the same way.
    """
    if seen_at is None or history_after_days is None:
        return False
    return anchor_date < seen_at.date() - dt.timedelta(days=history_after_days)


@dataclass(frozen=True, slots=True)
class FeedFilter:
    """What a person chose to see; None means any. Dates bound the anchor date, both ends included."""

    severity: Severity | None = None
    rule: Rule | None = None
    team: str | None = None
    include_finished: bool = False
    status: Status | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    child_key: str | None = None
    history: bool | None = None  # None: both; False: the live feed; True: the history view
    by_child: bool = False  # shown one card per child (the live feed's default), not one per alert; matches ignore it

    @property
    def only_open(self) -> bool:
        """Whether every alert this filter matches is open (an open status chosen, or no status and no finished)."""
        return self.status in OPEN_STATUSES if self.status else not self.include_finished

    def matches(self, record: AlertRecord) -> bool:
        return (
            (self.severity is None or record.severity is self.severity)
            and (self.rule is None or record.rule is self.rule)
            and (self.team is None or record.team == self.team)
            and (record.status == self.status if self.status else (self.include_finished or record.is_open))
            and (self.date_from is None or record.anchor_date >= self.date_from)
            and (self.date_to is None or record.anchor_date <= self.date_to)
            and (self.child_key is None or record.alert.child_key == self.child_key)
            and (self.history is None or record.history is self.history)
        )


@dataclass(frozen=True, slots=True)
class Aggregates:
    """Counts only: what the performance and partner roles may see."""

    total: int
    by_rule: dict[str, int]
    by_severity: dict[str, int]
    by_status: dict[str, int]
    by_outcome: dict[str, int]


@dataclass(slots=True)
class DeskState:
    """Every alert record, plus actions waiting for their alert. Mutated only through `apply_*`.

    The desk keeps no DeskState of its own: projection.py loads the records a batch touches into one, applies
    the batch, and writes the changed records back. Queries are the read model's (readmodel.py).
    """

    records: dict[str, AlertRecord] = field(default_factory=dict)
    waiting_actions: dict[str, list[ActionMessage]] = field(default_factory=dict)
    seq: int = 0
    history_after_days: int | None = None

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    def apply_alert(self, message: AlertMessage, seen_at: dt.datetime | None = None) -> AlertRecord | None:
        """Fold one alert message; returns the changed record, or None when nothing changed.

        `seen_at` (when the message reached its topic) decides, for a new alert only, whether it is history.
        """
        existing = self.records.get(message.alert_id)
        if isinstance(message, AlertWithdrawn):
            if existing is None or existing.withdrawn_reason == message.reason:
                return None
            return self._store(dataclasses.replace(existing, withdrawn_reason=message.reason, seq=self._next()))
        alert = message.alert if isinstance(message, AlertRevised) else message
        if existing is None:
            seq = self._next()
            history = is_history(_anchor_of(alert), seen_at, self.history_after_days)
            record = self._store(AlertRecord(alert=alert, seq=seq, raised_seq=seq, history=history))
            for action in self.waiting_actions.pop(alert.alert_id, []):
                record = self.apply_action(action) or record
            return record
        if existing.alert == alert and existing.withdrawn_reason is None:
            return None  # a redelivered alert
        revised = dataclasses.replace(
            existing, alert=alert, withdrawn_reason=None, revisions=existing.revisions + 1, seq=self._next()
        )
        return self._store(revised)

    def apply_action(self, action: ActionMessage) -> AlertRecord | None:
        """Fold one action; an action for an alert not seen yet waits for it. Redelivered actions change nothing."""
        record = self.records.get(action.alert_id)
        if record is None:
            waiting = self.waiting_actions.setdefault(action.alert_id, [])
            if all(w.action_id != action.action_id for w in waiting):
                waiting.append(action)
            return None
        if action.action_id in record.action_ids or action.la_code != record.la_code:
            return None
        changed = _with_action(record, action)
        ids = record.action_ids | {action.action_id}
        return self._store(dataclasses.replace(changed, action_ids=ids, seq=self._next()))

    def _store(self, record: AlertRecord) -> AlertRecord:
        self.records[record.alert_id] = record
        return record


def _anchor_of(alert: RaisedAlert) -> dt.date:
    if isinstance(alert, RereferralDetected | TwoReferralsInSixMonths):
        return alert.referral_date
    if isinstance(alert, RepeatedContactsDetected):
        return alert.contact_date
    return alert.start_date


def _with_action(record: AlertRecord, action: ActionMessage) -> AlertRecord:
    if isinstance(action, AlertAcknowledged):
        if record.acknowledged_by is not None:
            return record
        return dataclasses.replace(record, acknowledged_by=action.actor, acknowledged_at=action.at)
    if isinstance(action, AlertAssigned):
        return dataclasses.replace(record, assignee_kind=action.assignee_kind, assignee=action.assignee)
    if isinstance(action, AlertNoteAdded):
        return dataclasses.replace(record, notes=(*record.notes, Note(action.actor, action.at, action.text)))
    assert isinstance(action, AlertClosed)
    return dataclasses.replace(
        record, outcome=action.outcome, closed_by=action.actor, closed_at=action.at, closed_reason=action.reason
    )
