"""The running desk: projects messages into its read model, counts them, and wakes the live feeds and the notifier."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from schemas.alerts import AlertMessage
from schemas.events import InboundEvent
from schemas.totals import CouncilMonthTotals
from services.alertdesk.actions import ActionMessage, AlertAction, action_kind
from services.alertdesk.database import Database
from services.alertdesk.metrics import DeskMetrics
from services.alertdesk.projection import Batch, Change, project
from services.alertdesk.readmodel import ReadModel
from services.alertdesk.state import AlertRecord


def memory_read_model() -> ReadModel:
    """An in-memory SQLite read model: for tests, and a desk that rebuilds from the topics at every start."""
    db = Database("sqlite:///:memory:")
    db.create_schema()
    return ReadModel(db)


class FeedHub:
    """Wakes every live feed connection when the state changes (one asyncio.Event per change).

    A feed takes `current()` before it reads the state, so a change between its read and its wait still wakes it.
    """

    def __init__(self) -> None:
        self._changed: asyncio.Event | None = None
        self.closing = False

    def current(self) -> asyncio.Event:
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    def notify(self) -> None:
        event = self.current()
        self._changed = asyncio.Event()
        event.set()

    def close(self) -> None:
        """The server is stopping: every open feed ends now instead of holding the shutdown up."""
        self.closing = True
        self.notify()

    @staticmethod
    async def wait(event: asyncio.Event, timeout_seconds: float) -> bool:
        """True when something changed, False when the timeout passed first."""
        try:
            async with asyncio.timeout(timeout_seconds):
                await event.wait()
        except TimeoutError:
            return False
        return True


NewAlertListener = Callable[[AlertRecord], None]


@dataclass(slots=True)
class Desk:
    """The one place the read model changes. The consumer calls `fold_batch`; tests may fold one message at a time."""

    metrics: DeskMetrics
    state: ReadModel = field(default_factory=memory_read_model)
    hub: FeedHub = field(default_factory=FeedHub)
    caught_up: bool = False
    new_alert_listeners: list[NewAlertListener] = field(default_factory=list)
    history_after_days: int | None = None

    def fold_batch(self, batch: Batch) -> list[Change]:
        changes = project(self.state.db, batch, self.history_after_days)
        for message, _seen_at in batch.items:
            if isinstance(message, AlertAction):
                self.metrics.actions.labels(action=action_kind(message)).inc()
            elif not isinstance(message, InboundEvent | CouncilMonthTotals):
                self.metrics.alert_messages.labels(type=message.type).inc()
        if changes:
            self.hub.notify()
        for change in changes:
            # A rebuild after restart notifies nobody again, and history never notifies.
            if change.raised and self.caught_up and not change.record.history:
                for listener in self.new_alert_listeners:
                    listener(change.record)
        return changes

    def fold_alert(self, message: AlertMessage, seen_at: dt.datetime | None = None) -> AlertRecord | None:
        batch = Batch()
        batch.add(message, seen_at)
        changes = self.fold_batch(batch)
        return changes[-1].record if changes else None

    def fold_action(self, action: ActionMessage) -> AlertRecord | None:
        batch = Batch()
        batch.add(action)
        changes = self.fold_batch(batch)
        return changes[-1].record if changes else None
