"""Publishing canonical events with the durable producer, keyed by council so a council's events stay in order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer

from schemas.codec import encode
from schemas.events import InboundEvent
from schemas.topics import EVENTS
from services.kafka.clients import producer_kwargs
from services.settings import Settings


@dataclass(slots=True)
class EventPublisher:
    """Sends events and waits for every acknowledgement before reporting them published."""

    producer: AIOKafkaProducer
    topic: str = EVENTS.name
    published: int = 0
    max_in_flight: int = 2_000

    async def send(self, event: InboundEvent) -> None:
        await self.send_batch([event])

    async def enqueue(self, event: InboundEvent) -> asyncio.Future[object]:
        """Hand one event to the producer, keyed by council; the future completes when the broker acknowledges it."""
        delivery: asyncio.Future[object] = await self.producer.send(
            self.topic, value=encode(event), key=event.la_code.encode()
        )
        return delivery

    async def send_batch(self, events: Iterable[InboundEvent]) -> None:
        """Send a batch; returns when the broker has acknowledged all of it (acks=all), so nothing is lost."""
        pending: list[asyncio.Future[object]] = []
        for event in events:
            pending.append(await self.enqueue(event))
            if len(pending) >= self.max_in_flight:
                await asyncio.gather(*pending)
                self.published += len(pending)
                pending.clear()
        if pending:
            await asyncio.gather(*pending)
            self.published += len(pending)


@asynccontextmanager
async def event_publisher(settings: Settings, topic: str = EVENTS.name) -> AsyncIterator[EventPublisher]:
    producer = AIOKafkaProducer(**producer_kwargs(settings))
    await producer.start()
    try:
        yield EventPublisher(producer, topic)
        await producer.flush()
    finally:
        await producer.stop()
