"""One batch of a council partition through the core Engine, as replay runs it. Pure: no faust, Kafka or clock.

Events are keyed by council, so every child and every merge a batch touches is in the batch's own partition. The
batch reads each child once (following redirects), applies the events in arrival order with the same Engine as
`frontdoor replay`, prunes to the retention, and returns the alert messages, the table writes and each council's
change in aggregates (what the changed children contribute now, minus what they contributed when read).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from schemas.alerts import AlertMessage
from schemas.events import ChildRecordsMerged, InboundEvent, ReferralOpened
from services.core.aggregates import AggregateKey, contribution
from services.core.calendar import local_date, minus_months
from services.core.config import Rules
from services.core.definitions import referrals
from services.core.engine import ChildId, Engine
from services.core.history import ChildHistory, Outcome
from services.core.state import to_document
from services.processor.tables import Redirect, load, table_key

Reader = Callable[[bytes], bytes | None]  # the children table, in the batch's partition


@dataclass(slots=True)
class BatchResult:
    """What the worker sends and writes for one batch, in this order: messages, then table writes."""

    messages: list[AlertMessage] = field(default_factory=list)
    outcomes: list[tuple[InboundEvent, Outcome]] = field(default_factory=list)
    writes: dict[bytes, bytes | None] = field(default_factory=dict)  # table key -> value; None deletes
    changes: dict[str, Counter[AggregateKey]] = field(default_factory=dict)  # la_code -> aggregate change
    rereferrals: set[str] = field(default_factory=set)  # applied referral events the core counts as re-referrals


def expired(history: ChildHistory) -> bool:
    """Nothing left after pruning: no facts, tombstones, standing alerts or remembered event ids."""
    return not (history.facts or history.retracted or history.standing or history.seen)


def apply_batch(events: Sequence[InboundEvent], read: Reader, rules: Rules) -> BatchResult:
    """Apply `events` in arrival order exactly as Engine.apply does one at a time, then prune and write back."""
    result = BatchResult()
    if not events:
        return result
    engine = Engine(rules)
    read_in = ReadIn()
    for event in events:
        read_in.bring(engine, (event.la_code, event.child_key), read)
        if isinstance(event, ChildRecordsMerged):
            read_in.bring(engine, (event.la_code, event.merged_child_key), read)
    read_in.redirects = dict(engine.redirects)
    for event in events:
        known = len(engine.redirects)
        outcome, messages = engine.apply(event)
        result.outcomes.append((event, outcome))
        result.messages.extend(messages)
        if outcome is Outcome.APPLIED and isinstance(event, ReferralOpened) and _rereferral(engine, event):
            result.rereferrals.add(event.event_id)
        if len(engine.redirects) != known:  # a merge: the redirect it left carries the merge's date
            for child in engine.redirects.keys() - read_in.merged_on.keys() - read_in.redirects.keys():
                read_in.merged_on[child] = local_date(event.occurred_at)
    today = max(local_date(event.occurred_at) for event in events)
    _write_back(engine, read_in, today, result)
    return result


@dataclass(slots=True)
class ReadIn:
    """What the batch read: each child's stored value, what it contributed then, and the redirects known."""

    stored: dict[ChildId, bytes] = field(default_factory=dict)
    before: dict[ChildId, Counter[AggregateKey]] = field(default_factory=dict)
    redirects: dict[ChildId, str] = field(default_factory=dict)
    merged_on: dict[ChildId, dt.date] = field(default_factory=dict)  # redirects this batch made, by merge date

    def bring(self, engine: Engine, child: ChildId, read: Reader) -> None:
        """Read a child once per batch into the Engine, following redirects; remember what it contributed."""
        while child not in self.stored and child not in engine.children:
            raw = read(table_key(child))
            if raw is None:
                return
            self.stored[child] = raw
            value = load(raw)
            if isinstance(value, Redirect):
                engine.redirects[child] = value.into
                child = (child[0], value.into)
                continue
            engine.children[child] = value
            self.before[child] = contribution(value, engine.rules)
            return


def _write_back(engine: Engine, read_in: ReadIn, today: dt.date, result: BatchResult) -> None:
    """Prune and write every child read or created, changed or not.

    Writing an unchanged child costs little and heals the changelog after a crash: a worker killed between its
    local write and the changelog flush had not committed those events, so they come again and this rewrite
    sends what the changelog missed.
    """
    rules, before = engine.rules, read_in.before
    after: dict[ChildId, Counter[AggregateKey]] = {}
    for child, history in engine.children.items():
        history.prune(today, rules)
        if expired(history):
            if child in read_in.stored:
                result.writes[table_key(child)] = None
            continue
        result.writes[table_key(child)] = to_document(history)
        after[child] = contribution(history, rules)
    for child, day in read_in.merged_on.items():  # merged in this batch: its history now lives in the survivor
        result.writes[table_key(child)] = Redirect(engine.redirects[child], day).dump()
    for child in before.keys() | after.keys():
        change = result.changes.setdefault(child[0], Counter())
        change.update(after.get(child, {}))
        change.subtract(before.get(child, {}))


def _rereferral(engine: Engine, event: ReferralOpened) -> bool:
    """Whether the core's one re-referral definition counts this referral, as its child's history stands once it is
    applied: the same answer `replay` gives at that event, wherever the batches split."""
    history = engine.children[engine.resolve((event.la_code, event.child_key))]
    found = referrals(history.facts, engine.rules, event.la_code)
    return any(event.referral_id in r.refs and r.rereferral for r in found)


def expiry(la_code: str, raw: bytes, today: dt.date, rules: Rules) -> tuple[bool, Counter[AggregateKey]]:
    """Whether an untouched table value of a council has expired by `today`, and the contribution its removal
    takes away."""
    value = load(raw)
    if isinstance(value, Redirect):
        retention = rules.for_council(la_code).retention_months
        return retention is not None and value.day < minus_months(today, retention), Counter()
    was = contribution(value, rules)
    value.prune(today, rules)
    return expired(value), was
