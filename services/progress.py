"""A small progress line on stderr for long ingests and simulations, with final counts; silent when not a terminal."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import TextIO


@dataclass(slots=True)
class Progress:
    """Counts read, published and rejected; redraws at most every 0.2 s, only on an interactive terminal."""

    label: str
    total: int | None = None
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    read: int = 0
    published: int = 0
    rejected: int = 0
    started: float = field(default_factory=time.monotonic)
    _drawn: float = 0.0

    def update(self, read: int = 0, published: int = 0, rejected: int = 0) -> None:
        self.read += read
        self.published += published
        self.rejected += rejected
        now = time.monotonic()
        if self.stream.isatty() and now - self._drawn >= 0.2:
            self._drawn = now
            self.stream.write("\r" + self._line(now) + "\x1b[K")
            self.stream.flush()

    def _line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        bar = ""
        if self.total:
            done = min(self.read / self.total, 1.0)
            bar = f"[{'#' * int(done * 30):<30}] {done:4.0%} "
        return (
            f"{self.label}: {bar}read {self.read:,}  published {self.published:,}  rejected {self.rejected:,}"
            f"  ({self.read / elapsed:,.0f}/s)"
        )

    def finish(self) -> str:
        """The final counts line, printed whether or not a terminal is attached."""
        elapsed = time.monotonic() - self.started
        if self.stream.isatty():
            self.stream.write("\r\x1b[K")
        summary = (
            f"{self.label}: read {self.read:,}, published {self.published:,}, rejected {self.rejected:,} "
            f"in {elapsed:.1f} s"
        )
        self.stream.write(summary + "\n")
        self.stream.flush()
        return summary
