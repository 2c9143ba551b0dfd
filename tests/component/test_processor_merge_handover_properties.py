"""Property: however partitions interleave and whatever is redelivered, merges across partitions end as replay's."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import tempfile
from collections import defaultdict, deque
from collections.abc import Awaitable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.events import InboundEvent
from services.processor.batch import Redirect
from services.processor.tables import partition_for
from tests.builders import make_contact, make_merge, make_referral
from tests.component.processor_fakes import PARTITIONS, Sent, Worker, make_worker
from tests.component.test_processor_merge_handover import assert_same_state, fold, replay, stored

START = dt.date(2024, 1, 1)
KEYS = ("child-a", "child-0", "child-1", "child-2", "child-3", "child-4")  # partitions 1, 2, 5, 1, 5, 3 of 6


@st.composite
def feeds(draw: st.DrawFn) -> list[InboundEvent]:
    """Referrals and contacts for a few children, and merges that never go both ways (no cycles)."""
    alive = set(KEYS)
    events: list[InboundEvent] = []
    for n in range(draw(st.integers(2, 24))):
        day = START + dt.timedelta(days=draw(st.integers(0, 500)))
        kind = draw(st.sampled_from(("referral", "referral", "contact", "merge")))
        if kind == "merge" and len(alive) > 1:
            into, merged = draw(st.permutations(sorted(alive)))[:2]
            alive.discard(merged)
            events.append(make_merge(into=into, merged=merged, date=day, event_id=f"merge-{n}"))
        else:
            key = draw(st.sampled_from(KEYS))  # a record merged away keeps receiving events under its old key
            build = make_referral if kind == "referral" else make_contact
            events.append(build(day, child_key=key, event_id=f"e-{n}"))
    return events


def by_partition(items: list[Any], partition: Any) -> dict[int, deque[Any]]:
    queues: dict[int, deque[Any]] = defaultdict(deque)
    for item in items:
        queues[partition(item)].append(item)
    return queues


async def forgetting_state(worker: Worker, handling: Awaitable[None]) -> None:
    """Handle, then lose the table writes: what a worker killed between its sends and its writes leaves."""
    before = dict(worker.children.data.items())
    await handling
    worker.children.data.clear()
    worker.children.data.update(before)


async def run(feed: list[InboundEvent], chance: random.Random) -> Worker:
    """The feed through one worker: partitions taken in random turns (each in its own order), hand-over
    messages delivered late, in random turns too, and now and then a batch or a message delivered again, or
    handled by a worker that crashes before writing its state (and then delivered again)."""
    worker = make_worker(tempfile.mkdtemp())
    events = by_partition(feed, lambda e: partition_for(e.child_key, PARTITIONS))
    handovers: dict[int, deque[Sent]] = defaultdict(deque)
    handled: list[list[InboundEvent]] = []
    delivered: list[Sent] = []
    seen = 0
    while True:
        for sent in worker.handovers()[seen:]:
            handovers[sent.partition or 0].append(sent)
        seen = len(worker.handovers())
        if not (any(events.values()) or any(handovers.values())):
            return worker
        if any(events.values()) and chance.random() < 0.6:
            batch = []
            for _ in range(chance.randint(1, 3)):
                queue = chance.choice([q for q in events.values() if q] or [deque()])
                if queue:
                    batch.append(queue.popleft())
            if chance.random() < 0.1:  # a crash after the outputs were acknowledged, before the state was written
                await forgetting_state(worker, worker.handle(*batch))
            await worker.handle(*batch)
            handled.append(batch)
        elif any(handovers.values()):
            queue = chance.choice([q for q in handovers.values() if q])
            message = queue.popleft()
            if chance.random() < 0.1:
                await forgetting_state(worker, worker.redeliver(message))
            await worker.redeliver(message)
            delivered.append(message)
        if chance.random() < 0.15 and handled:
            await worker.handle(*chance.choice(handled))  # redelivered after a crash before the commit
        if chance.random() < 0.15 and delivered:
            await worker.redeliver(chance.choice(delivered))


def final_record(worker: Worker, key: str) -> str:
    value = stored(worker, key)
    while isinstance(value, Redirect):
        key, value = value.into, stored(worker, value.into)
    return key


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(feed=feeds(), seed=st.integers(0, 2**32 - 1))
def test_merges_end_as_replay_however_partitions_interleave_and_redeliver(feed: list[InboundEvent], seed: int) -> None:
    worker = asyncio.run(run(feed, random.Random(seed)))
    engine, messages = replay(feed)

    assert worker.dead_letters() == []
    assert fold(worker.alerts()) == fold(messages)
    assert_same_state(worker, engine)
    for la_code, key in engine.redirects:
        assert final_record(worker, key) == engine._resolve((la_code, key))[1], key
