"""Kafka adapters: project the alerts, actions, events and totals topics into the read model; publish actions, audit.

No consumer group: the desk assigns itself every partition and resumes from the offsets its database committed
with the rows they produced (from the beginning on an empty or rebuilt database).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from schemas.audit import AuditRecord
from schemas.codec import decode_alert, decode_event, decode_totals, encode
from schemas.pseudonyms import is_pseudonym
from services.alertdesk.actions import ActionMessage, decode_action
from services.alertdesk.desk import Desk
from services.alertdesk.projection import Batch
from services.alertdesk.settings import AlertDeskSettings
from services.kafka.clients import consumer_kwargs, producer_kwargs
from services.settings import Settings

log = logging.getLogger(__name__)
POLL_TIMEOUT_MS = 200
ASSIGNMENT_SECONDS = 30.0


ProducerFactory = Callable[[], Awaitable[AIOKafkaProducer]]


class DeskPublisher:
    """The durable producer (acks=all, idempotent): an action or audit record counts only once the broker has it.

    After a producer error the producer is replaced and the send tried once more on the new one: an idempotent
    producer whose batch failed is left with a broken sequence (every later send fails), so it is not reused.
    """

    def __init__(self, start_producer: ProducerFactory, actions_topic: str, audit_topic: str) -> None:
        self._start_producer = start_producer
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()
        self.actions_topic, self.audit_topic = actions_topic, audit_topic
        self.replaced_total = 0

    async def publish_action(self, action: ActionMessage) -> None:
        await self._send(self.actions_topic, encode(action), action.alert_id.encode())

    async def record(self, entry: AuditRecord) -> None:
        """AuditSink: keyed by user, so one person's trail stays in order."""
        await self._send(self.audit_topic, encode(entry), entry.user.encode())

    async def start(self) -> None:
        await self._current()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def _send(self, topic: str, value: bytes, key: bytes) -> None:
        producer = await self._current()
        try:
            await producer.send_and_wait(topic, value, key=key)
        except KafkaError as error:
            log.warning("producer failed on %s (%s): starting a new producer", topic, type(error).__name__)
            await self._replace(producer)
            await (await self._current()).send_and_wait(topic, value, key=key)

    async def _current(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                self._producer = await self._start_producer()
            return self._producer

    async def _replace(self, failed: AIOKafkaProducer) -> None:
        stop_failed = failed.stop
        async with self._lock:
            if self._producer is not failed:
                return  # another send already replaced it
            self._producer, self.replaced_total = None, self.replaced_total + 1
        with contextlib.suppress(Exception):  # a broken producer may fail to stop cleanly; it is dropped anyway
            await stop_failed()


async def start_publisher(settings: Settings, desk_settings: AlertDeskSettings) -> DeskPublisher:
    async def start_producer() -> AIOKafkaProducer:
        producer = AIOKafkaProducer(**producer_kwargs(settings))
        await producer.start()
        return producer

    publisher = DeskPublisher(start_producer, desk_settings.actions_topic, desk_settings.audit_topic)
    await publisher.start()
    return publisher


def read_record(
    batch: Batch, desk: Desk, desk_settings: AlertDeskSettings, message: ConsumerRecord[bytes, bytes]
) -> None:
    """Decode one message into the batch. One that does not decode is counted and skipped, never logged whole.

    Its offset is recorded either way, so a restart does not read a bad message again.
    """
    batch.read(message.topic, message.partition, message.offset)
    _decode(batch, desk, kind_of(message.topic, desk_settings), message)


def read_poll(
    batch: Batch, desk: Desk, desk_settings: AlertDeskSettings, messages: Iterable[ConsumerRecord[bytes, bytes]]
) -> None:
    """One poll's messages into the batch, in order; of a council-month's snapshots only the poll's last is decoded.

    Each snapshot is the whole month and replaces the one before under its key (in one partition, in offset order),
    so the earlier ones of the poll would be overwritten unread: a desk catching up skips most of the topic's work.
    """
    latest: dict[bytes | None, ConsumerRecord[bytes, bytes]] = {}
    for message in messages:
        if message.topic == desk_settings.totals_topic:
            batch.read(message.topic, message.partition, message.offset)
            latest[message.key] = message
        else:
            read_record(batch, desk, desk_settings, message)
    for message in latest.values():
        _decode(batch, desk, "totals", message)


def _decode(batch: Batch, desk: Desk, kind: str, message: ConsumerRecord[bytes, bytes]) -> None:
    try:
        if kind == "alerts":
            alert = decode_alert(message.value or b"")
            if not is_pseudonym(alert.child_key):  # e.g. a raw child id sent as the key: never shown or exported
                _skip(desk, kind, message, "a child_key that is not a pseudonym")
                return
            seen_at = dt.datetime.fromtimestamp(message.timestamp / 1000, dt.UTC) if message.timestamp > 0 else None
            batch.add(alert, seen_at)
        elif kind == "totals":
            if message.value is not None:  # a tombstone: nothing to replace (the worker never writes one)
                batch.add(decode_totals(message.value))
        elif kind == "events":
            event = decode_event(message.value or b"")
            if not is_pseudonym(event.child_key):  # the timeline keeps pseudonymised events only
                _skip(desk, kind, message, "a child_key that is not a pseudonym")
                return
            batch.add(event)
        else:
            batch.add(decode_action(message.value or b""))
    except ValidationError as error:
        # Only where it is and which fields failed: the value may hold child-level data.
        fields = sorted({".".join(str(p) for p in err["loc"]) for err in error.errors()})[:5]
        _skip(desk, kind, message, f"bad fields {fields}")


def _skip(desk: Desk, kind: str, message: ConsumerRecord[bytes, bytes], why: str) -> None:
    desk.metrics.rejected_messages.labels(topic=kind).inc()
    log.warning("skipped a %s message at %s[%d]@%d: %s", kind, message.topic, message.partition, message.offset, why)


def kind_of(topic: str, desk_settings: AlertDeskSettings) -> str:
    if topic == desk_settings.totals_topic:  # checked first, as the mapping it replaces let it win
        return "totals"
    if topic == desk_settings.alerts_topic:
        return "alerts"
    return "events" if topic == desk_settings.events_topic else "actions"


async def _resume_from_stored_offsets(
    consumer: AIOKafkaConsumer, desk: Desk, topics: list[str]
) -> list[TopicPartition]:
    """Wait for every partition of the topics to be assigned, then move each to its stored offset, if any.

    Without a consumer group aiokafka assigns every partition of the subscribed topics to this consumer, and
    a partition with no stored offset starts at the earliest retained message.
    """
    consumer.subscribe(topics)
    async with asyncio.timeout(ASSIGNMENT_SECONDS):
        while {tp.topic for tp in consumer.assignment()} != set(topics):
            await asyncio.sleep(0.05)
    partitions = sorted(consumer.assignment())
    stored = desk.state.offsets()
    for tp in partitions:
        if (tp.topic, tp.partition) in stored:
            consumer.seek(tp, stored[(tp.topic, tp.partition)])
    fresh = [tp for tp in partitions if (tp.topic, tp.partition) not in stored]
    if fresh:
        await consumer.seek_to_beginning(*fresh)  # one request for all, not one wait per partition
    return partitions


async def consume(desk: Desk, settings: Settings, desk_settings: AlertDeskSettings, stop: asyncio.Event) -> None:
    """Resume every partition of the four topics from the stored offsets, mark the desk caught up at the end
    offsets seen at start, then follow. Each poll's messages are one transaction in the read model."""
    consumer = AIOKafkaConsumer(**consumer_kwargs(settings, group_id=None))
    s = desk_settings
    wanted = (s.alerts_topic, s.actions_topic, s.events_topic, s.totals_topic)
    topics = sorted({t for t in wanted if t})  # an empty events or totals topic: no timelines, or no portal figures
    await consumer.start()
    try:
        partitions = await _resume_from_stored_offsets(consumer, desk, topics)
        ends = await consumer.end_offsets(partitions)
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=POLL_TIMEOUT_MS, max_records=5000)
            batch = Batch()
            read_poll(batch, desk, desk_settings, (m for messages in batches.values() for m in messages))
            if batch.offsets:
                desk.fold_batch(batch)
            if not desk.caught_up and all([await consumer.position(tp) >= end for tp, end in ends.items()]):
                desk.state.db.analyse()  # statistics of what was just projected, before the first page is served
                desk.caught_up = True
                log.info("alert desk caught up: %d alerts from %s", desk.state.total(), ", ".join(topics))
    finally:
        await consumer.stop()
