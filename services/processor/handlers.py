"""What the batch tasks do with a batch: decode -> core -> send and await -> write state -> metrics. No domain rules.

Order matters for at-least-once: alerts, contributions and dead letters are acknowledged by the broker before
any state is written, and state (local store and changelog) is flushed before faust may commit the offsets.
A crash anywhere leaves state no newer than the outputs, so the redelivered batch re-sends what was lost.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from schemas.alerts import Alert, RereferralDetected
from schemas.codec import encode
from schemas.codes import source_group
from schemas.events import ContactReceived, InboundEvent, ReferralOpened
from services.core.calendar import local_date
from services.core.config import RuleConfig
from services.core.engine import ChildId
from services.core.history import Outcome
from services.processor.batch import BatchResult, Contribution, Item, apply_batch, child_of, sweep_one, table_key
from services.processor.councils import (
    CouncilTotals,
    by_council,
    council_key,
    decode_contributions,
    encode_contribution,
    encode_contributions,
)
from services.processor.deadletter import ReasonCode, Rejection, admit, envelope
from services.processor.handover import decode_message
from services.processor.observe import ProcessorMetrics
from services.processor.settings import ProcessorSettings
from services.processor.tables import TableWriter, acting_for, partition_for

Clock = Callable[[], dt.datetime]
SWEEP_CHUNK = 2_000  # table entries examined for expiry per batch, so a sweep never stalls the stream


@dataclass(slots=True)
class Counts:
    """This process's progress, for the status file and tests."""

    events: int = 0
    dead_letters: int = 0
    alerts: int = 0
    batches: int = 0
    first_batch_started_at: float | None = None  # wall clock (time.time) when the first batch arrived
    first_batch_at: float | None = None  # ... and when it was done: "processing" after a (re)start
    last_batch_at: float | None = None
    positions: dict[int, int] = field(default_factory=dict)  # events partition -> last offset handled
    handovers: int = 0  # merge hand-over messages handled


@dataclass(slots=True)
class EventsHandler:
    """Per-batch wiring of the events topic and the merge hand-over topic, which share the children table."""

    app: Any
    children: Any  # faust Table: table_key -> child document or redirect (bytes)
    writer: TableWriter
    settings: ProcessorSettings
    config: RuleConfig
    metrics: ProcessorMetrics
    clock: Clock
    partitions: int
    counts: Counts = field(default_factory=Counts)
    latest_day: dt.date | None = None
    recent: dict[int, Any] = field(default_factory=dict)  # partition -> a recent faust event in it
    sweep_queue: list[bytes] = field(default_factory=list)
    last_sweep: float = float("-inf")  # the first sweep starts with the first batch
    # The events and hand-over batch tasks share the children table: one batch at a time reads and writes it.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def handle(self, batch: Sequence[Any]) -> None:
        """A batch from the events topic."""
        async with self.lock:
            started = time.perf_counter()
            self.counts.first_batch_started_at = self.counts.first_batch_started_at or time.time()
            now = self.clock()
            tolerance = dt.timedelta(seconds=self.settings.future_tolerance_seconds)
            sends: list[Awaitable[Any]] = []
            items: list[tuple[int, Item]] = []
            for record in batch:
                self.recent[record.message.partition] = record
                admitted = admit(record.message.value, now, tolerance)
                if isinstance(admitted, Rejection):
                    sends.append(await self._dead_letter(record, admitted))
                else:
                    items.append((record.message.partition, admitted))
            result = await self._apply(items, sends)
            self._observe(batch, result.outcomes, result.messages, now, started)
            if items:
                day = max(local_date(event.occurred_at) for _, event in items if isinstance(event, InboundEvent))
                self.latest_day = max(day, self.latest_day or day)
            await self.sweep()

    async def handle_handovers(self, batch: Sequence[Any]) -> None:
        """A batch from the internal merge hand-over topic (handover.py); it shares the children table."""
        async with self.lock:
            now = self.clock()
            sends: list[Awaitable[Any]] = []
            items: list[tuple[int, Item]] = []
            for record in batch:
                self.recent[record.message.partition] = record
                try:
                    items.append((record.message.partition, decode_message(record.message.value)))
                except ValueError as error:  # a newer version's message, or a bug: kept, not applied
                    rejection = Rejection(ReasonCode.SCHEMA_INVALID, f"hand-over message: {type(error).__name__}")
                    sends.append(await self._dead_letter(record, rejection))
            result = await self._apply(items, sends)
            self._observe_outcomes(result.outcomes, result.messages, now)
            self.counts.handovers += len(batch)
            self.counts.alerts += len(result.messages)

    async def _apply(self, items: list[tuple[int, Item]], sends: list[Awaitable[Any]]) -> BatchResult:
        """Core, then send everything and await the acknowledgements, then write the children: in that order."""

        def read(child: ChildId, partition: int) -> bytes | None:
            with acting_for(self.recent[partition]):
                value: bytes | None = self.children.get(table_key(child))
                return value

        def home(child_key: str) -> int:
            return partition_for(child_key, self.partitions)

        result = apply_batch(items, read, home, self.config)
        for message in result.messages:
            sends.append(await self._send(self.settings.alerts_topic, message.child_key, encode(message)))
        for out in result.handovers:
            sends.append(await self._send(self.settings.handover_topic_name, out.key, out.value, out.partition))
        sends += await self._contribute(result.contributions)
        await self._acknowledged(sends)
        writes = [await self._write(c, v, self.recent[p]) for c, (p, v) in result.writes.items()]
        await self.writer.confirm(writes)
        return result

    async def _acknowledged(self, sends: list[Awaitable[Any]]) -> None:
        """Every send delivered and acknowledged (acks=all); flushing first cuts the producer's linger short."""
        await self.app.producer.flush()
        await asyncio.gather(*sends)  # raises if any send failed

    async def _send(self, topic: str, key: str, value: bytes, partition: int | None = None) -> Awaitable[Any]:
        sent: Awaitable[Any] = await self.app.producer.send(topic, key.encode(), value, partition, None, None)
        return sent

    async def _contribute(self, items: Sequence[Contribution]) -> list[Awaitable[Any]]:
        sends = []
        for chunk in by_council(items):
            la_code = chunk[0].la_code
            # An explicit partition: the aggregator relies on where each council's entries live.
            where = partition_for(la_code, self.partitions)
            sends.append(
                await self._send(self.settings.contributions_topic, la_code, encode_contributions(chunk), where)
            )
        return sends

    async def _dead_letter(self, record: Any, rejection: Rejection) -> Awaitable[Any]:
        message = record.message
        value = envelope(
            rejection,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            key=message.key,
            value=message.value,
        )
        self.metrics.dead_letter(rejection.code.value)
        self.metrics.events_consumed("unknown", "dead_letter")
        self.counts.dead_letters += 1
        sent: Awaitable[Any] = await self.app.producer.send(
            self.settings.deadletter_topic, message.key, value, None, None, None
        )
        return sent

    async def _write(self, child: ChildId, value: bytes | None, context: Any) -> Awaitable[Any]:
        return await self.writer.write(table_key(child), value, context)

    def _observe(self, batch: Sequence[Any], outcomes: Any, messages: Any, now: dt.datetime, started: float) -> None:
        self._observe_outcomes(outcomes, messages, now)
        self.metrics.batch_processed(len(batch), time.perf_counter() - started)
        self.counts.events += len(batch)
        self.counts.alerts += len(messages)
        self.counts.batches += 1
        self.counts.last_batch_at = time.time()
        self.counts.first_batch_at = self.counts.first_batch_at or self.counts.last_batch_at
        for record in batch:
            self.counts.positions[record.message.partition] = record.message.offset

    def _observe_outcomes(self, outcomes: Any, messages: Any, now: dt.datetime) -> None:
        """Events are counted where they are applied: a forwarded or stashed event once, when it is."""
        rereferred = set()
        for message in messages:
            if isinstance(message, Alert):
                self.metrics.alert_raised(message.la_code, message.rule.value, message.severity.value)
            if isinstance(message, RereferralDetected):
                rereferred.add(message.trigger_event_id)
        for event, outcome in outcomes:
            self.metrics.events_consumed(event.type, outcome.value)
            self.metrics.event_age((now - event.occurred_at).total_seconds())
            if outcome is Outcome.APPLIED and isinstance(event, ContactReceived | ReferralOpened):
                group = source_group(event.source).value
                if isinstance(event, ContactReceived):
                    self.metrics.contact_received(event.la_code, group)
                else:
                    self.metrics.referral_opened(event.la_code, group, event.event_id in rereferred)

    def observe_state(self) -> None:
        """Periodic gauges: children held, and events not yet handled on this worker's partitions."""
        self.metrics.state_size(len(self.children))
        lag = 0
        for tp in self.app.consumer.assignment():
            highwater = self.app.consumer.highwater(tp) if tp.topic == self.settings.events_topic else None
            if highwater is not None and highwater >= 0:  # unknown until the partition's first fetch
                lag += max(0, highwater - 1 - self.counts.positions.get(tp.partition, highwater - 1))
        self.metrics.consumer_lag(lag)

    async def sweep(self) -> None:
        """Delete children (and redirects) with nothing left inside the retention, a chunk per batch."""
        if self.latest_day is None:
            return
        if not self.sweep_queue:
            if time.monotonic() - self.last_sweep < self.settings.expiry_sweep_seconds:
                return
            self.last_sweep = time.monotonic()
            self.sweep_queue = list(self.children.keys())
        chunk, self.sweep_queue = self.sweep_queue[:SWEEP_CHUNK], self.sweep_queue[SWEEP_CHUNK:]
        # Only partitions this worker holds now: after a rebalance a memory store keeps keys it no longer owns.
        mine = {tp.partition for tp in self.app.consumer.assignment() if tp.topic == self.settings.events_topic}
        gone: list[tuple[ChildId, Any]] = []
        removals: list[Contribution] = []
        for key in chunk:
            child = child_of(key)
            partition = partition_for(child[1], self.partitions)
            context = self.recent.get(partition)
            raw = self.children.get(key)
            if partition not in mine or context is None or raw is None:
                continue
            is_expired, version = sweep_one(raw, self.latest_day, self.config)
            if is_expired:
                gone.append((child, context))
                if version is not None:
                    removals.append(Contribution(*child, version, Counter()))
        await self._acknowledged(await self._contribute(removals))
        await self.writer.confirm([await self._write(child, None, context) for child, context in gone])


@dataclass(slots=True)
class CouncilsHandler:
    """Per-batch wiring of the aggregator: keep the latest contribution per child, maintain the sums."""

    councils: Any  # faust Table: council_key -> the child's latest contribution (encode_contribution)
    writer: TableWriter
    totals: CouncilTotals
    batches: int = 0

    async def handle(self, batch: Sequence[Any]) -> None:
        writes: list[Awaitable[Any]] = []
        for record in batch:
            for item in decode_contributions(record.message.value):
                key = council_key(item.la_code, item.child_key)
                with acting_for(record):
                    write, value = self.totals.accept(self.councils.get(key), item, encode_contribution(item))
                if write:
                    writes.append(await self.writer.write(key, value, record))
        await self.writer.confirm(writes)
        self.totals.publish()
        self.batches += 1
