"""`python -m bench.desk_bychild`: the live feed by child against one card per alert, same data, same run.

Input: the alerts `bench/desk.sh` replayed from Kent's simulated history (out/alerts.jsonl), projected straight into
a fresh read model (SQLite file, or a private PostgreSQL with --database postgresql), all in the live feed. Each
sample is one signed-in GET through the desk's own aiohttp app in this process (query, HTML, audit to memory):
the grouped page (`/feed`) and the ungrouped one (`/feed?every=1`), interleaved. Optionally a screenshot of the
grouped feed in headless Chromium. Writes bench/results/desk-bychild[-postgresql].{json,md}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from bench.desk.browser import percentiles
from bench.measure import machine
from schemas.codec import decode_alert
from services.alertdesk.app import create_app
from services.alertdesk.database import Database
from services.alertdesk.projection import Batch, project
from services.alertdesk.readmodel import ReadModel
from tests.unit.alertdesk.desk_builders import PASSWORD, Harness, browser

REPO = Path(__file__).resolve().parents[1]
WORK = Path(tempfile.gettempdir()) / "frontdoor-bench-desk"  # where bench/desk.sh leaves its files
PAGES = [  # (what, the query string after /feed?) — each measured grouped and with every=1
    ("first page (open, live)", ""),
    ("page 20 (keyset cursor)", "DEEP"),
    ("filtered: severity high", "severity=high"),
    ("filtered: repeated contacts", "rule=repeated_contacts"),
]


def load(db: Database, alerts: Path) -> int:
    """Every alert message of the file into a fresh read model, 5,000 a batch, none of them history."""
    db.drop_schema()
    db.create_schema()
    count, batch = 0, Batch()
    with alerts.open("rb") as lines:
        for line in lines:
            batch.add(decode_alert(line))
            count += 1
            if len(batch.items) >= 5000:
                project(db, batch, None)
                batch = Batch()
    project(db, batch, None)
    db.analyse()  # as the desk does once caught up (services/alertdesk/kafka.py)
    return count


def harness_on(url: str) -> Harness:
    harness = Harness()
    harness.desk.state = ReadModel(Database(url))
    return harness


async def deep_query(client: TestClient[Any, Any], every: bool, pages: int = 19) -> str:
    """The query string of page 20, followed through the pager's "Older" links as a person would."""
    query = "every=1" if every else ""
    for _ in range(pages):
        page = await (await client.get(f"/feed?{query}")).text()
        match = re.search(r'href="/feed\?([^"]*older=\d+)" rel="next"', page)
        assert match, "the feed has fewer than 20 pages"
        query = match[1].replace("&amp;", "&")
    return query


async def measure(url: str, samples: int) -> dict[str, Any]:
    harness = harness_on(url)
    rows: list[dict[str, Any]] = []
    async with browser(harness, "dm.kent") as client:
        deep = {False: await deep_query(client, False), True: await deep_query(client, True)}
        for what, query in PAGES:
            times: dict[bool, list[float]] = {False: [], True: []}
            sizes: dict[bool, tuple[int, str]] = {}
            for sample in range(samples + 1):  # one warm-up each
                for every in (False, True):
                    switch = "every=1" if every else ""
                    q = deep[every] if query == "DEEP" else "&".join(p for p in (query, switch) if p)
                    start = time.perf_counter()
                    page = await (await client.get(f"/feed?{q}")).text()
                    elapsed = time.perf_counter() - start
                    if sample:
                        times[every].append(elapsed)
                    count = re.search(r'<p class="count">(.*?)</p>', page)
                    cards = page.count('<article class="card')
                    sizes[every] = (cards, re.sub(r"<[^>]+>", "", count[1]) if count else "")
            for every in (False, True):
                view = "every alert" if every else "by child"
                cards, line = sizes[every]
                figures = percentiles(times[every])
                rows.append({"page": what, "view": view, "cards": cards, "count_line": line, **figures})
    return {"rows": rows, "samples": samples}


def screenshot(url: str, path: Path) -> None:
    """The grouped feed's first page in headless Chromium (as the e2e tests drive it), saved as a PNG."""
    from tests.e2e.desk_runner import chromium, sign_in  # noqa: PLC0415  # selenium only for the screenshot

    ready: dict[str, Any] = {}
    loop = asyncio.new_event_loop()

    async def serve() -> None:
        runner = web.AppRunner(create_app(harness_on(url).context))
        await runner.setup()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        await web.TCPSite(runner, "127.0.0.1", port).start()
        ready["url"], ready["runner"] = f"http://127.0.0.1:{port}", runner

    threading.Thread(target=loop.run_forever, daemon=True).start()
    asyncio.run_coroutine_threadsafe(serve(), loop).result(timeout=30)
    driver = chromium(1440, 1800)
    try:
        sign_in(driver, ready["url"], "dm.kent", PASSWORD)
        driver.save_screenshot(str(path))
    finally:
        driver.quit()
        asyncio.run_coroutine_threadsafe(ready["runner"].cleanup(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)


def report(result: dict[str, Any]) -> str:
    info = result["machine"]
    lines = [
        f"# Live feed by child against one card per alert ({result['alerts']:,} alert messages, {result['database']})",
        "",
        f"Machine: {info['cpu_model']}, {info['nproc']} cores, Python {info['python']}; load average at start "
        f"{info['load_average_at_start']}, at end {result['load_average_at_end']} (the machine is shared). "
        f"Commit {str(info.get('git_commit', ''))[:12]}, {info['date_utc']}.",
        "",
        f"Each sample is one signed-in GET of the feed through the desk's aiohttp app in-process (query, HTML, audit "
        f"record to memory), {result['samples']} samples per row after one warm-up, grouped and ungrouped interleaved.",
        f"Loading the read model: {result['load_seconds']:.1f} s.",
        "",
        "| Page | View | cards | count line | p50 (s) | p95 (s) | max (s) |",
        "|---|---|---:|---|---:|---:|---:|",
    ]
    for r in result["rows"]:
        lines.append(f"| {r['page']} | {r['view']} | {r['cards']} | {r['count_line']} | {r['p50_seconds']:.3f} | "
                     f"{r['p95_seconds']:.3f} | {r['max_seconds']:.3f} |")  # fmt: skip
    lines += ["", "Re-run: `python -m bench.desk_bychild [--database postgresql] [--screenshot PATH]`.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alerts", type=Path, default=WORK / "out" / "alerts.jsonl")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--screenshot", type=Path)
    args = parser.parse_args()
    info = machine()
    directory = Path(tempfile.mkdtemp(prefix="frontdoor-bychild-"))
    launcher: Any = None
    try:
        if args.database == "postgresql":
            from tests.database.conftest import _free_port, launcher  # noqa: PLC0415  # the suite's private server

            url = launcher.up(directory, _free_port())
        else:
            url = f"sqlite:///{directory / 'desk.sqlite3'}"
        start = time.perf_counter()
        db = Database(url)
        alerts = load(db, args.alerts)
        db.close()
        load_seconds = time.perf_counter() - start
        result = asyncio.run(measure(url, args.samples))
        if args.screenshot:
            screenshot(url, args.screenshot)
    finally:
        if launcher is not None:
            launcher.down(directory)
        shutil.rmtree(directory, ignore_errors=True)
    result |= {"machine": info, "alerts": alerts, "database": args.database, "load_seconds": load_seconds,
               "load_average_at_end": [round(x, 2) for x in os.getloadavg()]}  # fmt: skip
    suffix = "" if args.database == "sqlite" else "-postgresql"
    (REPO / "bench" / "results" / f"desk-bychild{suffix}.json").write_text(json.dumps(result, indent=2) + "\n")
    text = report(result)
    (REPO / "bench" / "results" / f"desk-bychild{suffix}.md").write_text(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
