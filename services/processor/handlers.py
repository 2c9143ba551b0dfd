"""What the agent does with a batch of one partition: decode -> core -> send and await -> write -> metrics.

No domain rules. Order matters for at-least-once: alerts and dead letters are acknowledged by the broker before
the children are written, and the agent acknowledges the batch's events only after that, so faust commits past
them only once their outputs are sent and their state is written (faust flushes the changelog before a commit).
A crash anywhere leaves state no newer than the outputs, and the events come again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from schemas.alerts import Alert
from schemas.codec import encode
from schemas.codes import source_group
from schemas.events import ContactReceived, InboundEvent, ReferralOpened
from schemas.totals import CouncilMonthTotals
from services.core.aggregates import AggregateKey, contribution
from services.core.calendar import local_date
from services.core.config import Rules
from services.core.history import ChildHistory, Outcome
from services.kafka.topics import partition_for
from services.processor.batch import BatchResult, apply_batch, expiry
from services.processor.deadletter import Rejection, admit, envelope
from services.processor.faust_workarounds import writing_for
from services.processor.observe import ProcessorMetrics
from services.processor.settings import ProcessorSettings
from services.processor.snapshots import batch_snapshots, rebuilt_snapshots
from services.processor.tables import child_of, load
from services.processor.totals import CouncilTotals

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


@dataclass(slots=True)
class Sweep:
    """One partition's expiry sweep: the keys still to examine, and when the last pass began."""

    queue: list[bytes] = field(default_factory=list)
    started: float = float("-inf")


@dataclass(slots=True)
class EventsHandler:
    """Per-batch wiring of the events topic to the core, the children table and the council totals."""

    app: Any
    children: Any  # faust Table: table_key -> child document or redirect (bytes)
    settings: ProcessorSettings
    rules: Rules
    metrics: ProcessorMetrics
    clock: Clock
    partitions: int
    totals: CouncilTotals = field(default_factory=CouncilTotals)
    counts: Counts = field(default_factory=Counts)
    latest_day: dict[int, dt.date] = field(default_factory=dict)  # partition -> latest event date seen
    sweeps: dict[int, Sweep] = field(default_factory=dict)

    async def handle(self, batch: Sequence[Any]) -> None:
        """A batch of faust events, all from one partition of the events topic, in arrival order."""
        started = time.perf_counter()
        self.counts.first_batch_started_at = self.counts.first_batch_started_at or time.time()
        now = self.clock()
        tolerance = dt.timedelta(seconds=self.settings.future_tolerance_seconds)
        sends: list[Awaitable[Any]] = []
        events: list[InboundEvent] = []
        for record in batch:
            admitted = admit(record.message.value, now, tolerance)
            if isinstance(admitted, Rejection):
                sends.append(await self._dead_letter(record, admitted))
            else:
                events.append(admitted)
        context = batch[-1]
        with writing_for(context):
            result = apply_batch(events, self.children.get, self.rules)
        moved = self.totals.after(result.changes)  # the months it changed go out with the alerts
        for message in result.messages:
            sends.append(await self._send(self.settings.alerts_topic, message.child_key.encode(), encode(message)))
        sends += await self._snapshots(batch_snapshots(moved, result.changes))
        await self._acknowledged(sends)
        with writing_for(context):
            self._write(result.writes)
        self.totals.totals = moved.totals
        self._observe(batch, result, now, started)
        partition = context.message.partition
        if events:
            day = max(local_date(event.occurred_at) for event in events)
            self.latest_day[partition] = max(day, self.latest_day.get(partition, day))
        await self.sweep(partition, context)

    def _write(self, writes: dict[bytes, bytes | None]) -> None:
        for key, value in writes.items():
            if value is not None:
                self.children[key] = value
            elif key in self.children:
                del self.children[key]

    async def _acknowledged(self, sends: list[Awaitable[Any]]) -> None:
        """Every send delivered and acknowledged (acks=all); flushing first cuts the producer's linger short."""
        if sends:
            await self.app.producer.flush()
            await asyncio.gather(*sends)  # raises if any send failed

    async def _snapshots(self, snapshots: Sequence[CouncilMonthTotals]) -> list[Awaitable[Any]]:
        """Send whole council-month snapshots to the totals topic (not yet awaited)."""
        topic = self.settings.totals_topic
        return [await self._send(topic, snapshot.key.encode(), encode(snapshot)) for snapshot in snapshots]

    async def publish_totals(self) -> None:
        """Every month of every council this worker holds, first to last: after a rebuild of the sums."""
        await self._acknowledged(await self._snapshots(rebuilt_snapshots(self.totals)))

    async def _send(self, topic: str, key: bytes | None, value: bytes) -> Awaitable[Any]:
        sent: Awaitable[Any] = await self.app.producer.send(topic, key, value, None, None, None)
        return sent

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
        return await self._send(self.settings.deadletter_topic, message.key, value)

    def _observe(self, batch: Sequence[Any], result: BatchResult, now: dt.datetime, started: float) -> None:
        for message in result.messages:
            if isinstance(message, Alert):
                self.metrics.alert_raised(message.la_code, message.rule.value, message.severity.value)
        for event, outcome in result.outcomes:
            self.metrics.events_consumed(type(event).__name__, outcome.value)  # the event's `type`
            self.metrics.event_age((now - event.occurred_at).total_seconds())
            if outcome is Outcome.APPLIED and isinstance(event, ContactReceived):
                self.metrics.contact_received(event.la_code, source_group(event.source).value)
            elif outcome is Outcome.APPLIED and isinstance(event, ReferralOpened):
                group = source_group(event.source).value
                self.metrics.referral_opened(event.la_code, group, event.event_id in result.rereferrals)
        self.metrics.batch_processed(len(batch), time.perf_counter() - started)
        self.counts.events += len(batch)
        self.counts.alerts += len(result.messages)
        self.counts.batches += 1
        self.counts.last_batch_at = time.time()
        self.counts.first_batch_at = self.counts.first_batch_at or self.counts.last_batch_at
        for record in batch:
            self.counts.positions[record.message.partition] = record.message.offset

    def observe_state(self) -> None:
        """Periodic gauges: children held, and events not yet handled on this worker's partitions."""
        self.metrics.state_size(len(self.children))
        lag = 0
        for tp in self.app.consumer.assignment():
            highwater = self.app.consumer.highwater(tp) if tp.topic == self.settings.events_topic else None
            if highwater is not None and highwater >= 0:  # unknown until the partition's first fetch
                lag += max(0, highwater - 1 - self.counts.positions.get(tp.partition, highwater - 1))
        self.metrics.consumer_lag(lag)

    def rebuild_totals(self, partitions: set[int]) -> None:
        """The council sums from the children of `partitions` (this worker's, after a restore or rebalance)."""

        def contributions() -> Any:
            for key, raw in self.children.items():
                la_code = child_of(key)[0]
                if partition_for(la_code, self.partitions) in partitions:
                    value = load(raw)
                    if isinstance(value, ChildHistory):
                        yield la_code, contribution(value, self.rules)

        self.totals.rebuild(contributions())

    async def sweep(self, partition: int, context: Any) -> None:
        """Delete this partition's children (and redirects) with nothing left inside the retention, a chunk a batch."""
        today = self.latest_day.get(partition)
        if today is None:
            return
        sweep = self.sweeps.setdefault(partition, Sweep())
        if not sweep.queue:
            if time.monotonic() - sweep.started < self.settings.expiry_sweep_seconds:
                return
            sweep.started = time.monotonic()
            with writing_for(context):
                keys = list(self.children.keys())
            sweep.queue = [k for k in keys if partition_for(child_of(k)[0], self.partitions) == partition]
        chunk, sweep.queue = sweep.queue[:SWEEP_CHUNK], sweep.queue[SWEEP_CHUNK:]
        changes: dict[str, Counter[AggregateKey]] = {}
        expired: list[bytes] = []
        with writing_for(context):
            for key in chunk:
                raw = self.children.get(key)
                if raw is None:
                    continue
                gone, was = expiry(child_of(key)[0], raw, today, self.rules)
                if gone:
                    expired.append(key)
                    changes.setdefault(child_of(key)[0], Counter()).subtract(was)
        # As a batch does: the changed months acknowledged on the totals topic before the children go, so a crash
        # in between leaves the children to expire again rather than the topic with months no rebuild republishes.
        moved = self.totals.after(changes)
        await self._acknowledged(await self._snapshots(batch_snapshots(moved, changes)))
        with writing_for(context):
            self._write(dict.fromkeys(expired))
        self.totals.totals = moved.totals
