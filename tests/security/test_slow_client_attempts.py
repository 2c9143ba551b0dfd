"""Issue 17, item 4 replayed on loopback: slow and many connections are closed, and logging is bounded."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import pytest

from services.alertdesk.app import create_app
from services.alertdesk.service import serve_app
from services.alertdesk.settings import AlertDeskSettings
from services.log_budget import LogBudget
from tests.unit.alertdesk.desk_builders import Harness, browser

pytestmark = pytest.mark.timeout(30)
FAST = {"header_timeout_seconds": 0.5, "body_timeout_seconds": 0.5, "keepalive_timeout_seconds": 1.0}


@contextlib.asynccontextmanager
async def desk(**settings: object) -> AsyncIterator[int]:
    desk_settings = AlertDeskSettings(**(FAST | settings))  # type: ignore[arg-type]  # test overrides
    harness = Harness(settings=desk_settings)
    async with serve_app(create_app(harness.context), desk_settings, "127.0.0.1", 0) as port:
        yield port


async def closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    try:
        async with asyncio.timeout(seconds):
            while await reader.read(1024):
                pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True


async def test_a_connection_that_never_finishes_its_headers_is_closed_after_the_header_timeout() -> None:
    async with desk() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and then, slowly, nothing more
        assert await closed_within(reader, 3.0)
        writer.close()


async def test_a_connection_that_sends_nothing_is_closed() -> None:
    async with desk() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await closed_within(reader, 3.0)
        writer.close()


async def test_a_form_whose_body_never_arrives_gets_408_after_the_body_timeout() -> None:
    async with desk() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 1000\r\n\r\nusername=dm"
        )
        async with asyncio.timeout(3.0):
            status = await reader.readline()
        assert status.startswith(b"HTTP/1.1 408")
        writer.close()


async def test_connections_beyond_the_per_address_cap_are_closed_at_once_and_others_still_answer() -> None:
    async with desk(max_connections_per_address=5, header_timeout_seconds=10.0) as port:
        held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(5)]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await closed_within(reader, 1.0)
        other_r, other_w = await asyncio.open_connection("127.0.0.1", port, local_addr=("127.0.0.2", 0))
        other_w.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert (await other_r.readline()).startswith(b"HTTP/1.1 200")
        for _, w in [*held, (reader, writer), (other_r, other_w)]:
            w.close()


async def test_one_session_may_hold_only_a_few_live_feed_streams() -> None:
    harness = Harness(settings=AlertDeskSettings(max_streams_per_session=3))
    async with browser(harness, "dm.kent") as client:
        streams = [await client.get("/feed/stream?after=e1-0") for _ in range(3)]
        assert [s.status for s in streams] == [200, 200, 200]
        fourth = await client.get("/feed/stream?after=e1-0")
        assert fourth.status == 429
        streams[0].close()
        await asyncio.sleep(0.1)
        again = await client.get("/feed/stream?after=e1-0")
        assert again.status == 200
        for s in [*streams, again]:
            s.close()


def test_an_error_loop_writes_a_bounded_number_of_log_lines() -> None:
    clock = [0.0]
    budget = LogBudget(per_window=60, window_seconds=60, clock=lambda: clock[0])
    records = [logging.LogRecord("desk", logging.ERROR, "f", 1, "boom %s", ("x" * 10_000,), None)]
    passed = [budget.filter(records[0]) for _ in range(100_000)]
    assert sum(passed) == 60 and budget.dropped_total == 100_000 - 60
    assert len(records[0].getMessage()) < 2100  # one huge message is cut too
    clock[0] += 61
    later = logging.LogRecord("desk", logging.ERROR, "f", 1, "boom again", None, None)
    assert budget.filter(later) and "99940 more such records were dropped" in later.getMessage()


async def test_the_desk_answers_health_while_serving_behind_the_limits() -> None:
    async with desk() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert (await reader.readline()).startswith(b"HTTP/1.1 200")
        writer.close()
