"""The Kafka client settings and topic creation of services.kafka, against the real broker."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord, TopicPartition

from schemas.codec import decode_event, encode
from services.kafka.clients import consumer_kwargs, producer_kwargs
from services.kafka.topics import TopicPlan, changelog_plan, ensure_topics
from services.settings import Settings
from tests.builders import make_contact, make_referral

if TYPE_CHECKING:  # pytest loads the conftest itself; importing it at run time would load a second copy
    from tests.integration.conftest import TestTopics

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(60)]

ACKS_ALL = -1  # aiokafka normalises acks="all" to -1, the value sent in every ProduceRequest


async def consume(settings: Settings, topic: str, count: int, timeout_seconds: float = 20.0) -> list[ConsumerRecord]:
    """Read `count` records from the start of `topic`, without a consumer group."""
    consumer = AIOKafkaConsumer(topic, **consumer_kwargs(settings, group_id=None))
    await consumer.start()
    records: list[ConsumerRecord] = []
    try:
        async with asyncio.timeout(timeout_seconds):
            while len(records) < count:
                batches = await consumer.getmany(timeout_ms=500)
                records += [record for batch in batches.values() for record in batch]
    finally:
        await consumer.stop()
    return records


async def test_durable_producer_round_trips_a_keyed_message_with_acks_all_and_idempotence(
    kafka_settings: Settings, topics: TestTopics
) -> None:
    plan = await topics.create("events")
    event = make_contact(child_key="child-round-trip")
    producer = AIOKafkaProducer(**producer_kwargs(kafka_settings))
    await producer.start()
    try:
        sent = await producer.send_and_wait(plan.name, key=event.la_code.encode(), value=encode(event))
        txn_manager = producer._txn_manager  # aiokafka keeps the idempotence state here; None when disabled
        sender_acks = producer._sender._acks
        producer_id = txn_manager.producer_id
        sequence = txn_manager.sequence_number(TopicPartition(plan.name, sent.partition))
    finally:
        await producer.stop()

    (record,) = await consume(kafka_settings, plan.name, count=1)

    assert record.key == event.la_code.encode()  # the events topic is keyed by council
    assert decode_event(record.value) == event
    assert (record.partition, record.offset) == (sent.partition, sent.offset)
    assert sender_acks == ACKS_ALL
    # The broker assigned a producer id (InitProducerId) and the record carried sequence number 0, so a
    # retried batch would be de-duplicated by the broker instead of written twice.
    assert producer_id >= 0
    assert sequence == 1


async def test_topics_are_created_with_the_planned_partitions_and_cleanup_policy(
    kafka_settings: Settings, topics: TestTopics
) -> None:
    events = TopicPlan(topics.unique_name("events"), 6, 1, {"cleanup.policy": "delete", "retention.ms": "-1"})
    changelog = changelog_plan(topics.unique_name("counts-changelog"), kafka_settings)

    created_first = await ensure_topics(kafka_settings, [events, changelog])
    created_again = await ensure_topics(kafka_settings, [events, changelog])

    assert sorted(created_first) == sorted([events.name, changelog.name])
    assert created_again == []
    events_on_broker = await topics.describe(events.name)
    changelog_on_broker = await topics.describe(changelog.name)
    assert events_on_broker.partitions == 6
    assert events_on_broker.configs["cleanup.policy"] == "delete"
    assert events_on_broker.configs["retention.ms"] == "-1"
    assert changelog_on_broker.partitions == kafka_settings.topic_partitions
    assert changelog_on_broker.configs["cleanup.policy"] == "compact"


async def test_events_of_one_council_stay_in_order_in_one_partition(
    kafka_settings: Settings, topics: TestTopics
) -> None:
    plan = await topics.create("events", partitions=6)
    councils = ["886", "942", "318", "201", "330", "213", "355", "926"]
    # Interleaved across councils, as a shared deployment's feed is: ordering must hold per council, not per topic.
    events = [
        make_referral(f"2024-01-{day:02d}", la_code=la_code, child_key=f"child-{la_code}")
        for day in range(1, 21)
        for la_code in councils
    ]
    producer = AIOKafkaProducer(**producer_kwargs(kafka_settings))
    await producer.start()
    try:
        futures = [await producer.send(plan.name, key=e.la_code.encode(), value=encode(e)) for e in events]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()

    records = await consume(kafka_settings, plan.name, count=len(events))

    received = [(r.partition, r.offset, decode_event(r.value)) for r in records]
    partitions_by_council = {la: {p for p, _, e in received if e.la_code == la} for la in councils}
    assert all(len(partitions) == 1 for partitions in partitions_by_council.values()), partitions_by_council
    assert len(set().union(*partitions_by_council.values())) > 1, "8 councils should spread over partitions"
    for la_code in councils:
        in_partition_order = [e for _, _, e in sorted(received, key=lambda r: r[1]) if e.la_code == la_code]
        assert in_partition_order == [e for e in events if e.la_code == la_code]
