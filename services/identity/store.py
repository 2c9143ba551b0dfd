"""The compacted identity topic: ingest seals and publishes, erasure writes a tombstone, the desk folds it sealed."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Mapping, Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from schemas.codec import encode
from services.identity.sealing import Keyring
from services.identity.vault import IdentityVault
from services.kafka.clients import consumer_kwargs, producer_kwargs
from services.settings import Settings

log = logging.getLogger(__name__)
POLL_TIMEOUT_MS = 200


async def publish_identities(
    settings: Settings, keyring: Keyring, identities: Mapping[str, tuple[str, str]], topic: str, now: dt.datetime
) -> int:
    """Seal and send each `pseudonym -> (la_code, council child id)`; returns once the broker has every one.

    Everything is sealed before anything is sent, so a council without a key sends nothing at all.
    """
    sealed = [keyring.seal(la_code, key, la_child_id, now) for key, (la_code, la_child_id) in identities.items()]
    producer = AIOKafkaProducer(**producer_kwargs(settings))
    await producer.start()
    try:
        pending = [await producer.send(topic, encode(s), key=s.child_key.encode()) for s in sealed]
        await asyncio.gather(*pending)
        return len(pending)
    finally:
        await producer.stop()


async def publish_erasure(settings: Settings, child_keys: list[str], topic: str) -> None:
    """A tombstone per child: the desk drops the mapping at once, and compaction removes the sealed values."""
    producer = AIOKafkaProducer(**producer_kwargs(settings))
    await producer.start()
    try:
        await send_erasure(producer, child_keys, topic)
    finally:
        await producer.stop()


async def send_erasure(producer: AIOKafkaProducer, child_keys: Sequence[str], topic: str) -> None:
    """`publish_erasure` on a running producer (the receiver's); returns once the broker has every tombstone."""
    await asyncio.gather(*[await producer.send(topic, None, key=k.encode()) for k in child_keys])


async def follow_identities(vault: IdentityVault, settings: Settings, topic: str, stop: asyncio.Event) -> None:
    """Read the topic from the beginning (no group, no commits), then keep following it until `stop`."""
    consumer = AIOKafkaConsumer(**consumer_kwargs(settings, group_id=None))
    consumer.subscribe([topic])
    await consumer.start()
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=POLL_TIMEOUT_MS, max_records=5000)
            for messages in batches.values():
                for message in messages:
                    vault.fold(message.key, message.value)
            if not vault.caught_up and consumer.assignment():
                ends = await consumer.end_offsets(list(consumer.assignment()))
                vault.caught_up = all([await consumer.position(tp) >= end for tp, end in ends.items()])
                if vault.caught_up:
                    log.info("identity store read: %d children (%d rejected)", len(vault.sealed), vault.rejected)
    finally:
        await consumer.stop()
