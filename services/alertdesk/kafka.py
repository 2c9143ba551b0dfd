"""Kafka adapters: rebuild the desk from the alerts and actions topics, and publish actions and audit records.

There is no database: on every start the desk reads both topics from the beginning (no consumer group, no
committed offsets) and folds them into the same state the live feed then keeps up to date.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
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


@dataclass(slots=True)
class DeskPublisher:
    """The durable producer (acks=all, idempotent): an action or audit record counts only once the broker has it."""

    producer: AIOKafkaProducer
    actions_topic: str
    audit_topic: str

    async def publish_action(self, action: ActionMessage) -> None:
        await self.producer.send_and_wait(self.actions_topic, encode(action), key=action.alert_id.encode())

    async def record(self, entry: AuditRecord) -> None:
        """AuditSink: keyed by user, so one person's trail stays in order."""
        await self.producer.send_and_wait(self.audit_topic, encode(entry), key=entry.user.encode())


async def start_publisher(settings: Settings, desk_settings: AlertDeskSettings) -> DeskPublisher:
    producer = AIOKafkaProducer(**producer_kwargs(settings))
    await producer.start()
    return DeskPublisher(producer, desk_settings.actions_topic, desk_settings.audit_topic)


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
