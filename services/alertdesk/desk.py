"""The running desk: folds messages into the state, counts them, and wakes the live feeds and the notifier."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from schemas.alerts import AlertMessage, AlertRevised, AlertWithdrawn
from services.alertdesk.actions import ActionMessage, action_kind
from services.alertdesk.metrics import DeskMetrics
from services.alertdesk.state import AlertRecord, DeskState


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
    """The one place the state changes. Consumers and request handlers call `fold_*`; nothing else mutates it."""

    metrics: DeskMetrics
    state: DeskState = field(default_factory=DeskState)
    hub: FeedHub = field(default_factory=FeedHub)
    caught_up: bool = False
    new_alert_listeners: list[NewAlertListener] = field(default_factory=list)

    def fold_alert(self, message: AlertMessage) -> AlertRecord | None:
        is_new = message.alert_id not in self.state.records
        record = self.state.apply_alert(message)
        self.metrics.alert_messages.labels(type=message.type).inc()
        if record is not None:
            self.hub.notify()
            raised = not isinstance(message, AlertRevised | AlertWithdrawn)
            if is_new and raised and self.caught_up:  # a rebuild after restart notifies nobody again
                for listener in self.new_alert_listeners:
                    listener(record)
        return record

    def fold_action(self, action: ActionMessage) -> AlertRecord | None:
        record = self.state.apply_action(action)
        if record is not None:
            self.metrics.actions.labels(action=action_kind(action)).inc()
            self.hub.notify()
        return record
