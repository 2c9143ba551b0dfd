"""Bounded load tests on loopback (they stop by themselves): slow connections, and a brute-force run.

The desk runs in a child process limited to 256 descriptors, as in the issue's attack. Slow clients come from
127.0.0.2-11 and the signed-in user from 127.0.0.1, as separate machines would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import aiohttp
import pytest

from tests.unit.alertdesk.desk_builders import PASSWORD

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]
SLOW_CLIENTS = 300
SLOW_SECONDS = float(os.environ.get("FRONTDOOR_LOAD_SECONDS", "30"))  # each slow client tries to hold 60 s
ATTACK_ADDRESSES = [f"127.0.0.{n}" for n in range(2, 12)]


@contextlib.contextmanager
def desk_process() -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.security.desk_server"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None and process.stdin is not None
    try:
        yield int(process.stdout.readline()), process
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.asynccontextmanager
async def signed_in(port: int, username: str) -> AsyncIterator[aiohttp.ClientSession]:
    base = f"http://127.0.0.1:{port}"
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=base)
    async with aiohttp.ClientSession(base, cookie_jar=jar, timeout=aiohttp.ClientTimeout(total=10)) as session:
        nonce = re.search(r'name="csrf_token" value="([^"]+)"', await (await session.get("/login")).text())
        assert nonce
        form = {"username": username, "password": PASSWORD, "csrf_token": nonce[1]}
        response = await session.post("/login", data=form)
        assert response.status == 200
        yield session


async def timed_requests(session: aiohttp.ClientSession, stop: asyncio.Event, path: str = "/feed") -> list[float]:
    latencies: list[float] = []
    while not stop.is_set():
        started = time.perf_counter()
        async with session.get(path) as response:
            await response.read()
            assert response.status == 200
        latencies.append(time.perf_counter() - started)
        await asyncio.sleep(0.05)
    return latencies


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


@dataclass
class SlowClients:
    closed_by_desk: int = 0
    refused: int = 0
    held_seconds: list[float] = field(default_factory=list)


async def slow_client(port: int, address: str, stop: asyncio.Event, tally: SlowClients) -> None:
    """Open, send a header byte a second for up to 60 s; when the desk closes it, open again (a persistent attacker)."""
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(address, 0))
        except OSError:
            tally.refused += 1
            await asyncio.sleep(0.5)
            continue
        opened = time.monotonic()
        try:
            writer.write(b"GET /feed HTTP/1.1\r\nHost: desk\r\n")
            while not stop.is_set() and time.monotonic() - opened < 60:
                writer.write(b"X")
                await writer.drain()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):
                        if not await reader.read(1024):
                            break  # closed by the desk
            else:
                continue
            tally.closed_by_desk += 1
            tally.held_seconds.append(time.monotonic() - opened)
        except OSError:
            tally.closed_by_desk += 1
            tally.held_seconds.append(time.monotonic() - opened)
        finally:
            writer.close()
        await asyncio.sleep(0.5)


async def test_300_slow_connections_do_not_stop_a_signed_in_users_requests() -> None:
    with desk_process() as (port, process):
        async with signed_in(port, "dm.kent") as session:
            stop, tally = asyncio.Event(), SlowClients()
            attackers = [
                asyncio.create_task(slow_client(port, ATTACK_ADDRESSES[i % len(ATTACK_ADDRESSES)], stop, tally))
                for i in range(SLOW_CLIENTS)
            ]
            measuring = asyncio.create_task(timed_requests(session, stop))
            await asyncio.sleep(SLOW_SECONDS)
            stop.set()
            latencies = await measuring
            await asyncio.gather(*attackers)
    stderr = process.stderr.read() if process.stderr else b""
    print(
        f"\nslow clients: {SLOW_CLIENTS} for {SLOW_SECONDS:.0f} s; user requests {len(latencies)}, "
        f"p50 {statistics.median(latencies) * 1000:.1f} ms, p95 {p95(latencies) * 1000:.1f} ms, "
        f"max {max(latencies) * 1000:.1f} ms; slow connections closed by the desk {tally.closed_by_desk} "
        f"(longest held {max(tally.held_seconds, default=0):.1f} s); desk log {len(stderr)} bytes"
    )
    assert p95(latencies) < 1.0
    assert tally.closed_by_desk >= 100 and max(tally.held_seconds) < 15  # header timeout 10 s, not 60
    assert len(stderr) < 200_000


async def test_200_guesses_lock_the_account_without_slowing_other_users_by_more_than_50_ms() -> None:
    with desk_process() as (port, _process):
        async with signed_in(port, "tm.kent") as other:
            stop = asyncio.Event()
            measuring = asyncio.create_task(timed_requests(other, stop, "/healthz"))
            await asyncio.sleep(3)
            stop.set()
            baseline = await measuring

            stop = asyncio.Event()
            measuring = asyncio.create_task(timed_requests(other, stop, "/healthz"))
            statuses = await guess(port, 200)
            stop.set()
            during = await measuring
            async with browser_session(port) as fresh:
                right = await try_password(fresh, "dm.kent", PASSWORD)
    slower = p95(during) - p95(baseline)
    print(
        f"\nbrute force: 200 guesses, statuses {dict(sorted(_count(statuses).items()))}; other user p95 "
        f"{p95(baseline) * 1000:.1f} ms before, {p95(during) * 1000:.1f} ms during ({slower * 1000:+.1f} ms)"
    )
    assert statuses.count(401) <= 10 and statuses.count(429) >= 190 and right == 429
    assert slower < 0.050


async def try_password(session: aiohttp.ClientSession, username: str, password: str) -> int:
    page = await (await session.get("/login")).text()
    nonce = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert nonce
    async with session.post("/login", data={"username": username, "password": password, "csrf_token": nonce[1]}) as r:
        return r.status


def browser_session(port: int, address: str = "127.0.0.1") -> aiohttp.ClientSession:
    base = f"http://127.0.0.1:{port}"
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=base)
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    return aiohttp.ClientSession(base, connector=connector, cookie_jar=jar, timeout=aiohttp.ClientTimeout(total=10))


async def guess(port: int, count: int, parallel: int = 4) -> list[int]:
    """`count` wrong passwords for dm.kent from 127.0.0.12 by `parallel` guessers (as in the issue: four)."""
    statuses: list[int] = []

    async def guesser(numbers: range) -> None:
        async with browser_session(port, "127.0.0.12") as session:
            for n in numbers:
                statuses.append(await try_password(session, "dm.kent", f"guess {n}"))

    await asyncio.gather(*(guesser(range(g, count, parallel)) for g in range(parallel)))
    return statuses


def _count(values: list[int]) -> dict[int, int]:
    return {v: values.count(v) for v in set(values)}
