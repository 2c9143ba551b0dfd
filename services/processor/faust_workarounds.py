"""The worker's two workarounds for open faust-streaming bugs, each reproduced by a test on the pinned version.

#497: `take()` and its variants fill their buffer in a background task, so an agent handed a batch has no
"current event" and faust refuses every table write from it ("Cannot modify table key from outside of stream
iteration"). faust routes a write to the current event's partition; the worker hands the handler one partition's
events at a time, so `writing_for(last event)` sends each write where faust itself would have sent it.
tests/component/test_faust_workarounds.py shows the refusal.

#596: after a table restore faust seeks the stream partitions, then clears its stream queues when it resumes
flow; records fetched in between are counted as read, dropped unacknowledged and never fetched again. Their
events are lost until a restart, faust's commit stops below them for good, and a gap of exactly one record at
the committed offset is committed over (#606). `InOrder` lets a partition's events through only in offset order
from the group's committed offset: at a jump it reads the missing records with a consumer of its own
(`GapReader`: aiokafka, no group) and lets them through first, as faust events, so the agent handles and
acknowledges them like any other. It never seeks faust's consumer: a seek is undone by the records faust's fetcher
hands over after it, each moving faust's read offset past the seek so the refetched records are dropped as read,
and seeking again at every jump livelocked a partition after a rebalance. Records delivered again below the
expected offset are dropped. tests/component/test_faust_workarounds.py shows faust's resume dropping queued
records and specifies the rules; tests/integration/test_faust_seek_undone.py shows a seek undone on a broker, and
test_processor_gap_reader.py reads a gap from one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import faust
from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.streams import _current_event  # 497: faust offers no public way to name the current event
from faust.types import ConsumerMessage

log = logging.getLogger(__name__)


@contextlib.contextmanager
def writing_for(event: Any) -> Iterator[None]:
    """Table reads and writes inside this block belong to `event`'s partition (#497)."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


@dataclass(slots=True)
class InOrder:
    """Each partition's events in offset order from the group's committed offset, with nothing skipped (#596).

    `committed(tp)` is the group's committed offset (None if none), `earliest(tp)` the log start, and
    `read(tp, start, end)` the partition's events from `start` up to `end` (excluded), read aside from faust's
    consumer. A jump over offsets the log no longer holds (deleted by retention) is believed.
    """

    committed: Callable[[Any], Awaitable[int | None]]
    earliest: Callable[[Any], Awaitable[int]]
    read: Callable[[Any, int, int], Awaitable[Sequence[Any]]]
    generation: int = -1
    expected: dict[Any, int] = field(default_factory=dict)
    dropped: int = 0  # events delivered again below the expected offset: handled already
    filled: int = 0  # events read aside to fill a gap
    redelivered: list[Any] = field(default_factory=list)  # dropped events still to acknowledge (see take_redelivered)

    async def admit(self, part: Sequence[Any], generation: int) -> list[Any]:
        """The events of one partition's part in offset order, each gap before them filled; none handled twice."""
        if generation != self.generation:  # a rebalance: faust seeks to the committed offsets again
            self.generation, self.expected = generation, {}
        tp = part[0].message.tp
        if tp not in self.expected:
            committed = await self.committed(tp)
            self.expected[tp] = committed if committed is not None else await self.earliest(tp)
        admitted: list[Any] = []
        for event in part:
            offset, want = event.message.offset, self.expected[tp]
            if offset < want:
                self.dropped += 1
                self.redelivered.append(event)
                continue
            if offset > want:
                admitted.extend(await self._fill(tp, want, offset))
            admitted.append(event)
            self.expected[tp] = offset + 1
        return admitted

    def take_redelivered(self) -> list[Any]:
        """The dropped events, to acknowledge: faust counts a handed-out event as pending until it is acknowledged,
        and on shutdown waits for it (wait_empty) until the worker is killed. Found by CI: a worker stopped -9."""
        taken, self.redelivered = self.redelivered, []
        return taken

    async def _fill(self, tp: Any, want: int, got: int) -> list[Any]:
        """The events from `want` up to `got`, read aside; from the log start if retention deleted the first."""
        start = max(want, await self.earliest(tp))
        if start >= got:
            return []
        log.warning("partition %s: offset %d arrived where %d was expected; reading the gap aside", tp, got, want)
        gap = [event for event in await self.read(tp, start, got) if start <= event.message.offset < got]
        offsets = [event.message.offset for event in gap]
        if offsets != sorted(set(offsets)):
            raise RuntimeError(f"partition {tp}: the gap {start}..{got} was read out of order")
        self.filled += len(gap)
        return gap


@dataclass(slots=True)
class GapReader:
    """A partition's records between two offsets, read with a consumer of its own (aiokafka, no group), as faust
    events of `app` that the agent handles and acknowledges like those faust delivers."""

    app: Any
    consumer_kwargs: dict[str, Any]
    timeout_seconds: float = 60.0

    async def read(self, tp: Any, start: int, end: int) -> list[Any]:
        """The records of `tp` from `start` up to `end` (excluded), in offset order."""
        partition = TopicPartition(tp.topic, tp.partition)
        consumer = AIOKafkaConsumer(**self.consumer_kwargs)
        await consumer.start()
        records: list[Any] = []
        try:
            consumer.assign([partition])
            consumer.seek(partition, start)
            async with asyncio.timeout(self.timeout_seconds):  # a gap that cannot be read crashes the batch
                while await consumer.position(partition) < end:
                    fetched = await consumer.getmany(partition, timeout_ms=500, max_records=end - start)
                    records.extend(r for r in fetched.get(partition, []) if r.offset < end)
        finally:
            await consumer.stop()
        return [self._event(tp, record) for record in records]

    def _event(self, tp: Any, record: Any) -> Any:
        """A faust event as faust's own consumer makes it (faust.transport.drivers.aiokafka `_to_message`)."""
        message = ConsumerMessage(
            record.topic,
            record.partition,
            record.offset,
            record.timestamp / 1000.0,  # Kafka's milliseconds; faust's seconds
            record.timestamp_type,
            record.headers,
            record.key,
            record.value,
            record.checksum,
            record.serialized_key_size,
            record.serialized_value_size,
            tp,
            generation_id=self.app.consumer_generation_id,
        )
        return faust.Event(self.app, record.key, record.value, record.headers, message)
