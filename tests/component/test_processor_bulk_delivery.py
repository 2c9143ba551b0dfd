"""Records a fetch at a time (services/processor/bulk.py): the Feed between faust's fetch loop and a batch task.

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

from services.processor.bulk import Feed, Record, run_batches

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
