"""The ceiling: how fast plain aiokafka consumes the events topic and decodes each event, with no state at all."""

from __future__ import annotations

import time
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from schemas.codec import decode_event
from services.kafka.clients import consumer_kwargs
from services.settings import Settings


async def consume_and_decode(settings: Settings, topic: str, expected: int) -> dict[str, Any]:
    """Read `expected` events from the beginning (no group, no commits) and validate each one."""
    options = {"fetch_max_bytes": 16 * 1024 * 1024, "max_partition_fetch_bytes": 4 * 1024 * 1024}
    consumer = AIOKafkaConsumer(**consumer_kwargs(settings, group_id=None) | options)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        if not partitions:
            await consumer._client.force_metadata_update()  # aiokafka has no public refresh
            partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        decoded = 0
        started = time.perf_counter()
        while decoded < expected:
            for records in (await consumer.getmany(timeout_ms=500, max_records=5_000)).values():
                for record in records:
                    decode_event(record.value)
                    decoded += 1
        seconds = time.perf_counter() - started
    finally:
        await consumer.stop()
    return {"events": decoded, "seconds": round(seconds, 3), "events_per_second": round(decoded / seconds)}
