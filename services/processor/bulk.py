"""Records a fetch at a time: faust's consumer hands our topics' records to a Feed in bulk, not one by one.

faust delivers every record separately: the fetch loop awaits `wait_first(callback(message), suspend_flow)` per
record (tasks and an `asyncio.wait` each), then the conductor decodes it into an Event and queues it, and the
stream iterator tracks, yields and acks it. On this machine that costs about as much as our whole batch handling
does, so a worker that batches its state writes still ran no faster than a faust agent that only counts events.

Here the fetch loop (BulkConsumer._drain_messages) keeps faust's offset bookkeeping (read offsets, gaps,
commit_every) and hands each fetch's records of a fed topic to its Feed in one call. A batch task takes
records from the Feed, and acks each after its batch is done. Other topics (the changelogs during recovery)
still go through faust's conductor record by record.

The guarantees are faust's, kept explicitly:
- a record is tracked (so a rebalance or shutdown waits for it) from the moment a batch takes it until its ack;
- a Feed drops records only while flow is suspended for a rebalance, and every rebalance ends with faust
  seeking each partition back to its committed offset (or, for a fed partition with none, to its beginning:
  aiokafka leaves those where they were), so a dropped record is fetched again;
- a batch is never cancelled half-way: at shutdown it runs to its end (or fails, unacked, to be redelivered).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from faust.transport.drivers.aiokafka import Consumer as AIOKafkaConsumer

Handler = Callable[[Sequence["Record"]], Awaitable[None]]


@dataclass(slots=True, weakref_slot=True)
class Record:
    """One consumed record, as the handlers see it: faust's Message, and (weakly) faust's current event."""

    message: Any


class Feed:
    """A bounded buffer of one topic's records between the fetch loop and its batch task."""

    def __init__(self, app: Any, topic: str, maxsize: int) -> None:
        self.app = app
        self.topic = topic
        self.maxsize = maxsize
        self.records: deque[Any] = deque()
        self.filled = asyncio.Event()  # at least one record waiting
        self.room = asyncio.Event()  # fewer than maxsize waiting
        self.room.set()
        self.grown = asyncio.Event()  # set when a put makes a full batch available
        self.want = 1

    async def put(self, messages: Sequence[Any]) -> None:
        """Called by the fetch loop with one fetch's records of this topic; waits while the buffer is full."""
        await self.app.flow_control.acquire()  # suspended during a rebalance, as faust's conductor is
        while len(self.records) >= self.maxsize:
            self.room.clear()
            await self.room.wait()
        if not self.app.flow_control.is_active():
            return  # a rebalance began: dropped, and fetched again after faust's seek to the committed offsets
        self.records.extend(messages)
        self.filled.set()
        if len(self.records) >= self.want:
            self.grown.set()

    def clear(self) -> None:
        """faust's flow control calls this when a rebalance suspends flow, and again when it resumes.

        Only the first drops records: the records of partitions this worker may lose, none of them taken yet.
        After the resume, records fetched since are kept.
        """
        if not self.app.flow_control.is_active():
            self.records.clear()
            self.filled.clear()
            self.room.set()

    async def take(self, max_batch: int, within: float) -> list[Any]:
        """Up to max_batch records: as soon as that many are waiting, else what arrived within `within` s."""
        while not self.records:
            self.filled.clear()
            await self.filled.wait()
        if len(self.records) < max_batch:
            self.want = max_batch
            self.grown.clear()
            try:
                await asyncio.wait_for(self.grown.wait(), within)
            except TimeoutError:
                pass
            finally:
                self.want = 1
        taken = [self.records.popleft() for _ in range(min(max_batch, len(self.records)))]
        if len(self.records) < self.maxsize:
            self.room.set()
        return taken


class BulkConsumer(AIOKafkaConsumer):
    """faust's aiokafka consumer, delivering the records of fed topics a fetch at a time."""

    feeds: dict[str, Feed]

    async def perform_seek(self) -> None:
        """faust's seek to the committed offsets after a rebalance; a fed partition with none goes to its beginning.

        aiokafka seeks only partitions whose committed offset is above 0 and leaves the others where their fetch
        was: past any record a Feed dropped while flow was suspended, which would then never come again and never
        be acknowledged (seen with the merge hand-over topic, whose partitions often have no commit yet).
        """
        await super().perform_seek()
        for tp in self.assignment():
            if tp.topic in self.feeds and self._committed_offset[tp] is None:
                await self.seek(tp, 0)  # redelivers what was not committed: the handlers are idempotent

    async def _drain_messages(self, fetcher: Any) -> None:
        # faust's Consumer._drain_messages, except that a fetch's records of the fed topics go to their Feed in one
        # put, instead of a wait_first(callback(message), suspend_flow) per record.
        try:
            while not (self._stopped.is_set() or fetcher._stopped.is_set()):
                await self.sleep(0)
                if not self.should_stop:
                    await self._drain_one_fetch()
        except self.consumer_stopped_errors:
            if not self.transport.app.should_stop:
                raise
        except asyncio.CancelledError:
            if not self.transport.app.should_stop:
                raise

    async def _drain_one_fetch(self) -> None:
        fed: dict[str, list[Any]] = {}
        async for tp, message in self.getmany(timeout=1.0):
            if not await self._advance(tp, message):
                continue
            if message.topic in self.feeds:
                fed.setdefault(message.topic, []).append(message)
            else:
                await self.wait_first(self.callback(message), self.suspend_flow.wait())
            self._read_offset[tp] = message.offset
        for topic, messages in fed.items():
            await self.wait_first(self.feeds[topic].put(messages), self.suspend_flow.wait())

    async def _advance(self, tp: Any, message: Any) -> bool:
        """faust's bookkeeping before a record is delivered, made safe for the fed topics.

        faust skips a record below the read offset ("DROPPED MESSAGE") and marks a jump above it as a gap of
        offsets that hold no record (compaction, transaction markers), acknowledged without delivery. After a
        rebalance both go wrong when a fetch from before the seek to the committed offsets arrives after it:
        the jump marks real, unread records as a gap, and the records fetched again from the committed offset
        are then skipped, so the partition's commit stopped short of them for good (seen once in a whole-suite
        run of the two-worker test). The fed topics hold neither compaction holes nor transaction markers (their
        producers are this worker and non-transactional publishers), and the batch handlers are idempotent, so
        for them a record below the read offset is delivered again and a jump marks no gap.
        """
        offset = message.offset
        read = self._read_offset[tp]
        fed = message.topic in self.feeds
        if read is not None and offset < read and not fed:
            return False  # faust logs these as "DROPPED MESSAGE"
        if read and offset - read > 1 and not fed and self.app.topics.acks_enabled_for(message.topic):
            await self._add_gap(tp, read + 1, offset)
        if self._commit_every is not None and self._n_acked >= self._commit_every:
            self._n_acked = 0
            await self.commit()
        return True


async def run_batches(app: Any, feed: Feed, handle: Handler, max_batch: int, within: float) -> None:
    """The batch task: take, track, handle, ack; forever. A failed batch crashes the worker, unacked."""
    consumer = app.consumer
    while True:
        messages = await feed.take(max_batch, within)
        assigned = consumer.assignment()
        mine = [m for m in messages if m.tp in assigned]  # a partition revoked since the fetch: not ours
        if not mine:
            continue
        for message in mine:
            consumer.track_message(message)  # a rebalance or shutdown now waits for this ack
        # shield: cancelling this task (shutdown) must not stop a batch half-way, with state partly written
        await asyncio.shield(_handle_and_ack(consumer, mine, handle))


async def _handle_and_ack(consumer: Any, messages: list[Any], handle: Handler) -> None:
    await handle([Record(m) for m in messages])
    for message in messages:
        consumer.ack(message)


def install(app: Any, feeds: Sequence[Feed]) -> None:
    """Make `app` consume with BulkConsumer and route the feeds' topics to them (before the worker starts)."""
    by_topic = {feed.topic: feed for feed in feeds}

    class Consumer(BulkConsumer):
        pass

    Consumer.feeds = by_topic
    app.transport.Consumer = Consumer
    for feed in feeds:
        app.flow_control.manage_queue(cast(Any, feed))
