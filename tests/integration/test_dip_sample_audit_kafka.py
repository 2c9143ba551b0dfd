"""A dip sample's audit entry reaches the audit topic through the durable producer, keyed by who drew it."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord

from schemas.audit import DipSampleDrawn
from schemas.topics import AUDIT
from services.core.rereferral_list import Rereferral
from services.kafka.clients import consumer_kwargs
from services.reports.dip_audit import audit_record, publish
from services.reports.dip_sample import draw_dip_sample
from services.settings import Settings

if TYPE_CHECKING:  # pytest loads the conftest itself
    from tests.integration.conftest import TestTopics

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(60)]


def rereferral(child_key: str, team: str, day: dt.date) -> Rereferral:
    return Rereferral(
        "886", child_key, day, day - dt.timedelta(days=90), day - dt.timedelta(days=30), "RC8", team, "N1", "N1", True
    )


async def read_one(settings: Settings, topic: str) -> ConsumerRecord[bytes, bytes]:
    consumer = AIOKafkaConsumer(topic, **consumer_kwargs(settings, group_id=None))
    await consumer.start()
    try:
        async with asyncio.timeout(20):
            while True:
                batches = await consumer.getmany(timeout_ms=500)
                for batch in batches.values():
                    return batch[0]
    finally:
        await consumer.stop()


async def test_the_audit_entry_of_a_dip_sample_is_on_the_audit_topic_with_its_seed_and_user(
    kafka_settings: Settings, service_settings: Callable[[str], Settings], topics: TestTopics
) -> None:
    # A private copy of the real audit topic, written as the desk: its one writer, whose credentials
    # `dip-sample --audit-to-kafka` runs with on the secured broker (the production ACLs hold for the copy).
    name = await topics.create_like(AUDIT)
    listing = [rereferral(f"child-{i}", "MASH" if i % 3 else "Assessment", dt.date(2024, 8, 1 + i)) for i in range(12)]
    sample = draw_dip_sample(listing, "886", "2024-Q3", size=5, by="closing-team", seed=42)
    record = audit_record(sample, "auditor", dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.UTC), ["sample.csv"])

    await publish(service_settings("desk"), record, name)
    message = await read_one(kafka_settings, name)

    assert message.key == b"auditor"
    assert DipSampleDrawn.model_validate_json(message.value) == record
    assert json.loads(message.value)["seed"] == 42
    assert "child-" not in message.value.decode()
