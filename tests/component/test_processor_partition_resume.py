"""After a rebalance a source partition is fetched only once faust has sought it and emptied its stream queues.

The calls come in faust 0.15's order (tables/recovery.py, on_recovery_completed): resume the source partitions,
seek them to the committed offsets, resume flow control (which empties the queues), resume the consumer's flow.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import SimpleNamespace

import pytest
from faust.types import TP

from services.processor.rebalance import hold_streams_until_sought

EVENTS = TP("events", 0)
CONTRIBUTIONS = TP("contributions", 0)
CHANGELOG = TP("app-children-changelog", 0)


class FakeConsumer:
    """The part of faust's consumer the guard wraps: the fetched partitions, the seek, the flow, the assignment."""

    def __init__(self, *assigned: TP) -> None:
        self.app = SimpleNamespace(consumer_generation_id=1)
        self.assigned = set(assigned)
        self.fetched: set[TP] = set()
        self.fetched_during_seek: set[TP] | None = None
        self.seek_fails = False

    def _is_changelog_tp(self, tp: TP) -> bool:
        return tp.topic.endswith("-changelog")

    def assignment(self) -> set[TP]:
        return self.assigned

    def resume_partitions(self, tps: Iterable[TP]) -> None:
        self.fetched.update(tps)

    async def perform_seek(self) -> None:
        self.fetched_during_seek = set(self.fetched)
        if self.seek_fails:
            raise RuntimeError("broker went away")

    def resume_flow(self) -> None:
        pass


def guarded(*assigned: TP) -> FakeConsumer:
    consumer = FakeConsumer(*assigned)
    hold_streams_until_sought(consumer)
    return consumer


async def test_source_partitions_are_fetched_only_after_the_seek_and_the_flow_resume() -> None:
    consumer = guarded(EVENTS, CONTRIBUTIONS, CHANGELOG)

    consumer.resume_partitions({EVENTS, CONTRIBUTIONS})
    assert consumer.fetched == set()
    await consumer.perform_seek()
    assert consumer.fetched_during_seek == set()
    assert consumer.fetched == set()  # flow_control.resume() is still to empty the queues
    consumer.resume_flow()

    assert consumer.fetched == {EVENTS, CONTRIBUTIONS}


async def test_changelog_partitions_resume_at_once_for_the_restore() -> None:
    consumer = guarded(EVENTS, CHANGELOG)

    consumer.resume_partitions({CHANGELOG})

    assert consumer.fetched == {CHANGELOG}


async def test_a_flow_resume_before_the_seek_releases_nothing() -> None:
    consumer = guarded(EVENTS)

    consumer.resume_partitions({EVENTS})
    consumer.resume_flow()

    assert consumer.fetched == set()


async def test_a_failed_seek_releases_nothing_until_a_later_seek_succeeds() -> None:
    consumer = guarded(EVENTS)
    consumer.seek_fails = True

    consumer.resume_partitions({EVENTS})
    with pytest.raises(RuntimeError):
        await consumer.perform_seek()
    consumer.resume_flow()
    assert consumer.fetched == set()

    consumer.seek_fails = False
    await consumer.perform_seek()
    consumer.resume_flow()
    assert consumer.fetched == {EVENTS}


async def test_a_seek_of_an_earlier_rebalance_releases_nothing_and_revoked_partitions_stay_out() -> None:
    consumer = guarded(EVENTS, CONTRIBUTIONS)
    consumer.resume_partitions({EVENTS, CONTRIBUTIONS})
    await consumer.perform_seek()

    consumer.app.consumer_generation_id = 2  # a rebalance before the flow resumed; EVENTS went elsewhere
    consumer.assigned = {CONTRIBUTIONS, CHANGELOG}
    consumer.resume_partitions({CHANGELOG})  # the restore of the new generation
    consumer.resume_flow()
    assert consumer.fetched == {CHANGELOG}

    consumer.resume_partitions({CONTRIBUTIONS})
    await consumer.perform_seek()
    consumer.resume_flow()
    assert consumer.fetched == {CHANGELOG, CONTRIBUTIONS}
