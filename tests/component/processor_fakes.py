"""In-process stand-ins for the broker side of the worker: a recording producer and faust-like records.

The handlers run against real faust tables (memory store) and this producer, so a test sees every message
the worker would send, in order, and the table as the worker left it, without a broker.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import faust
from faust.types import TP

from schemas.codec import decode_alert, encode
from schemas.events import InboundEvent
from services.core.config import DEFAULT_CONFIG
from services.processor.councils import CouncilTotals, decode_contributions
from services.processor.handlers import CouncilsHandler, EventsHandler
from services.processor.settings import ProcessorSettings
from services.processor.tables import TableWriter, partition_for

PARTITIONS = 6
NOW = dt.datetime(2025, 6, 1, 12, tzinfo=dt.UTC)


@dataclass
class Metadata:
    topic: str
    partition: int
    offset: int


@dataclass
class Sent:
    topic: str
    key: bytes | None
    value: bytes | None
    partition: int | None


@dataclass
class RecordingProducer:
    """Acknowledges every send at once (or fails it), and keeps them in order."""

    sent: list[Sent] = field(default_factory=list)
    fail_topic: str | None = None
    flushes: int = 0

    async def send(self, topic: str, key: bytes | None, value: bytes | None, partition: int | None, *_: Any) -> Any:
        self.sent.append(Sent(topic, key, value, partition))
        done: asyncio.Future[Metadata] = asyncio.get_running_loop().create_future()
        if topic == self.fail_topic:
            done.set_exception(RuntimeError(f"broker refused {topic}"))
        else:
            done.set_result(Metadata(topic, partition or 0, len(self.sent)))
        return done

    async def flush(self) -> None:
        self.flushes += 1

    def on(self, topic: str) -> list[Sent]:
        return [s for s in self.sent if s.topic == topic]


@dataclass
class Message:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


class Record:
    """What a batch task hands the handlers (bulk.Record): .message says where it came from (weak-referenceable)."""

    def __init__(self, message: Message) -> None:
        self.message = message


@dataclass
class RecordingMetrics:
    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        return lambda *args: self.calls.append((name, args))

    def named(self, name: str) -> list[tuple[Any, ...]]:
        return [args for called, args in self.calls if called == name]


@dataclass
class Worker:
    """The two handlers wired to real memory-store tables and a recording producer."""

    settings: ProcessorSettings
    producer: RecordingProducer
    children: Any
    councils: Any
    events: EventsHandler
    aggregator: CouncilsHandler
    metrics: RecordingMetrics
    offsets: dict[int, int] = field(default_factory=dict)
    handover_offsets: dict[int, int] = field(default_factory=dict)
    delivered: int = 0  # hand-over messages sent so far that were delivered back to the worker

    def record(self, value: bytes | None, key: bytes | None, partition: int | None = None) -> Record:
        where = partition if partition is not None else partition_for((key or b"").decode(), PARTITIONS)
        offset = self.offsets[where] = self.offsets.get(where, -1) + 1
        return Record(Message(self.settings.events_topic, where, offset, key, value))

    def records(self, *events: InboundEvent) -> list[Record]:
        return [self.record(encode(e), e.child_key.encode()) for e in events]

    async def handle(self, *events: InboundEvent) -> None:
        await self.events.handle(self.records(*events))

    def handover_record(self, sent: Sent) -> Record:
        where = sent.partition or 0
        offset = self.handover_offsets[where] = self.handover_offsets.get(where, -1) + 1
        return Record(Message(self.settings.handover_topic_name, where, offset, sent.key, sent.value))

    def handovers(self) -> list[Sent]:
        return self.producer.on(self.settings.handover_topic_name)

    async def hand_over(self) -> int:
        """Deliver the hand-over messages sent so far, and those they cause, a batch per round, until none is left."""
        delivered = 0
        while sent := self.handovers()[self.delivered :]:
            self.delivered += len(sent)
            await self.events.handle_handovers([self.handover_record(s) for s in sent])
            delivered += len(sent)
        return delivered

    async def redeliver(self, *sent: Sent) -> None:
        """Hand-over messages consumed again, as after a crash before their offsets were committed."""
        await self.events.handle_handovers([self.handover_record(s) for s in sent])

    def alerts(self) -> list[Any]:
        return [decode_alert(s.value or b"") for s in self.producer.on(self.settings.alerts_topic)]

    def dead_letters(self) -> list[dict[str, Any]]:
        return [json.loads(s.value or b"") for s in self.producer.on(self.settings.deadletter_topic)]

    def contributions(self) -> list[Any]:
        sent = self.producer.on(self.settings.contributions_topic)
        return [item for s in sent for item in decode_contributions(s.value or b"")]

    def changelog(self) -> list[Sent]:
        return self.producer.on(self.children.changelog_topic.get_topic_name())

    async def aggregate(self) -> None:
        """Feed everything sent to the contributions topic so far through the aggregator."""
        sent = self.producer.on(self.settings.contributions_topic)
        records = [Record(Message(s.topic, s.partition or 0, n, s.key, s.value)) for n, s in enumerate(sent)]
        await self.aggregator.handle(records)


def keys_in(same: bool, first: str = "child-a") -> tuple[str, str]:
    """Two child keys that Kafka's default partitioner puts in the same partition, or in different ones."""
    home = partition_for(first, PARTITIONS)
    n = 0
    while (partition_for(f"child-{n}", PARTITIONS) == home) != same or f"child-{n}" == first:
        n += 1
    return first, f"child-{n}"


def make_worker(tmp: Any, **overrides: Any) -> Worker:
    settings = ProcessorSettings(store="memory://", datadir=tmp, **overrides)
    app = faust.App(f"component-{id(settings)}", store="memory://", env={}, datadir=str(tmp))
    raw: dict[str, Any] = {"partitions": PARTITIONS, "key_type": bytes, "value_type": bytes}
    children, councils = app.Table("children", **raw), app.Table("councils", **raw)
    producer = RecordingProducer()
    assigned = {TP(settings.events_topic, p) for p in range(PARTITIONS)}
    consumer = type("FakeConsumer", (), {"assignment": lambda _: assigned, "highwater": lambda _, tp: 10})()
    fake_app = type("FakeApp", (), {"producer": producer, "consumer": consumer})()
    metrics = RecordingMetrics()
    writer = TableWriter(fake_app, children)
    events = EventsHandler(fake_app, children, writer, settings, DEFAULT_CONFIG, metrics, lambda: NOW, PARTITIONS)
    aggregator = CouncilsHandler(councils, TableWriter(fake_app, councils), CouncilTotals())
    return Worker(settings, producer, children, councils, events, aggregator, metrics)
