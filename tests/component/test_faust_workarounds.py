"""faust-streaming issues #497 and #596 on the pinned version, and the workarounds for them
(services/processor/faust_workarounds.py).

#497: an agent that takes batches (`noack_take`, `take_events`) has no current event, so faust refuses its table
writes; inside `writing_for(batch[-1])` the same write goes to that event's partition.
#596: when faust resumes flow after a rebalance it clears its stream queues, and the events in them are dropped
unacknowledged; `InOrder` lets a partition's events through only in offset order and reads a gap aside.
When an upgrade fixes a bug, its reproduction fails: that workaround can go.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import faust
import pytest

from services.processor.faust_workarounds import InOrder, writing_for

PARTITION = 4
_apps = itertools.count()


@dataclass
class ChangelogProducer:
    """Records the changelog writes faust makes (partition included) instead of buffering them for a broker."""

    writes: list[tuple[str, bytes, int | None]] = field(default_factory=list)

    def send_soon(self, fut: Any) -> None:
        message = fut.message
        self.writes.append((message.channel.get_topic_name(), message.key, message.partition))


@dataclass
class Outcome:
    """What the agent saw when it wrote to the table from a batch."""

    refused: BaseException | None = None
    partition_in_block: int | None = None
    written: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)


async def write_from_a_batch(take: str) -> tuple[Outcome, Any, ChangelogProducer]:
    """An in-process app (memory store, no broker) whose agent writes to a table from each `take` batch."""
    app = faust.App(f"take-tables-{next(_apps)}", store="memory://", env={})
    table = app.Table("children", partitions=6, key_type=bytes, value_type=bytes)
    topic = app.topic("events", key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
    producer = app.producer = ChangelogProducer()  # the stream still needs the app's own (never started) consumer
    outcome = Outcome()

    @app.agent(topic, isolated_partitions=True)  # type: ignore[untyped-decorator]  # faust is untyped
    async def process(stream: Any) -> None:
        async for batch in getattr(stream, take)(10, within=0.05):
            try:
                table[b"886|child-a"] = b"outside"
            except TypeError as refused:
                outcome.refused = refused
            with writing_for(batch[-1]):
                outcome.partition_in_block = table.partition_for_key(b"886|child-a")
                table[b"886|child-a"] = b"inside"
                outcome.written = True
            for event in batch:
                await stream.ack(event)
            outcome.done.set()

    async with process.test_context() as agent:
        await agent.put(b"first", key=b"886", partition=PARTITION, wait=False)
        await agent.put(b"second", key=b"886", partition=PARTITION, wait=False)
        await asyncio.wait_for(outcome.done.wait(), timeout=10)
    return outcome, table, producer


@pytest.mark.parametrize("take", ["noack_take", "take_events"])
async def test_a_table_write_from_a_taken_batch_is_refused_as_outside_stream_iteration(take: str) -> None:
    outcome, _, _ = await write_from_a_batch(take)

    assert isinstance(outcome.refused, TypeError)
    assert "Cannot modify table key from outside of stream iteration" in str(outcome.refused)


@pytest.mark.parametrize("take", ["noack_take", "take_events"])
async def test_inside_writing_for_the_batchs_last_event_the_write_goes_to_that_events_partition(take: str) -> None:
    outcome, table, producer = await write_from_a_batch(take)

    assert outcome.written
    assert outcome.partition_in_block == PARTITION
    assert producer.writes == [(table.changelog_topic.get_topic_name(), b"886|child-a", PARTITION)]
    assert table.get(b"886|child-a") == b"inside"


async def test_outside_the_block_there_is_again_no_current_event() -> None:
    event = type("Event", (), {})()
    event.message = type("Message", (), {"topic": "events", "partition": 2})()

    with writing_for(event):
        assert faust.current_event() is event
    assert faust.current_event() is None


@pytest.mark.timeout(10)
async def test_events_queued_for_a_stream_when_faust_resumes_flow_are_dropped_unacknowledged() -> None:
    # 596: after restoring tables faust seeks the stream partitions, then resumes flow, which clears every stream
    # queue. Records fetched in between are counted as read (so never fetched again) but never reach the agent.
    app = faust.App(f"flow-{next(_apps)}", store="memory://", env={})
    app.flow_control.resume()  # flowing, as once a worker has started
    queue = app.channel().queue
    await queue.put("an event fetched just after the seek")
    assert not queue.empty()

    app.flow_control.suspend()
    app.flow_control.resume()

    assert queue.empty()


@dataclass(frozen=True)
class Message:
    tp: str
    offset: int


@dataclass(frozen=True)
class Event:
    message: Message


def events(*offsets: int, tp: str = "events-1") -> list[Event]:
    return [Event(Message(tp, offset)) for offset in offsets]


@dataclass
class Partitions:
    """The broker side InOrder asks: committed offsets, log starts, and the gaps it reads aside."""

    committed: dict[str, int] = field(default_factory=lambda: {"events-1": 10})
    log_start: dict[str, int] = field(default_factory=lambda: {"events-1": 0})
    reads: list[tuple[str, int, int]] = field(default_factory=list)
    asked: int = 0

    def in_order(self) -> InOrder:
        async def committed(tp: str) -> int | None:
            self.asked += 1
            return self.committed.get(tp)

        async def earliest(tp: str) -> int:
            return self.log_start[tp]

        async def read(tp: str, start: int, end: int) -> list[Event]:
            self.reads.append((tp, start, end))
            return events(*range(start, end), tp=tp)

        return InOrder(committed, earliest, read)


def offsets(admitted: Sequence[Event]) -> list[int]:
    return [event.message.offset for event in admitted]


async def test_events_from_the_committed_offset_in_order_are_all_admitted_without_reading_aside() -> None:
    broker = Partitions()
    in_order = broker.in_order()

    assert offsets(await in_order.admit(events(10, 11, 12), generation=1)) == [10, 11, 12]
    assert offsets(await in_order.admit(events(13, 14), generation=1)) == [13, 14]
    assert broker.reads == [] and in_order.dropped == 0 and in_order.filled == 0


async def test_a_jump_is_filled_by_reading_the_missing_records_aside_and_they_come_first() -> None:
    broker = Partitions()
    in_order = broker.in_order()

    assert offsets(await in_order.admit(events(10, 11, 15, 16), generation=1)) == [10, 11, 12, 13, 14, 15, 16]
    assert broker.reads == [("events-1", 12, 15)]
    assert in_order.filled == 3


async def test_a_single_record_missing_at_the_committed_offset_is_read_aside_not_skipped() -> None:
    # 606: faust commits over a gap of exactly one record at the head of its acknowledgements.
    broker = Partitions()
    in_order = broker.in_order()

    assert offsets(await in_order.admit(events(11, 12), generation=1)) == [10, 11, 12]
    assert broker.reads == [("events-1", 10, 11)]


async def test_events_delivered_again_below_the_expected_offset_are_dropped() -> None:
    in_order = Partitions().in_order()
    await in_order.admit(events(10, 11, 12), generation=1)

    assert offsets(await in_order.admit(events(11, 12, 13), generation=1)) == [13]
    assert in_order.dropped == 2


async def test_records_faust_hands_over_after_a_gap_was_filled_are_dropped_not_read_again() -> None:
    # The livelock this replaced: after a seek, records fetched before it kept arriving and each was a new jump.
    # Reading aside moves nothing in faust's consumer, so what it still hands over is either new or a duplicate.
    broker = Partitions()
    in_order = broker.in_order()
    await in_order.admit(events(10, 14), generation=1)

    assert offsets(await in_order.admit(events(12, 13, 14, 15), generation=1)) == [15]
    assert offsets(await in_order.admit(events(16, 17), generation=1)) == [16, 17]
    assert broker.reads == [("events-1", 11, 14)]


async def test_a_jump_over_records_deleted_by_retention_reads_from_the_log_start() -> None:
    broker = Partitions(committed={"events-1": 10}, log_start={"events-1": 48})
    in_order = broker.in_order()

    assert offsets(await in_order.admit(events(50, 51), generation=1)) == [48, 49, 50, 51]
    assert broker.reads == [("events-1", 48, 50)]


async def test_a_jump_over_records_all_deleted_by_retention_is_believed_without_reading() -> None:
    broker = Partitions(committed={"events-1": 10}, log_start={"events-1": 50})
    in_order = broker.in_order()

    assert offsets(await in_order.admit(events(50, 51), generation=1)) == [50, 51]
    assert broker.reads == []


async def test_a_gap_read_out_of_order_fails_the_batch_rather_than_reordering_a_council() -> None:
    async def committed(tp: str) -> int | None:
        return 10

    async def earliest(tp: str) -> int:
        return 0

    async def read(tp: str, start: int, end: int) -> list[Event]:
        return events(12, 11)

    with pytest.raises(RuntimeError, match="out of order"):
        await InOrder(committed, earliest, read).admit(events(13), generation=1)


async def test_a_partition_with_no_committed_offset_starts_at_the_log_start() -> None:
    broker = Partitions(committed={}, log_start={"events-1": 3})
    in_order = broker.in_order()

    assert offsets(await in_order.admit(events(3, 4), generation=1)) == [3, 4]


async def test_after_a_rebalance_the_committed_offset_is_asked_again() -> None:
    broker = Partitions()
    in_order = broker.in_order()
    await in_order.admit(events(10, 11), generation=1)
    broker.committed["events-1"] = 12

    assert offsets(await in_order.admit(events(12, 13), generation=2)) == [12, 13]
    assert broker.asked == 2 and broker.reads == []
