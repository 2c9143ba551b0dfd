"""Connection limits in front of aiohttp: a cap per client address and overall, and a deadline for headers.

aiohttp's low-level `web.Server` is a documented asyncio protocol factory; this wraps it, so a connection over the
caps is closed before aiohttp sees it, and one that has not finished its request headers in time is dropped.
Idle keep-alive connections are closed by aiohttp's own `keepalive_timeout`, and bodies by `read_form`'s timeout.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)
HEADERS_END = b"\r\n\r\n"


@dataclass(slots=True)
class ConnectionLimits:
    per_address: int = 32
    total: int = 200  # keep well under the process's descriptor limit (ulimit -n), leaving room for Kafka
    header_timeout_seconds: float = 10.0
    open: Counter[str] = field(default_factory=Counter)
    refused_total: int = 0
    timed_out_total: int = 0

    def admit(self, address: str) -> bool:
        if self.open[address] >= self.per_address or self.open.total() >= self.total:
            self.refused_total += 1
            return False
        self.open[address] += 1
        return True

    def release(self, address: str) -> None:
        self.open[address] -= 1
        if self.open[address] <= 0:
            del self.open[address]


class _GuardedProtocol(asyncio.Protocol):
    def __init__(self, inner: asyncio.Protocol, limits: ConnectionLimits) -> None:
        self._inner, self._limits = inner, limits
        self._address: str | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self._transport: asyncio.Transport | None = None
        self._tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if peer else "unknown"
        if not self._limits.admit(address):
            transport.abort()
            return
        self._address, self._transport = address, transport
        self._deadline = asyncio.get_running_loop().call_later(self._limits.header_timeout_seconds, self._too_slow)
        self._inner.connection_made(transport)

    def _too_slow(self) -> None:
        self._limits.timed_out_total += 1
        if self._transport is not None:
            self._transport.abort()

    def data_received(self, data: bytes) -> None:
        if self._deadline is not None:  # only until the first request's headers are complete
            self._tail = (self._tail + data)[-(len(data) + 3) :]
            if HEADERS_END in self._tail:
                self._deadline.cancel()
                self._deadline, self._tail = None, b""
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._address is None:
            return  # refused: aiohttp never saw it
        if self._deadline is not None:
            self._deadline.cancel()
        self._limits.release(self._address)
        self._address = None
        self._inner.connection_lost(exc)


def guarded(server: Callable[[], asyncio.Protocol], limits: ConnectionLimits) -> Callable[[], asyncio.Protocol]:
    """A protocol factory for `loop.create_server` that applies `limits` in front of `server` (aiohttp's)."""
    return lambda: _GuardedProtocol(server(), limits)
