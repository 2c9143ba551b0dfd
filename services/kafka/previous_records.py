"""The previous DfE CSC API record per child on a compacted topic: read whole at start, written after each publish."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition
from pydantic import ValidationError

from schemas.csc_api import CscChildState
from schemas.topics import CSC_RECORDS
from services.kafka.clients import common_kwargs, consumer_kwargs, producer_kwargs
from services.settings import Settings

log = logging.getLogger(__name__)
POLL_TIMEOUT_MS = 500


def encode_state(state: CscChildState) -> bytes:
    """Compact JSON: fields the record never had are left out, so a stored record stays small."""
    return state.model_dump_json(exclude_none=True).encode()


class KafkaPreviousRecords:
    """Every child's state in memory, loaded from the topic; `put` returns once the broker has each one (acks=all).

    One process owns a council's records at a time (the receiver, or one `ingest` run): the topic is the
    durable copy that survives restarts, not a lock between writers.
    """

    def __init__(self, producer: AIOKafkaProducer, topic: str, states: dict[str, CscChildState]) -> None:
        self.producer = producer
        self.topic = topic
        self.states = states

    async def get(self, child_key: str) -> CscChildState | None:
        return self.states.get(child_key)

    async def put(self, states: Iterable[CscChildState]) -> None:
        pending = []
        for state in states:
            self.states[state.child_key] = state
            pending.append(await self.producer.send(self.topic, encode_state(state), key=state.child_key.encode()))
        await asyncio.gather(*pending)


def fold_state(states: dict[str, CscChildState], key: bytes | None, value: bytes | None) -> bool:
    """One message into `states`: a state replaces the child's, a tombstone removes it. False: unreadable."""
    if key is None:
        return False
    if value is None:
        states.pop(key.decode(), None)
        return True
    try:
        state = CscChildState.model_validate_json(value)
    except ValidationError:
        return False  # counted, never logged: a value may be anything a misconfigured writer sent
    states[state.child_key] = state
    return True


async def read_states(settings: Settings, topic: str = CSC_RECORDS.name) -> dict[str, CscChildState]:
    """Every child's latest state: the topic read from the beginning to its current end (no group, no commits)."""
    states: dict[str, CscChildState] = {}
    unreadable = 0
    partitions = [TopicPartition(topic, p) for p in await _partitions(settings, topic)]
    if not partitions:
        return states
    consumer = AIOKafkaConsumer(**consumer_kwargs(settings, group_id=None))
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        while any([await consumer.position(tp) < end for tp, end in ends.items()]):
            batches = await consumer.getmany(timeout_ms=POLL_TIMEOUT_MS, max_records=10_000)
            for messages in batches.values():
                unreadable += sum(not fold_state(states, m.key, m.value) for m in messages)
        log.info("previous CSC API records read: %d children (%d unreadable)", len(states), unreadable)
        return states
    finally:
        await consumer.stop()


async def _partitions(settings: Settings, topic: str) -> list[int]:
    """The topic's partition numbers; none when it does not exist yet (nothing stored)."""
    admin = AIOKafkaAdminClient(**common_kwargs(settings))
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if described.get("error_code", 0) != 0:
        return []
    return sorted(p["partition"] for p in described["partitions"])


async def write_states(settings: Settings, states: Iterable[CscChildState], topic: str = CSC_RECORDS.name) -> int:
    """Send each state and return once the broker has all of them."""
    producer = AIOKafkaProducer(**producer_kwargs(settings))
    await producer.start()
    try:
        store = KafkaPreviousRecords(producer, topic, {})
        await store.put(states)
        return len(store.states)
    finally:
        await producer.stop()


@asynccontextmanager
async def previous_records(settings: Settings, topic: str = CSC_RECORDS.name) -> AsyncIterator[KafkaPreviousRecords]:
    """The store for a long-running door (the receiver), loaded and ready; the producer is stopped on exit."""
    states = await read_states(settings, topic)
    producer = AIOKafkaProducer(**producer_kwargs(settings))
    await producer.start()
    try:
        yield KafkaPreviousRecords(producer, topic, states)
        await producer.flush()
    finally:
        await producer.stop()
