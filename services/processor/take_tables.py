"""The one workaround for a faust bug: writing a table from a batch that `Stream.noack_take` yielded.

faust-streaming issue #497 (open): `take()` and its variants fill their buffer in a background task, so the agent
that receives a batch has no "current event", and faust refuses every table write from it ("Cannot modify table
key from outside of stream iteration"; the RocksDB store asserts). faust routes a table write to the changelog
partition and local store of the current event. The worker hands a batch to the handler a partition at a time,
so making that part's last event current sends each write where faust itself would have sent it.
tests/component/test_take_tables.py reproduces the bug on the pinned faust-streaming version, so an upgrade that
fixes it is noticed.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator
from typing import Any

from faust.streams import _current_event  # the workaround itself: faust offers no public way to name the event


@contextlib.contextmanager
def writing_for(event: Any) -> Iterator[None]:
    """Table reads and writes inside this block belong to `event`'s partition."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)
