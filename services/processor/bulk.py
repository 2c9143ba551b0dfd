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
- a batch is never cancelled half-way: at shutdown it runs to its end (or fails, unacked, to be redelivered);
- records reach a Feed in offset order, partition by partition, also across rebalances (`Order`), so a
  child's events are applied in the order replay applies them.
"""

from __future__ import annotations

import asyncio
import enum
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

    async def put(self, messages: Sequence[Any], current: Callable[[], bool] = lambda: True) -> None:
        """Called by the fetch loop with one fetch's records of this topic; waits while the buffer is full.

        `current` says whether the records are still those the consumer would fetch now; while this waits, a
        whole rebalance (suspend, seek, resume) can pass, and records fetched before its seek must not follow
        the records fetched again after it.
        """
        await self.app.flow_control.acquire()  # suspended during a rebalance, as faust's conductor is
        while len(self.records) >= self.maxsize:
            self.room.clear()
            await self.room.wait()
        if not (self.app.flow_control.is_active() and current()):
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


class Verdict(enum.Enum):
    DELIVER = "deliver"
    DELIVER_AFTER_GAP = "deliver after gap"  # the offsets from `at` up to this record's hold no record
    REFETCH = "refetch"  # seek the partition back to `at`; drop its records in this fetch
    DROP = "drop"  # a rebalance is under way: faust's seek, still to come, fetches it again


class Order:
    """Records reach a Feed in offset order, partition by partition, from faust's seek after each rebalance on.

    A record fetched before a rebalance can be handed over after its start: faust's consumer thread returns a
    fetch late, faust checks the group generation only after the fetch returns, and faust resumes flow to
    restore the tables before it seeks the partitions back to their committed offsets. Its records can lie
    beyond records not delivered yet (those a Feed dropped when flow was suspended), and delivering them
    would apply a child's events out of order: the standing alerts come out the same, but different revisions
    are sent on the way (seen in the two-worker test on a loaded machine). faust's own rule (mark the jump as
    a gap, skip records below the read offset) stopped a partition's commit for good instead. So:

    - from a revoke until faust seeks a partition, its records are dropped (the seek fetches them again);
    - after the seek, a record past the next expected offset sends the partition back there, and its other
      records in that fetch are dropped, to be fetched again;
    - if the first records fetched after that jump again, the offsets between hold no record (transaction
      markers, retention): they are marked as a gap and delivered, so commits pass them;
    - a record below the expected offset (delivered since the seek, or older than the commit) is delivered
      again: the handlers are idempotent.
    """

    def __init__(self) -> None:
        self.expected: dict[Any, int] = {}  # per partition, the next offset to deliver
        self.sought: dict[Any, int] = {}  # per partition, the offset this order last sent it back to
        self.open: set[Any] = set()  # partitions sought since the last revoke

    def hold(self) -> None:
        """A rebalance revokes the partitions: drop every record until faust seeks its partition."""
        self.open.clear()

    def seek(self, tp: Any, offset: int) -> None:
        """faust has sought `tp` to `offset` (after a rebalance): expect its records from there."""
        self.open.add(tp)
        self.expected[tp] = offset
        self.sought.pop(tp, None)

    def check(self, tp: Any, offset: int) -> tuple[Verdict, int]:
        """What to do with the record at `offset`, and the offset the verdict is about (a gap's start, a seek's)."""
        if tp not in self.open:
            return Verdict.DROP, offset
        expected = self.expected[tp]
        if offset <= expected:
            if offset == expected:
                self.expected[tp] = offset + 1
            return Verdict.DELIVER, offset
        if self.sought.get(tp) == expected:
            self.expected[tp] = offset + 1
            return Verdict.DELIVER_AFTER_GAP, expected
        self.sought[tp] = expected
        return Verdict.REFETCH, expected


class BulkConsumer(AIOKafkaConsumer):
    """faust's aiokafka consumer, delivering the records of fed topics a fetch at a time, in offset order."""

    feeds: dict[str, Feed]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._seeks = 0  # revokes and seeks begun: a fetch taken before the latest is not handed over
        self._order = Order()
        self._held = 0  # records dropped since the last revoke, waiting for faust's seek

    async def on_partitions_revoked(self, revoked: set[Any]) -> None:
        self._seeks += 1  # a fetch taken before this is not handed over now
        self._order.hold()
        await super().on_partitions_revoked(revoked)

    async def perform_seek(self) -> None:
        """faust's seek to the committed offsets after a rebalance, then each fed partition sought again to there.

        aiokafka seeks only partitions whose committed offset is above 0 and leaves the others where their fetch
        was: past any record a Feed dropped while flow was suspended, which would then never come again and never
        be acknowledged (seen with the merge hand-over topic, whose partitions often have no commit yet). So a fed
        partition with no commit goes to its beginning. Records fetched while this runs are dropped (`Order`
        holds the partitions), and may have been fetched after faust's seek, so every fed partition is sought
        once more, after its `Order` opens.
        """
        self._seeks += 1
        await super().perform_seek()
        fed = {tp: self._committed_offset[tp] or 0 for tp in self.assignment() if tp.topic in self.feeds}
        for tp, offset in fed.items():  # no commit: from the beginning, redelivering; the handlers are idempotent
            self._order.seek(tp, offset)
        await self._seek_on_thread(fed)  # after the opening: what comes before it is in order or a jump
        if self._held:
            self.log.info("%d records fetched during the rebalance were dropped, to be fetched again", self._held)
            self._held = 0

    async def _seek_on_thread(self, offsets: dict[Any, int]) -> None:
        """aiokafka's seek, run on the consumer's own thread and loop, where its fetcher runs.

        faust's `seek()` calls aiokafka from the main thread, racing the fetcher: it once deleted a partition's
        buffered records while the consumer thread was returning them (KeyError in `fetched_records`, which
        crashed the worker).
        """

        async def seek() -> None:  # run by the thread's loop; nothing in it awaits
            for tp, offset in offsets.items():
                self._thread.seek(tp, offset)

        await self._thread.call_thread(seek)

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
        seeks: int | None = None
        refetch: set[Any] = set()
        async for tp, message in self.getmany(timeout=1.0):
            if seeks is None:
                seeks = self._seeks  # the records were taken from aiokafka before the first yield
            if message.topic in self.feeds:
                if tp in refetch or not await self._in_order(tp, message.offset):
                    refetch.add(tp)
                    continue
                fed.setdefault(message.topic, []).append(message)
                await self._maybe_commit()
            elif await self._advance(tp, message):
                await self.wait_first(self.callback(message), self.suspend_flow.wait())
                self._read_offset[tp] = message.offset  # fed topics keep theirs in `Order` instead

        def current() -> bool:
            return self._seeks == seeks  # no seek since this fetch: its records are not fetched again

        for topic, messages in fed.items():
            if current():
                await self.wait_first(self.feeds[topic].put(messages, current), self.suspend_flow.wait())

    async def _in_order(self, tp: Any, offset: int) -> bool:
        """Whether a fed record is delivered now (see `Order`); a jump sends its partition back."""
        verdict, at = self._order.check(tp, offset)
        if verdict is Verdict.DROP:
            self._held += 1
            return False
        if verdict is Verdict.REFETCH:
            self.log.info(
                "%s: offset %d came while %d was due (a fetch from before the last seek); fetching again",
                tp,
                offset,
                at,
            )
            await self._seek_on_thread({tp: at})
            return False
        if verdict is Verdict.DELIVER_AFTER_GAP:
            self.log.info("%s: offsets %d to %d hold no record; marked as a gap", tp, at, offset - 1)
            await self._add_gap(tp, at, offset - 1)
        return True

    async def _advance(self, tp: Any, message: Any) -> bool:
        """faust's bookkeeping before a record of another topic (a changelog) is delivered, as faust does it."""
        offset = message.offset
        read = self._read_offset[tp]
        if read is not None and offset < read:
            return False  # faust logs these as "DROPPED MESSAGE"
        if read and offset - read > 1 and self.app.topics.acks_enabled_for(message.topic):
            await self._add_gap(tp, read + 1, offset)
        await self._maybe_commit()
        return True

    async def _maybe_commit(self) -> None:
        if self._commit_every is not None and self._n_acked >= self._commit_every:
            self._n_acked = 0
            await self.commit()


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
