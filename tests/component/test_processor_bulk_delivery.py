"""Records a fetch at a time (services/processor/bulk.py): the Feed between faust's fetch loop and a batch task,
and the Order that keeps each partition's records in offset order across rebalances.

faust's own flow control (mode's FlowControlEvent, as the app has it) and a consumer that records what is
tracked and acked; the fetch loop itself runs in the broker tests (live equals offline, hard kill, two workers).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from faust.types import TP
from mode.utils.queues import FlowControlEvent

from services.processor.bulk import Feed, Order, Record, Verdict, run_batches

TOPIC = "frontdoor.events.v1"


@dataclass(eq=False)
class Message:
    tp: TP
    offset: int


@dataclass
class Consumer:
    assigned: set[TP] = field(default_factory=lambda: {TP(TOPIC, 0), TP(TOPIC, 1)})
    tracked: list[int] = field(default_factory=list)
    acked: list[int] = field(default_factory=list)

    def assignment(self) -> set[TP]:
        return self.assigned

    def track_message(self, message: Message) -> None:
        self.tracked.append(message.offset)

    def ack(self, message: Message) -> None:
        self.acked.append(message.offset)


@dataclass
class App:
    flow_control: FlowControlEvent = field(default_factory=lambda: FlowControlEvent(initially_suspended=False))
    consumer: Consumer = field(default_factory=Consumer)


def messages(*offsets: int, partition: int = 0) -> list[Message]:
    return [Message(TP(TOPIC, partition), offset) for offset in offsets]


def offsets(records: Sequence[Any]) -> list[int]:
    return [r.offset for r in records]


def feed(app: App, maxsize: int = 100) -> Feed:
    made = Feed(app, TOPIC, maxsize)
    app.flow_control.manage_queue(made)  # type: ignore[arg-type]
    return made


async def test_a_take_returns_a_full_batch_at_once_in_arrival_order() -> None:
    fed = feed(App())
    await fed.put(messages(1, 2, 3))
    await fed.put(messages(4, 5))

    async with asyncio.timeout(0.5):  # far less than the window: a full batch does not wait
        assert offsets(await fed.take(4, within=10)) == [1, 2, 3, 4]
        assert offsets(await fed.take(4, within=0.01)) == [5]


async def test_a_take_waits_up_to_its_window_for_a_batch_to_fill_then_returns_what_came() -> None:
    fed = feed(App())
    await fed.put(messages(1))

    async def later() -> None:
        await asyncio.sleep(0.05)
        await fed.put(messages(2, 3))

    filling = asyncio.create_task(later())
    started = asyncio.get_running_loop().time()
    taken = await fed.take(10, within=0.3)
    await filling
    assert offsets(taken) == [1, 2, 3]
    assert asyncio.get_running_loop().time() - started >= 0.29


async def test_a_take_ends_its_window_early_once_the_batch_is_full() -> None:
    fed = feed(App())
    await fed.put(messages(1))

    async def later() -> None:
        await asyncio.sleep(0.05)
        await fed.put(messages(2, 3, 4))

    filling = asyncio.create_task(later())
    async with asyncio.timeout(1):
        taken = await fed.take(3, within=30)
    await filling
    assert offsets(taken) == [1, 2, 3]


async def test_the_fetch_loop_waits_while_the_feed_is_full_and_goes_on_when_a_batch_is_taken() -> None:
    fed = feed(App(), maxsize=3)
    await fed.put(messages(1, 2, 3))
    blocked = asyncio.create_task(fed.put(messages(4)))
    await asyncio.sleep(0.05)
    assert not blocked.done()

    assert offsets(await fed.take(2, within=0.01)) == [1, 2]
    async with asyncio.timeout(1):
        await blocked
    assert offsets(await fed.take(10, within=0.01)) == [3, 4]


async def test_a_rebalance_drops_waiting_records_and_its_resume_keeps_records_fetched_since() -> None:
    app = App()
    fed = feed(app)
    await fed.put(messages(1, 2))

    app.flow_control.suspend()
    app.flow_control.clear()  # what faust does when partitions are revoked: nothing taken yet is kept
    assert not fed.records

    resumed = asyncio.create_task(fed.put(messages(1, 2, 3)))  # fetched again after faust's seek
    await asyncio.sleep(0.02)
    assert not resumed.done()  # no records go in while flow is suspended
    app.flow_control.resume()  # faust's resume clears its queues too: a Feed keeps what is there
    await resumed
    assert offsets(await fed.take(10, within=0.01)) == [1, 2, 3]


async def test_a_batch_is_tracked_before_it_is_handled_and_acked_only_after() -> None:
    app = App()
    fed = feed(app)
    seen: list[tuple[list[int], list[int], list[int]]] = []

    async def handle(batch: Sequence[Record]) -> None:
        seen.append(([r.message.offset for r in batch], list(app.consumer.tracked), list(app.consumer.acked)))

    task = asyncio.create_task(run_batches(app, fed, handle, max_batch=10, within=0.01))
    await fed.put(messages(7, 8))
    await asyncio.sleep(0.1)
    task.cancel()

    assert seen == [([7, 8], [7, 8], [])]
    assert app.consumer.acked == [7, 8]


async def test_a_failed_batch_is_not_acked_and_stops_the_task() -> None:
    app = App()
    fed = feed(app)

    async def handle(batch: Sequence[Record]) -> None:
        raise RuntimeError("broker refused the alerts")

    await fed.put(messages(1, 2))
    with pytest.raises(RuntimeError, match="broker refused"):
        await asyncio.wait_for(run_batches(app, fed, handle, max_batch=10, within=0.01), 1)
    assert app.consumer.tracked == [1, 2]
    assert app.consumer.acked == []


async def test_records_of_a_partition_revoked_since_their_fetch_are_neither_handled_nor_acked() -> None:
    app = App()
    app.consumer.assigned = {TP(TOPIC, 0)}
    fed = feed(app)
    handled: list[int] = []

    async def handle(batch: Sequence[Record]) -> None:
        handled.extend(r.message.offset for r in batch)

    task = asyncio.create_task(run_batches(app, fed, handle, max_batch=10, within=0.01))
    await fed.put([*messages(1, 2, partition=0), *messages(3, partition=1)])
    await asyncio.sleep(0.1)
    task.cancel()

    assert handled == [1, 2]
    assert app.consumer.tracked == app.consumer.acked == [1, 2]


async def test_shutdown_during_a_batch_lets_the_batch_finish_and_ack() -> None:
    app = App()
    fed = feed(app)
    started = asyncio.Event()

    async def handle(batch: Sequence[Record]) -> None:
        started.set()
        await asyncio.sleep(0.1)  # sends and state writes in flight

    task = asyncio.create_task(run_batches(app, fed, handle, max_batch=10, within=0.01))
    await fed.put(messages(1, 2))
    await started.wait()
    task.cancel()  # faust cancels the app's tasks when the worker stops
    with pytest.raises(asyncio.CancelledError):
        await task
    assert app.consumer.acked == []
    await asyncio.sleep(0.2)
    assert app.consumer.acked == [1, 2]  # the batch ran to its end; nothing was half-written and left unacked


async def test_records_fetched_before_a_rebalance_that_end_up_put_after_it_are_dropped() -> None:
    app = App()
    fed = feed(app, maxsize=2)
    await fed.put(messages(1, 2))
    seeks = 0
    stale = asyncio.create_task(fed.put(messages(3, 4), current=lambda: seeks == 0))  # waits for room
    await asyncio.sleep(0.02)

    app.flow_control.suspend()
    app.flow_control.clear()
    seeks += 1  # faust seeks back to the committed offsets: 1, 2, 3, 4 will be fetched again
    app.flow_control.resume()
    await asyncio.wait_for(stale, 1)

    assert not fed.records  # not 3, 4 ahead of the 1, 2 fetched again


P0, P1 = TP(TOPIC, 0), TP(TOPIC, 1)


def verdicts(order: Order, tp: TP, *offsets: int) -> list[tuple[Verdict, int]]:
    return [order.check(tp, offset) for offset in offsets]


def test_records_from_the_sought_offset_on_are_delivered_in_order() -> None:
    order = Order()
    order.seek(P0, 995)
    assert verdicts(order, P0, 995, 996, 997) == [
        (Verdict.DELIVER, 995),
        (Verdict.DELIVER, 996),
        (Verdict.DELIVER, 997),
    ]


def test_a_fetch_from_before_the_seek_jumps_ahead_and_sends_the_partition_back_to_the_next_expected_offset() -> None:
    order = Order()
    order.seek(P0, 995)  # records 995 onwards were dropped by the Feed when the rebalance began
    order.seek(P1, 7)
    assert order.check(P0, 1200) == (Verdict.REFETCH, 995)  # the late fetch: 1200 would overtake 995..1199
    assert order.check(P1, 7) == (Verdict.DELIVER, 7)  # other partitions are not held up
    assert verdicts(order, P0, 995, 996) == [(Verdict.DELIVER, 995), (Verdict.DELIVER, 996)]  # fetched again


def test_a_jump_again_right_after_the_partition_was_sent_back_is_a_real_gap_and_is_delivered() -> None:
    order = Order()
    order.seek(P0, 10)
    assert order.check(P0, 10) == (Verdict.DELIVER, 10)
    assert order.check(P0, 13) == (Verdict.REFETCH, 11)
    # fetched again from 11, the first record is 13: offsets 11 and 12 hold no record (a transaction marker,
    # or deleted by retention), so they are a gap the commit may pass, not records still to come
    assert order.check(P0, 13) == (Verdict.DELIVER_AFTER_GAP, 11)
    assert order.check(P0, 14) == (Verdict.DELIVER, 14)


def test_a_new_seek_forgets_that_the_partition_was_sent_back() -> None:
    order = Order()
    order.seek(P0, 10)
    assert order.check(P0, 20) == (Verdict.REFETCH, 10)
    order.seek(P0, 10)  # another rebalance, the same committed offset
    assert order.check(P0, 20) == (Verdict.REFETCH, 10)  # a late fetch again, not a gap


def test_records_below_the_expected_offset_are_delivered_again_and_do_not_move_it_back() -> None:
    order = Order()
    order.seek(P0, 5)
    assert verdicts(order, P0, 5, 6, 7) == [(Verdict.DELIVER, 5), (Verdict.DELIVER, 6), (Verdict.DELIVER, 7)]
    assert verdicts(order, P0, 3, 6) == [(Verdict.DELIVER, 3), (Verdict.DELIVER, 6)]  # idempotent handlers
    assert order.check(P0, 8) == (Verdict.DELIVER, 8)
    assert order.check(P0, 10) == (Verdict.REFETCH, 9)


def test_records_are_dropped_from_a_revoke_until_faust_seeks_their_partition() -> None:
    order = Order()
    assert order.check(P0, 0) == (Verdict.DROP, 0)  # a worker's first records wait for its first seek too
    order.seek(P0, 0)
    order.seek(P1, 50)
    assert verdicts(order, P0, 0, 1) == [(Verdict.DELIVER, 0), (Verdict.DELIVER, 1)]

    order.hold()  # a rebalance: faust resumes flow to restore the tables before it seeks the partitions
    # a fetch from before the revoke, in order with what was delivered, but records 2.. were dropped unread
    assert verdicts(order, P0, 2, 3) == [(Verdict.DROP, 2), (Verdict.DROP, 3)]
    order.seek(P0, 2)
    assert order.check(P0, 2) == (Verdict.DELIVER, 2)
    assert order.check(P1, 50) == (Verdict.DROP, 50)  # not sought again: revoked, another worker's now
