"""Kafka adapters: rebuild the desk from the alerts and actions topics, and publish actions and audit records.

There is no database: on every start the desk reads both topics from the beginning (no consumer group, no
committed offsets) and folds them into the same state the live feed then keeps up to date.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from schemas.codec import decode_alert, encode
from schemas.pseudonyms import is_pseudonym
from services.alertdesk.actions import ActionMessage, decode_action
from services.alertdesk.audit import AuditRecord
from services.alertdesk.desk import Desk
from services.alertdesk.settings import AlertDeskSettings
from services.kafka.clients import consumer_kwargs, producer_kwargs
from services.settings import Settings

log = logging.getLogger(__name__)
POLL_TIMEOUT_MS = 200


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


def fold_record(desk: Desk, desk_settings: AlertDeskSettings, message: ConsumerRecord[bytes, bytes]) -> None:
    """Decode and fold one message. A message that does not decode is counted and skipped, never logged whole."""
    is_alert = message.topic == desk_settings.alerts_topic
    try:
        if is_alert:
            alert = decode_alert(message.value or b"")
            if not is_pseudonym(alert.child_key):  # e.g. a raw child id sent as the key: never shown or exported
                desk.metrics.rejected_messages.labels(topic=kind_of(is_alert)).inc()
                log.warning("skipped an alert whose child_key is not a pseudonym at %s[%d]@%d", message.topic,
                            message.partition, message.offset)  # fmt: skip
                return
            desk.fold_alert(alert)
        else:
            desk.fold_action(decode_action(message.value or b""))
    except ValidationError as error:
        kind = kind_of(is_alert)
        desk.metrics.rejected_messages.labels(topic=kind).inc()
        # Only where it is and which fields failed: the value may hold child-level data.
        fields = sorted({".".join(str(p) for p in err["loc"]) for err in error.errors()})[:5]
        log.warning("skipped a bad %s message at %s[%d]@%d: %s", kind, message.topic, message.partition,
                    message.offset, fields)  # fmt: skip


def kind_of(is_alert: bool) -> str:
    return "alerts" if is_alert else "actions"


async def consume(desk: Desk, settings: Settings, desk_settings: AlertDeskSettings, stop: asyncio.Event) -> None:
    """Read both topics from offset 0, mark the desk caught up at the end offsets seen at start, then follow.

    Without a consumer group aiokafka assigns every partition of the subscribed topics to this consumer, and
    with no committed offsets it starts each at the earliest retained message.
    """
    consumer = AIOKafkaConsumer(**consumer_kwargs(settings, group_id=None))
    topics = {desk_settings.alerts_topic, desk_settings.actions_topic}
    consumer.subscribe(sorted(topics))
    await consumer.start()
    ends: dict[TopicPartition, int] | None = None
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=POLL_TIMEOUT_MS, max_records=2000)
            for messages in batches.values():
                for message in messages:
                    fold_record(desk, desk_settings, message)
            if desk.caught_up:
                continue
            assigned = consumer.assignment()
            if ends is None and {tp.topic for tp in assigned} == topics:
                ends = await consumer.end_offsets(list(assigned))
            if ends is not None and all([await consumer.position(tp) >= end for tp, end in ends.items()]):
                desk.caught_up = True
                log.info("alert desk rebuilt: %d alerts from %s", len(desk.state.records), ", ".join(sorted(topics)))
    finally:
        await consumer.stop()
