"""In-process stand-ins for the broker side of the worker: a recording producer, a consumer, faust-like events.

The handler runs against a real faust app's children table (memory store) with this producer in place of the
app's, so a test sees every message the worker would send, every changelog write the table makes, in order, and
the table as the worker left it, without a broker.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import faust
from faust.types import TP

from schemas.codec import decode_alert, encode
from schemas.events import InboundEvent
from services.core.aggregates import AggregateKey, contribution
from services.core.config import DEFAULT_CONFIG, RuleConfig
from services.core.history import ChildHistory
from services.kafka.topics import partition_for
from services.processor.handlers import EventsHandler
from services.processor.settings import ProcessorSettings
from services.processor.tables import Redirect, child_of, load, table_key

PARTITIONS = 6
NOW = dt.datetime(2025, 6, 1, 12, tzinfo=dt.UTC)
_apps = itertools.count()


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
    """Holds every send until `flush()`, then acknowledges it (or fails it), as acks=all with a linger would.

    `log` is the order of what happened: ("sent", topic) for each send or changelog write, ("acknowledged", topic)
    when a send's future resolves.
    """

    sent: list[Sent] = field(default_factory=list)
    log: list[tuple[str, str]] = field(default_factory=list)
    fail_topic: str | None = None
    flushes: int = 0
    _pending: list[tuple[Sent, asyncio.Future[Metadata]]] = field(default_factory=list)

    async def send(
        self, topic: str, key: bytes | None, value: bytes | None, partition: int | None, timestamp: Any, headers: Any
    ) -> asyncio.Future[Metadata]:
        sent = self._record(Sent(topic, key, value, partition))
        done: asyncio.Future[Metadata] = asyncio.get_running_loop().create_future()
        self._pending.append((sent, done))
        return done

    def send_soon(self, fut: Any) -> None:
        """A table's changelog write (faust's FutureMessage); faust fills in the partition before this call."""
        message = fut.message
        self._record(Sent(message.channel.get_topic_name(), message.key, message.value, message.partition))

    async def flush(self) -> None:
        self.flushes += 1
        pending, self._pending = self._pending, []
        for sent, done in pending:
            if sent.topic == self.fail_topic:
                done.set_exception(RuntimeError(f"broker refused {sent.topic}"))
            else:
                done.set_result(Metadata(sent.topic, sent.partition or 0, self.sent.index(sent)))
                self.log.append(("acknowledged", sent.topic))

    def _record(self, sent: Sent) -> Sent:
        self.sent.append(sent)
        self.log.append(("sent", sent.topic))
        return sent

    def on(self, topic: str) -> list[Sent]:
        return [s for s in self.sent if s.topic == topic]


@dataclass
class FakeConsumer:
    """The assignment and highwaters the handler's gauges read; topic sizes unknown, as before the first fetch."""

    assigned: set[TP]
    highwaters: dict[TP, int] = field(default_factory=dict)

    def assignment(self) -> set[TP]:
        return self.assigned

    def highwater(self, tp: TP) -> int:
        return self.highwaters.get(tp, -1)

    def topic_partitions(self, topic: str) -> int | None:
        return None


@dataclass
class Message:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


class Record:
    """What `noack_take` hands the agent: a faust event with its .message (and weak-referenceable, as faust's is)."""

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
    """The events handler wired to a real memory-store children table and a recording producer."""

    settings: ProcessorSettings
    config: RuleConfig
    app: Any
    producer: RecordingProducer
    consumer: FakeConsumer
    children: Any
    events: EventsHandler
    metrics: RecordingMetrics
    offsets: dict[int, int] = field(default_factory=dict)

    def record(self, value: bytes | None, key: bytes | None, partition: int | None = None) -> Record:
        """The next message of the events topic; by default in the partition of its key, a council."""
        where = partition if partition is not None else partition_for((key or b"").decode(), PARTITIONS)
        offset = self.offsets[where] = self.offsets.get(where, -1) + 1
        return Record(Message(self.settings.events_topic, where, offset, key, value))

    def records(self, *events: InboundEvent) -> list[Record]:
        """Events as the ingest publishes them: keyed by council."""
        return [self.record(encode(e), e.la_code.encode()) for e in events]

    async def handle(self, *events: InboundEvent) -> list[Record]:
        """One batch; like the agent's, all from one partition."""
        batch = self.records(*events)
        assert len({r.message.partition for r in batch}) == 1, "a batch holds one partition's events"
        await self.events.handle(batch)
        return batch

    def alerts(self) -> list[Any]:
        return [decode_alert(s.value or b"") for s in self.producer.on(self.settings.alerts_topic)]

    def dead_letters(self) -> list[dict[str, Any]]:
        return [json.loads(s.value or b"") for s in self.producer.on(self.settings.deadletter_topic)]

    def changelog(self) -> list[Sent]:
        return self.producer.on(self.children.changelog_topic.get_topic_name())

    def state(self, child: str, la_code: str = "886") -> ChildHistory | Redirect | None:
        raw = self.children.get(table_key((la_code, child)))
        return None if raw is None else load(raw)

    def stored(self) -> dict[bytes, bytes]:
        return dict(self.children.items())

    def summed_contributions(self, la_code: str) -> Counter[AggregateKey]:
        """The council's totals from first principles: the core's contribution of every child in the table."""
        total: Counter[AggregateKey] = Counter()
        for key, raw in self.children.items():
            value = load(raw)
            if child_of(key)[0] == la_code and isinstance(value, ChildHistory):
                total.update(contribution(value, self.config))
        return +total


def make_worker(tmp: Any, *, config: RuleConfig = DEFAULT_CONFIG, **overrides: Any) -> Worker:
    settings = ProcessorSettings(store="memory://", datadir=tmp, **overrides)
    app = faust.App(f"component-{next(_apps)}", store="memory://", env={}, datadir=str(tmp))
    children = app.Table("children", partitions=PARTITIONS, key_type=bytes, value_type=bytes)
    producer = RecordingProducer()
    consumer = FakeConsumer({TP(settings.events_topic, p) for p in range(PARTITIONS)})
    app.producer = producer  # the table's changelog writes go here too
    app.consumer = consumer
    metrics = RecordingMetrics()
    events = EventsHandler(app, children, settings, config, metrics, lambda: NOW, PARTITIONS)
    return Worker(settings, config, app, producer, consumer, children, events, metrics)
