"""Table access for batches: the partition a key belongs to, faust's per-partition context, direct writes.

faust routes every table read and write to the partition of "the current event", and queues changelog
records in a buffer drained one at a time. A batch spans partitions and writes many children at once, so
it names each access's partition (acting_for) and writes through TableWriter.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Awaitable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka.partitioner import murmur2
from faust.streams import _current_event  # faust routes table reads and writes by the current event's partition
from faust.types import TP


def partition_for(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2, as aiokafka and the Java client use) gives a key."""
    hashed: int = murmur2(key.encode())
    return (hashed & 0x7FFFFFFF) % partitions


@contextlib.contextmanager
def acting_for(event: Any) -> Iterator[None]:
    """Make `event` faust's current event, so a table access goes to its partition's store and changelog.

    A batch (bulk.py) spans partitions and is handled outside faust's per-event context, so each
    child's table access names the partition it belongs to.
    """
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


@dataclass(slots=True)
class TableWriter:
    """Writes a faust table's local store and its changelog directly, then records the changelog offsets.

    faust's own path (table[key] = value) queues each changelog message in a buffer that one task drains a
    message at a time: about 0.3 ms a write, the largest cost in a batch. This sends them concurrently
    through the same producer and keeps the same bookkeeping (the persisted offset that tells recovery where
    to resume reading the changelog).
    """

    app: Any
    table: Any
    topic: str = ""

    def __post_init__(self) -> None:
        self.topic = self.table.changelog_topic.get_topic_name()

    async def write(self, key: bytes, value: bytes | None, context: Any) -> Awaitable[Any]:
        """Apply to the local store now; returns the changelog send to await before committing."""
        store = self.table.data
        with acting_for(context):
            if value is not None:
                store[key] = value
            elif key in store:
                del store[key]
        partition = context.message.partition
        sent: Awaitable[Any] = await self.app.producer.send(self.topic, key, value, partition, None, None)
        return sent

    async def confirm(self, sends: Sequence[Awaitable[Any]]) -> None:
        """Wait for the changelog acknowledgements and record how far each changelog partition is written."""
        await self.app.producer.flush()
        latest: dict[int, int] = {}
        for metadata in await asyncio.gather(*sends):
            latest[metadata.partition] = max(metadata.offset, latest.get(metadata.partition, -1))
        for partition, offset in latest.items():
            self.table.data.set_persisted_offset(TP(self.topic, partition), offset)
