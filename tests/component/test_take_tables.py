"""faust-streaming issue #497 on the pinned version, and the one workaround for it (services/processor/take_tables.py).

An agent that takes batches (`noack_take`, `take_events`) has no current event, so faust refuses its table writes;
inside `writing_for(batch[-1])` the same write goes to that event's partition. When an upgrade fixes the bug, the
first test fails: the workaround can go.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any

import faust
import pytest

from services.processor.take_tables import writing_for

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
