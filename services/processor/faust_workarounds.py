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
from the group's committed offset: at a jump it drops the rest and seeks the partition back with faust's public
`seek_wait`, which runs on the consumer's thread. It seeks again at every jump, since a record fetched before a
seek and delivered after it moves faust's read offset past the seek. Records delivered again below the expected
offset are dropped. What it cannot close: faust marks skipped offsets as a gap, which its commit may pass (#606)
before the refetched records are handled; a worker killed in that window, about a second after a restore, loses
them. tests/component/test_faust_workarounds.py shows faust's resume dropping queued records and specifies the
rules.
"""

from __future__ import annotations

import contextlib
import logging
import weakref
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from faust.streams import _current_event  # 497: faust offers no public way to name the current event

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
    `seek(tp, offset)` refetches from an offset. A jump is believed only once the partition was sought back to the
    expected offset and the log no longer holds it (deleted by retention).
    """

    committed: Callable[[Any], Awaitable[int | None]]
    earliest: Callable[[Any], Awaitable[int]]
    seek: Callable[[Any, int], Awaitable[None]]
    generation: int = -1
    expected: dict[Any, int] = field(default_factory=dict)
    sought: dict[Any, int] = field(default_factory=dict)  # tp -> offset last sought back to
    dropped: int = 0  # events held back to keep offset order; they are fetched again

    async def admit(self, part: Sequence[Any], generation: int) -> list[Any]:
        """The events of one partition's part that may be handled now, in order; the rest come again."""
        if generation != self.generation:  # a rebalance: faust seeks to the committed offsets again
            self.generation, self.expected, self.sought = generation, {}, {}
        tp = part[0].message.tp
        if tp not in self.expected:
            committed = await self.committed(tp)
            self.expected[tp] = committed if committed is not None else await self.earliest(tp)
        admitted: list[Any] = []
        for event in part:
            offset, want = event.message.offset, self.expected[tp]
            if offset < want:
                continue  # delivered again after a seek: handled already
            if offset > want and not await self._deleted(tp, want):
                await self._seek_back(tp, want, offset)
                break
            admitted.append(event)
            self.expected[tp] = offset + 1
            self.sought.pop(tp, None)
        self.dropped += len(part) - len(admitted)
        return admitted

    async def _deleted(self, tp: Any, want: int) -> bool:
        """Whether the records from `want` are gone from the log, so the jump is real (checked after a seek)."""
        if self.sought.get(tp) != want:
            return False
        return await self.earliest(tp) > want

    async def _seek_back(self, tp: Any, want: int, got: int) -> None:
        """Seek back at every jump: a record fetched before the last seek but delivered after it moves faust's read
        offset past the seek, and faust then drops the refetched records as read, so the seek must be made again."""
        log.warning("partition %s: offset %d arrived where %d was expected; fetching again from there", tp, got, want)
        await self.seek(tp, want)
        self.sought[tp] = want
