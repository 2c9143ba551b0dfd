"""One child's history: accepted facts in event-time order, tombstones, and the alerts currently standing."""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
from dataclasses import dataclass, field
from enum import StrEnum

from schemas.alerts import AlertMessage, AlertRevised, AlertWithdrawn, RaisedAlert
from schemas.events import ChildRecordsMerged, EventRetracted, InboundEvent
from services.core.calendar import minus_months
from services.core.config import Rules
from services.core.facts import Fact, Kind, SortKey, fact_of
from services.core.rules import alerts_at


class Outcome(StrEnum):
    """What happened to an inbound event; bounded, so it is safe as a metric label."""

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    RETRACTED = "retracted"
    MERGED = "merged"
    TOO_OLD = "too_old"


@dataclass(frozen=True, slots=True)
class Standing:
    """An alert raised and not withdrawn: where it is anchored and a fingerprint of its content."""

    anchor: SortKey
    fingerprint: str
    rule: str


def fingerprint(alert: RaisedAlert) -> str:
    return hashlib.sha256(alert.model_dump_json().encode()).hexdigest()[:16]


@dataclass(slots=True)
class ChildHistory:
    """Everything the rules need about one child in one council, and nothing more."""

    la_code: str
    child_key: str
    facts: list[Fact] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)  # event ids accepted or retracted: redelivery is a no-op
    retracted: dict[str, dt.date] = field(default_factory=dict)  # tombstone -> date of the retraction
    standing: dict[str, Standing] = field(default_factory=dict)

    def apply(self, event: InboundEvent, rules: Rules, *, alerts: bool = True) -> tuple[Outcome, list[AlertMessage]]:
        """Take one event in any arrival order; return what happened and the alert messages it causes.

        `rules` are every council's dated definitions (or one RuleConfig for all); this child's council's apply.
        With `alerts=False` the facts are the same and no alert is evaluated (reports that need only the facts).
        """
        event_id, seen = event.event_id, self.seen
        if event_id in seen:
            return Outcome.DUPLICATE, []
        seen.add(event_id)
        fact = fact_of(event)  # None only for the control events, so the usual case tests no other type
        if fact is None:
            if isinstance(event, EventRetracted):
                day = event.occurred_at.date()
                return Outcome.RETRACTED, self._retract(event.retracted_event_id, day, rules, alerts)
            if isinstance(event, ChildRecordsMerged):
                raise ValueError("merges join two histories: use Engine.apply or merge_into")
            raise TypeError(f"no fact for {type(event).__name__}")  # pragma: no cover - every other type has one
        if self.facts and self._before_retention(fact, rules):
            return Outcome.TOO_OLD, []
        return Outcome.APPLIED, self.insert(fact, rules, alerts)

    def insert(self, fact: Fact, rules: Rules, alerts: bool = True) -> list[AlertMessage]:
        """Insert a fact in event-time order and re-evaluate the anchors at or after it."""
        if fact.event_id in self.retracted:
            return []  # the retraction arrived before the event it retracts
        last = self.facts[-1] if self.facts else None
        if last is None or fact.day > last.day or fact.sort_key >= last.sort_key:
            position = len(self.facts)  # the usual case: events arrive in event-time order (a later day: no key)
        else:
            position = bisect.bisect([f.sort_key for f in self.facts], fact.sort_key)
        self.facts.insert(position, fact)
        return self._reevaluate_from(position, rules) if alerts else []

    def _retract(self, target: str, day: dt.date, rules: Rules, alerts: bool = True) -> list[AlertMessage]:
        # The latest retraction date wins whatever the arrival order: a redelivered retraction cannot move it back.
        self.retracted[target] = max(day, self.retracted.get(target, day))
        self.seen.add(target)
        for position, fact in enumerate(self.facts):
            if fact.event_id == target:
                del self.facts[position]
                return self._reevaluate_from(position, rules, fact.day) if alerts else []
        return []

    def _reevaluate_from(self, position: int, rules: Rules, day: dt.date | None = None) -> list[AlertMessage]:
        """Recompute the alerts anchored on or after the day of the fact changed at `position` and diff them.

        An alert may read its anchor's whole day (rules.alerts_at), so the day's earlier anchors are included.
        `day` is the changed fact's day when it is no longer at `position` (a retraction).
        """
        day = self.facts[position].day if day is None else day
        while position > 0 and self.facts[position - 1].day >= day:
            position -= 1
        start: SortKey = (day, -1, dt.datetime.min.replace(tzinfo=dt.UTC), "")
        fresh: dict[str, tuple[SortKey, RaisedAlert]] = {}
        for i in range(position, len(self.facts)):
            for alert in alerts_at(self.facts, i, self.la_code, self.child_key, rules):
                fresh[alert.alert_id] = (self.facts[i].sort_key, alert)
        affected = {aid: s for aid, s in self.standing.items() if s.anchor >= start or aid in fresh}
        return self._diff(affected, fresh, reason="later data no longer supports this alert")

    def _diff(
        self, before: dict[str, Standing], after: dict[str, tuple[SortKey, RaisedAlert]], reason: str
    ) -> list[AlertMessage]:
        messages: list[AlertMessage] = []
        for aid, old in before.items():
            if aid not in after:
                del self.standing[aid]
                messages.append(self._withdrawn(aid, old.rule, reason))
        for aid, (anchor, alert) in after.items():
            new = Standing(anchor, fingerprint(alert), alert.rule.value)
            old_standing = self.standing.get(aid)
            self.standing[aid] = new
            if old_standing is None:
                messages.append(alert)
            elif old_standing.fingerprint != new.fingerprint:
                messages.append(AlertRevised(alert_id=aid, la_code=self.la_code, child_key=self.child_key, alert=alert))
        return messages

    def _withdrawn(self, aid: str, rule: str, reason: str) -> AlertWithdrawn:
        return AlertWithdrawn(
            alert_id=aid,
            la_code=self.la_code,
            child_key=self.child_key,
            rule=rule,  # a Rule value recorded when the alert was raised
            reason=reason,
        )

    def withdraw_all(self, reason: str) -> list[AlertMessage]:
        """Withdraw every standing alert, e.g. when this record is merged into another child's."""
        messages: list[AlertMessage] = [self._withdrawn(aid, s.rule, reason) for aid, s in self.standing.items()]
        self.standing.clear()
        return messages

    def _before_retention(self, fact: Fact, rules: Rules) -> bool:
        retention_months = rules.for_council(self.la_code).retention_months
        if retention_months is None or not self.facts:
            return False
        return fact.day < minus_months(self.facts[-1].day, retention_months)

    def prune(self, today: dt.date, rules: Rules) -> None:
        """Drop facts older than the longest rule needs; alerts anchored there are final and forgotten.

        CP plan starts are kept whatever their age: "second or subsequent plan, ever" needs them, and a
        child has few. Retention and the cap follow the council's latest definition.
        """
        config = rules.for_council(self.la_code)
        if config.retention_months is None:
            return
        cutoff = minus_months(today, config.retention_months)
        kept = [f for f in self.facts if f.day >= cutoff or f.kind is Kind.CPP_STARTED]
        if len(kept) > config.max_facts_per_child:
            # A pathological record (thousands of contacts) must not outgrow a changelog message: oldest first.
            kept = kept[len(kept) - config.max_facts_per_child :]
        self.facts = kept
        self.retracted = {e: d for e, d in self.retracted.items() if d >= cutoff}
        # Older event ids can go: a redelivered event from before the cutoff is too old to apply anyway.
        self.seen = {f.event_id for f in kept} | set(self.retracted)
        self.standing = {aid: s for aid, s in self.standing.items() if s.anchor[0] >= cutoff}

    @property
    def last_day(self) -> dt.date | None:
        return self.facts[-1].day if self.facts else None


def merge_into(
    into: ChildHistory, source: ChildHistory, event: ChildRecordsMerged, rules: Rules, alerts: bool = True
) -> list[AlertMessage]:
    """Move every fact of the merged record into the surviving one, withdraw the old record's alerts."""
    messages = source.withdraw_all(reason="child records merged")
    into.seen.add(event.event_id)
    into.seen |= source.seen
    into.retracted |= source.retracted
    if not source.facts:
        return messages
    into.facts = sorted([*into.facts, *source.facts], key=lambda f: f.sort_key)
    if not alerts:
        return messages
    first = min(f.sort_key for f in source.facts)
    position = next(i for i, f in enumerate(into.facts) if f.sort_key == first)
    return messages + into._reevaluate_from(position, rules)
