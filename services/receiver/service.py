"""The receiver's work on a verified batch: plan it, publish durably, then answer every record.

The outlet (Kafka in production, a fake in tests) publishes the events before it stores the merged records, so a
crash in between only means the next send translates against the older record again, into the same event ids.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from services.metrics.metrics import ReceiverMetrics
from services.receiver.answers import RecordAnswer
from services.receiver.intake import BatchPlan, Translate, plan_batch
from services.receiver.tokens import Caller

log = logging.getLogger(__name__)


class Outlet(Protocol):
    """Where admitted records go: events, merged records, sealed identities and dead letters."""

    async def previous(self, child_key: str) -> object | None:
        """The child's last stored record (merged, pseudonymised), or None for a child not seen before."""

    async def deliver(self, plan: BatchPlan) -> None:
        """Publish the plan's events and then store its records; returns once the broker has them (acks=all)."""

    async def dead_letters(self, la_code: str, refused: Sequence[tuple[int, str]]) -> None:
        """One dead letter per refused record: council, index and reason, never the record."""


class PublishFailed(RuntimeError):
    """The broker did not take a batch: nothing in it is answered as accepted, and the sender may send it again."""


@dataclass(slots=True)
class Receiver:
    outlet: Outlet
    translate: Translate
    metrics: ReceiverMetrics
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    async def receive(self, caller: Caller, items: Sequence[object]) -> list[RecordAnswer]:
        """Every record's answer. One council's batches run one at a time, so each sees the last one's records."""
        started = time.monotonic()
        lock = self._locks.setdefault(caller.la_code, asyncio.Lock())
        async with lock:
            plan = await plan_batch(items, caller, self.translate, self.outlet.previous)
            try:
                await self.outlet.deliver(plan)
            except Exception as error:
                self.metrics.batch_failed(caller.la_code, len(items))
                log.error("publishing a batch for council %s failed: %s", caller.la_code, type(error).__name__)
                raise PublishFailed("the events could not be published") from error
        if plan.refused:
            await self.outlet.dead_letters(caller.la_code, plan.refused)
        answers = plan.answers(self.clock())
        seconds = time.monotonic() - started
        self.metrics.batch_answered(caller.la_code, len(plan.admitted), len(plan.refused), len(plan.events), seconds)
        return answers
