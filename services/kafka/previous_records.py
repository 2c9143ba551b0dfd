"""The doors' previous records on a compacted topic: read whole at start, written after each publish.

The DfE CSC API door keeps each child's record there (`CscChildState`, keyed by the child's pseudonym); the SSD
contacts door each contact's state (`SsdContactState`, keyed by the contact's pseudonym). Each reads only its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition
from pydantic import TypeAdapter, ValidationError

from schemas.csc_api import CscChildState
from schemas.ssd_contacts import PreviousRecordValue, SsdContactState
from schemas.topics import CSC_RECORDS
from services.kafka.clients import common_kwargs, consumer_kwargs, producer_kwargs
from services.settings import Settings

log = logging.getLogger(__name__)
POLL_TIMEOUT_MS = 500
VALUE = TypeAdapter[CscChildState | SsdContactState](PreviousRecordValue)
State = TypeVar("State", CscChildState, SsdContactState)


def encode_state(state: CscChildState | SsdContactState) -> bytes:
    """Compact JSON: fields the record never had are left out, so a stored record stays small."""
    return state.model_dump_json(exclude_none=True).encode()


def state_key(state: CscChildState | SsdContactState) -> str:
    """The message key: the child's pseudonym for a CSC API record, the contact's for an SSD contact."""
    return state.contact_key if isinstance(state, SsdContactState) else state.child_key


async def send_states(producer: AIOKafkaProducer, topic: str, states: Iterable[CscChildState | SsdContactState]) -> int:
    """Send each state under its key; returns once the broker has every one."""
    pending = [await producer.send(topic, encode_state(s), key=state_key(s).encode()) for s in states]
    await asyncio.gather(*pending)
    return len(pending)


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
        states = list(states)
        self.states.update((state.child_key, state) for state in states)
        await send_states(self.producer, self.topic, states)


def fold_state(states: dict[str, State], key: bytes | None, value: bytes | None, kind: type[State]) -> bool:
    """One message into `states` when it is a `kind` (the other door's are passed over): a state replaces the one
    under its key, a tombstone removes it. False: unreadable."""
    if key is None:
        return False
    if value is None:
        states.pop(key.decode(), None)
        return True
    try:
        state = VALUE.validate_json(value)
    except ValidationError:
        return False  # counted, never logged: a value may be anything a misconfigured writer sent
    if isinstance(state, kind):
        states[state_key(state)] = state
    return True


async def read_states(settings: Settings, topic: str = CSC_RECORDS.name) -> dict[str, CscChildState]:
    """Every child's latest DfE CSC API state: the topic read from the beginning to its current end."""
    return await read_kind(settings, topic, CscChildState)


async def read_contact_states(settings: Settings, topic: str = CSC_RECORDS.name) -> dict[str, SsdContactState]:
    """Every SSD contact's latest state, by the contact's pseudonym."""
    return await read_kind(settings, topic, SsdContactState)


async def read_kind(settings: Settings, topic: str, kind: type[State]) -> dict[str, State]:
    """Every latest state of one kind: the topic read from the beginning to its current end (no group, no commits)."""
    states: dict[str, State] = {}
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
                unreadable += sum(not fold_state(states, m.key, m.value, kind) for m in messages)
        log.info("previous records read: %d %s (%d unreadable)", len(states), kind.__name__, unreadable)
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


async def write_states(
    settings: Settings, states: Iterable[CscChildState | SsdContactState], topic: str = CSC_RECORDS.name
) -> int:
    """Send each state and return once the broker has all of them; returns how many keys were written."""
    producer = AIOKafkaProducer(**producer_kwargs(settings))
    await producer.start()
    try:
        states = list(states)
        await send_states(producer, topic, states)
        return len({state_key(state) for state in states})
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
