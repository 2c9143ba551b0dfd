"""One batch through the core: each child read once, alerts in arrival order, one write per child; merges across
partitions carried out by hand-over messages (handover.py).

Pure: no faust, no Kafka, no clock. The worker hands it a batch of items, each with the partition it was consumed
from (events from the events topic, hand-over messages from the internal topic), a reader for the children
table and Kafka's partition of a child key. It gets back the alert messages, the hand-over messages, the table
writes and the council contributions to send. An item only reads and writes children of its own partition; what
belongs to a child elsewhere leaves as a hand-over message keyed by that child.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from schemas.alerts import AlertMessage
from schemas.events import ChildRecordsMerged, InboundEvent
from services.core.calendar import local_date
from services.core.config import RuleConfig
from services.core.engine import ChildId, Engine
from services.core.history import ChildHistory, Outcome, merge_into
from services.core.state import from_document, to_document
from services.processor.handover import (
    Forwarded,
    HandedOver,
    Message,
    Requested,
    encode_message,
    identity,
    occurred_at,
)
from services.processor.values import Held, Pending, Redirect, child_of, history_of, load, table_key
from services.processor.writeback import Contribution, expired, sweep_one, write_back

__all__ = [
    "BatchResult",
    "Contribution",
    "Redirect",
    "apply_batch",
    "child_of",
    "expired",
    "load",
    "sweep_one",
    "table_key",
]

Reader = Callable[[ChildId, int], bytes | None]  # the children table: a child, read in the given partition
Home = Callable[[str], int]  # the partition Kafka gives a child key
Item = InboundEvent | Message


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A hand-over message, keyed by the child it is for and sent to that child's partition."""

    key: str
    partition: int
    value: bytes


@dataclass(slots=True)
class BatchResult:
    """What the worker must send and write for one batch, in this order: messages, hand-overs, writes."""

    messages: list[AlertMessage] = field(default_factory=list)
    outcomes: list[tuple[InboundEvent, Outcome]] = field(default_factory=list)
    handovers: list[Outgoing] = field(default_factory=list)
    writes: dict[ChildId, tuple[int, bytes | None]] = field(default_factory=dict)  # partition, None deletes
    contributions: list[Contribution] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Place:
    """Where a child key leads in a partition: the last local record, and the key it redirects to elsewhere."""

    child: ChildId
    elsewhere: str | None
    by: str | None  # the merge that made the last redirect followed, if it was a hand-over


@dataclass(slots=True)
class Batch:
    """One batch in flight: the children read, the Engine holding them, and what the items did to them."""

    read: Reader
    home: Home
    config: RuleConfig
    engine: Engine
    result: BatchResult = field(default_factory=BatchResult)
    raw: dict[ChildId, bytes] = field(default_factory=dict)
    versions: dict[ChildId, int] = field(default_factory=dict)
    where: dict[ChildId, int] = field(default_factory=dict)  # the partition each child was read in
    away: dict[ChildId, Redirect] = field(default_factory=dict)  # redirects to a child in another partition
    by: dict[ChildId, str | None] = field(default_factory=dict)
    held: dict[ChildId, Held] = field(default_factory=dict)
    moved: dict[ChildId, Redirect] = field(default_factory=dict)  # handed over in this batch
    days: list[dt.date] = field(default_factory=list)

    def bring(self, child: ChildId, partition: int) -> None:
        """Read a child once per batch, following redirects within the partition."""
        while child not in self.where:
            self.where[child] = partition
            raw = self.read(child, partition)
            if raw is None:
                return
            self.raw[child] = raw
            value = load(raw)
            if isinstance(value, Redirect):
                self.by[child] = value.by
                if self.home(value.into) != partition:
                    self.away[child] = value
                    return
                self.engine.redirects[child] = value.into
                child = (child[0], value.into)
                continue
            if isinstance(value, Held):
                self.held[child] = value
            history = history_of(value)
            if history is not None:
                self.versions[child] = history.version
                self.engine.children[child] = history

    def place(self, child: ChildId, partition: int, *, own: bool = False) -> _Place:
        """Follow `child` through redirects in `partition`. An event's own child is read where the event came
        from (as before merges across partitions existed); any other key is here only if Kafka puts it here."""
        if not own and self.home(child[1]) != partition:
            return _Place(child, child[1], None)
        self.bring(child, partition)
        by = None
        while child in self.engine.redirects:
            by = self.by.get(child)
            child = (child[0], self.engine.redirects[child])
            self.bring(child, partition)
        if child in self.away:
            return _Place(child, self.away[child].into, self.away[child].by)
        return _Place(child, None, by)

    def step(self, item: Item, partition: int) -> None:
        if isinstance(item, InboundEvent):  # the usual case first: an event from the events topic
            self.days.append(local_date(item.occurred_at))
            self.event(item, item.child_key, partition, own=True)
            return
        self.days.append(local_date(occurred_at(item)))
        if isinstance(item, Requested):
            self.requested(item, partition)
        elif isinstance(item, HandedOver):
            self.handed_over(item, partition)
        else:
            self.event(item.event, item.to, partition)

    def send(self, message: Message) -> None:
        self.result.handovers.append(Outgoing(message.to, self.home(message.to), encode_message(message)))

    def pending(self, child: ChildId) -> Pending | None:
        held = self.held.get(child)
        return held.pending if held else None

    def stash(self, child: ChildId, message: Message) -> None:
        pending = self.held[child].pending
        assert pending is not None
        if identity(message) not in {identity(m) for m in pending.stash}:  # a redelivery is stashed once
            pending.stash.append(message)

    def event(self, event: InboundEvent, key: str, partition: int, *, own: bool = False) -> None:
        place = self.place((event.la_code, key), partition, own=own)
        if place.elsewhere is not None:
            self.send(Forwarded(place.elsewhere, event))
            return
        pending = self.pending(place.child)
        if pending is not None:
            if pending.merge.event_id == event.event_id:  # the merge itself, redelivered: its request is out
                self.result.outcomes.append((event, Outcome.DUPLICATE))
            else:
                self.stash(place.child, Forwarded(place.child[1], event))
            return
        if isinstance(event, ChildRecordsMerged):
            self.merge(event, place.child, partition)
        else:
            self.apply(_filed_under(event, place.child[1]))

    def apply(self, event: InboundEvent) -> None:
        outcome, messages = self.engine.apply(event)
        self.result.outcomes.append((event, outcome))
        self.result.messages.extend(messages)

    def merge(self, merge: ChildRecordsMerged, into: ChildId, partition: int) -> None:
        held = self.held.get(into)
        if held is not None and merge.event_id in held.merged:
            self.result.outcomes.append((merge, Outcome.DUPLICATE))
            return
        source = self.place((merge.la_code, merge.merged_child_key), partition)
        if source.elsewhere is None:  # both records here: merged at once, as replay does
            if source.child != into and self.pending(source.child) is not None:
                self.stash(source.child, Forwarded(into[1], merge))  # after the merged record's own merge
                return
            self.apply(merge.model_copy(update={"child_key": into[1], "merged_child_key": source.child[1]}))
            if self.result.outcomes[-1][1] is Outcome.MERGED and source.child in self.held:
                remembered = self.held.pop(source.child).merged  # its completed merges stay known, in `into`
                self.held.setdefault(into, Held(self.engine.children.get(into))).merged |= remembered
            return
        self.send(Requested(source.elsewhere, into[1], merge))
        self.held.setdefault(into, Held(self.engine.children.get(into))).pending = Pending(merge, source.elsewhere)

    def requested(self, request: Requested, partition: int) -> None:
        """Hand the asked record over: withdraw its alerts, leave a redirect, send its history to `into`."""
        place = self.place((request.merge.la_code, request.to), partition)
        if request.into in (place.elsewhere, place.child[1]):  # merged into the requester already
            if place.by != request.merge.event_id:  # by another merge; for this one it is a redelivery
                self.send(HandedOver(request.into, request.to, request.merge, None, already=True))
            return
        if place.elsewhere is not None:
            self.send(dataclasses.replace(request, to=place.elsewhere))
            return
        if self.pending(place.child) is not None:
            self.stash(place.child, request)  # handed over once its own merge is complete
            return
        history = self.engine.children.pop(place.child, None)
        held = self.held.pop(place.child, None)
        if history is not None:
            self.result.messages.extend(history.withdraw_all(reason="child records merged"))
        document = None if history is None else to_document(history)
        merged = held.merged if held else {}
        self.send(HandedOver(request.into, place.child[1], request.merge, document, merged=merged))
        redirect = Redirect(request.into, local_date(request.merge.occurred_at), request.merge.event_id)
        self.moved[place.child] = redirect
        self.by[place.child] = redirect.by
        if self.home(request.into) == partition:
            self.engine.redirects[place.child] = request.into
        else:
            self.away[place.child] = redirect

    def handed_over(self, message: HandedOver, partition: int) -> None:
        place = self.place((message.merge.la_code, message.to), partition)
        if place.elsewhere is not None:  # the survivor was merged away meanwhile
            self.send(dataclasses.replace(message, to=place.elsewhere))
            return
        held = self.held.get(place.child)
        if held is not None and message.merge.event_id in held.merged:
            return  # redelivered: merged already
        if held is not None and held.pending is not None and held.pending.merge.event_id != message.merge.event_id:
            self.stash(place.child, message)
            return
        self.complete(place.child, message, partition)

    def complete(self, into: ChildId, message: HandedOver, partition: int) -> None:
        """Merge the handed-over history in, then apply what waited for it, in arrival order."""
        merge = message.merge
        history = self.engine.children.get(into)
        if history is None:
            history = self.engine.children[into] = ChildHistory(la_code=into[0], child_key=into[1])
        if message.already:
            history.seen.add(merge.event_id)
            self.result.outcomes.append((merge, Outcome.DUPLICATE))
        else:
            source = ChildHistory(la_code=into[0], child_key=message.source)
            if message.document is not None:
                source = from_document(message.document)
                have = {f.event_id for f in history.facts}  # guard by event ids: a fact is merged in once
                source.facts = [f for f in source.facts if f.event_id not in have]
            self.result.messages.extend(merge_into(history, source, merge, self.config))
            self.result.outcomes.append((merge, Outcome.MERGED))
        held = self.held.setdefault(into, Held(history))
        held.child = history
        held.merged |= message.merged | {merge.event_id: local_date(merge.occurred_at)}
        stash = held.pending.stash if held.pending else []
        held.pending = None
        for waiting in stash:
            self.step(waiting, partition)


def _filed_under(event: InboundEvent, key: str) -> InboundEvent:
    """The event as if filed under the record it belongs to (its facts do not depend on the key)."""
    return event if event.child_key == key else event.model_copy(update={"child_key": key})


def apply_batch(items: Sequence[tuple[int, Item]], read: Reader, home: Home, config: RuleConfig) -> BatchResult:
    """Apply `items` in arrival order, exactly as Engine.apply would one at a time, then prune and diff."""
    batch = Batch(read, home, config, Engine(config))
    for partition, item in items:
        batch.step(item, partition)
    if batch.days:
        write_back(batch, max(batch.days))
    return batch.result
