"""A drill's live side: a paced feed that records every acknowledgement, the alerts as they arrive, and recovery.

Times are wall-clock (time.time()) so that they compare with the worker's status file.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError

from bench.processor.harness import WorkerProcess
from schemas.alerts import AlertRevised, AlertWithdrawn
from schemas.codec import decode_alert, encode
from schemas.events import InboundEvent
from services.kafka.clients import consumer_kwargs, producer_kwargs
from services.settings import Settings
from services.simulator.live import run_live


@dataclass(slots=True)
class FeedRun:
    """What the feed sent: when each event was handed over, where the broker put it, and what it refused."""

    sent_at: dict[str, float] = field(default_factory=dict)
    written: dict[str, tuple[int, int, float]] = field(default_factory=dict)  # event id -> partition, offset, ack time
    # Position in the feed -> the error's name, for each send not acknowledged (by position: the feed repeats some ids).
    refused: dict[int, str] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)  # every refusal the producer reported, by error
    resent: int = 0
    resent_ids: set[str] = field(default_factory=set)

    def writes_resumed_after(self, moment: float, partition: int) -> float | None:
        """Seconds from `moment` to the first acknowledgement on `partition` of an event handed over after it."""
        acks = [a for e, (p, _o, a) in self.written.items() if p == partition and self.sent_at[e] > moment]
        return min(acks) - moment if acks else None

    def first_written_after(self, moment: float, partition: int) -> tuple[int, float] | None:
        """The offset and send time of the first event handed over after `moment` and written to `partition`."""
        after = [(o, self.sent_at[e]) for e, (p, o, _) in self.written.items() if p == partition]
        after = [(o, s) for o, s in after if s > moment]
        return min(after) if after else None


async def paced_feed(
    settings: Settings,
    topic: str,
    events: Sequence[InboundEvent],
    rate: float,
    run: FeedRun | None = None,
    *,
    resend: bool = True,
) -> FeedRun:
    """Send `events` at `rate` per second with the durable producer, keyed by council, as ingest does; `run` fills
    as acknowledgements come, so a drill can read it while the feed flows.

    An event the producer gives up on is recorded as refused; with `resend` it is sent again at the end (ingest
    reports it and the council's file is sent again), so the topic ends up holding every event.
    """
    run = run if run is not None else FeedRun()
    producer = AIOKafkaProducer(**producer_kwargs(settings))
    await producer.start()
    pending: list[asyncio.Future[Any]] = []

    handed = [0]  # run_live hands the events over in order: the count is the position (a repeated record may be
    # the very same object twice, so neither its id nor its identity tells the copies apart)

    def settle(event_id: str, position: int) -> Callable[[asyncio.Future[Any]], None]:
        def done(delivery: asyncio.Future[Any]) -> None:
            if delivery.cancelled() or delivery.exception() is not None:
                error = delivery.exception() if not delivery.cancelled() else None
                run.refused[position] = type(error).__name__
                run.errors[type(error).__name__] += 1
            else:
                meta = delivery.result()
                run.written[event_id] = (meta.partition, meta.offset, time.time())

        return done

    async def send(event: InboundEvent) -> None:
        run.sent_at[event.event_id] = time.time()
        position, handed[0] = handed[0], handed[0] + 1
        try:
            delivery = await producer.send(topic, key=event.la_code.encode(), value=encode(event))
        except KafkaError as error:  # the producer's buffer stayed full for request_timeout_ms: no broker takes it
            run.refused[position] = type(error).__name__
            run.errors[type(error).__name__] += 1
            return
        delivery.add_done_callback(settle(event.event_id, position))
        pending.append(delivery)

    try:
        await run_live(events, send, rate)
        await asyncio.gather(*pending, return_exceptions=True)
    finally:
        await producer.stop()
    if resend and run.refused:
        again = [events[n] for n in sorted(run.refused)]
        run.resent, run.resent_ids = len(again), {e.event_id for e in again}
        run.refused.clear()
        retry = await paced_feed(
            settings, topic, again, rate, FeedRun(sent_at=run.sent_at, errors=run.errors), resend=False
        )
        run.written |= retry.written
        run.refused = {len(events) + n: error for n, error in retry.refused.items()}  # refused twice: reported
    return run


@dataclass(slots=True)
class AlertClock:
    """Reads the alerts topic while a drill runs: when each alert arrived, for the event-to-alert latency."""

    settings: Settings
    topic: str
    arrived: list[tuple[float, str]] = field(default_factory=list)  # (wall time, trigger event id)
    task: asyncio.Task[None] | None = None

    async def _read(self) -> None:
        consumer = AIOKafkaConsumer(self.topic, **consumer_kwargs(self.settings, None))
        await consumer.start()
        try:
            while True:
                with contextlib.suppress(KafkaError):  # a broker lost mid-drill: the consumer reconnects
                    for batch in (await consumer.getmany(timeout_ms=200)).values():
                        now = time.time()
                        for record in batch:
                            message = decode_alert(record.value or b"")
                            if isinstance(message, AlertWithdrawn):
                                continue
                            alert = message.alert if isinstance(message, AlertRevised) else message
                            self.arrived.append((now, alert.trigger_event_id))
        finally:
            await consumer.stop()

    def start(self) -> AlertClock:
        self.task = asyncio.create_task(self._read())
        return self

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    def latencies(self, run: FeedRun, sent_from: float = 0.0, sent_until: float = float("inf")) -> list[float]:
        """Seconds from handing the trigger event to the producer to reading its alert, first arrival of each."""
        first: dict[str, float] = {}
        for arrived, trigger in self.arrived:
            first.setdefault(trigger, arrived)
        return sorted(
            arrived - run.sent_at[trigger]
            for trigger, arrived in first.items()
            if trigger in run.sent_at and sent_from <= run.sent_at[trigger] <= sent_until
        )


async def processed_past(
    workers: Sequence[WorkerProcess], partition: int, offset: int, timeout: float = 120.0
) -> float:
    """The wall time at which a worker's status first shows `partition` handled up to `offset`."""
    async with asyncio.timeout(timeout):
        while True:
            for worker in workers:
                status = worker.status() or {}
                if int(status.get("positions", {}).get(str(partition), -1)) >= offset:
                    return time.time()
            await asyncio.sleep(0.05)


async def recovery_seconds(run: FeedRun, workers: Sequence[WorkerProcess], failed_at: float, partition: int) -> float:
    """From the failure to a worker handling the first event sent after it on `partition` (the outage as seen)."""
    async with asyncio.timeout(120):
        while (first := run.first_written_after(failed_at, partition)) is None:
            await asyncio.sleep(0.05)
    return await processed_past(workers, partition, first[0]) - failed_at
