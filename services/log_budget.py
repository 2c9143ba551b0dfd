"""A logging filter that bounds how much a service can log: so many records per logger and level per minute.

An error repeating in a loop, or a flood of refused requests, then costs a few lines a minute instead of the disk.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Window:
    started: float
    passed: int = 0
    dropped: int = 0


class LogBudget(logging.Filter):
    """At most `per_window` records per (logger, level) per `window_seconds`, each at most `max_chars` long.

    The first record let through after a window that dropped some says how many were dropped.
    """

    def __init__(
        self,
        per_window: int = 60,
        window_seconds: float = 60.0,
        max_chars: int = 2000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.per_window, self.window_seconds, self.max_chars, self._clock = per_window, window_seconds, max_chars, clock
        self._windows: dict[tuple[str, int], _Window] = {}
        self.dropped_total = 0

    def filter(self, record: logging.LogRecord) -> bool:
        now, key = self._clock(), (record.name, record.levelno)
        window = self._windows.get(key)
        dropped_before = 0
        if window is None or now - window.started >= self.window_seconds:
            dropped_before = window.dropped if window else 0
            window = self._windows[key] = _Window(now)
        if window.passed >= self.per_window:
            window.dropped += 1
            self.dropped_total += 1
            return False
        window.passed += 1
        message = record.getMessage()
        if len(message) > self.max_chars:
            message = message[: self.max_chars] + f"... [{len(message) - self.max_chars} characters cut]"
        if dropped_before:
            message += f" [{dropped_before} more such records were dropped in the last {self.window_seconds:.0f} s]"
        if message != record.getMessage():
            record.msg, record.args = message, None
        return True


def install(logger: logging.Logger | None = None, **budget: float) -> LogBudget:
    """Put one budget on every handler of `logger` (the root logger by default), so every record passes it."""
    log_budget = LogBudget(**budget)  # type: ignore[arg-type]  # keyword arguments of LogBudget
    for handler in (logger or logging.getLogger()).handlers:
        handler.addFilter(log_budget)
    return log_budget
