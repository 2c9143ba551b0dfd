"""The #596 gap reader against a real broker: a partition's records between two offsets, as faust events."""

from __future__ import annotations

import uuid

import faust
import pytest
from faust.types import TP, ConsumerMessage

from bench.kafka_principals import principal_settings
from bench.processor.harness import Names, private_topics, produce
from services.kafka.clients import consumer_kwargs
from services.processor.faust_workarounds import GapReader
from services.settings import Settings


@pytest.mark.kafka
@pytest.mark.timeout(60)
async def test_a_gap_read_aside_is_the_partitions_records_in_offset_order_as_faust_events(
    kafka_settings: Settings,
) -> None:
    names = Names.unique("it-gap-reader")
    topic = names.processor_settings().events_topic
    sent = [(b"886", f"event {i}".encode()) for i in range(20)]
    async with private_topics(kafka_settings, names):
        written = await produce(principal_settings("ingest"), topic, sent)
        partition, offsets = written[0][0], [offset for _, offset in written]
        app = faust.App(f"gap-reader-{uuid.uuid4().hex[:8]}", store="memory://", env={})  # never started
        reader = GapReader(app, consumer_kwargs(principal_settings("worker"), group_id=None), timeout_seconds=30)
        gap = await reader.read(TP(topic, partition), offsets[5], offsets[12])

    assert {p for p, _ in written} == {partition}  # one council, one partition
    assert [event.message.offset for event in gap] == offsets[5:12]
    assert [(event.message.key, event.message.value) for event in gap] == sent[5:12]
    assert all(isinstance(event.message, ConsumerMessage) for event in gap)  # acknowledged through faust's consumer
    assert all(event.message.tp == TP(topic, partition) and event.app is app for event in gap)
