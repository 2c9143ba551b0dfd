"""`python -m bench.desk.run`: the alert desk with a large council's alerts, measured in headless Chromium.

Input: a simulated history (`frontdoor simulate --council 886 --years N`) and the alerts `frontdoor replay`
raised from it. Both are published to topics of this run (alerts keyed by child, events by council); a
`frontdoor alertdesk serve --rebuild` process then projects them into a fresh database (SQLite file, or a
private PostgreSQL with --database postgresql). Figures: time from a cold start to caught up and serving, the
desk's resident memory, and p50/p95 page loads in Chromium for the feed's first page, filtered pages, a search
by the council's child id, and child timelines. Writes bench/results/desk[-postgresql].{json,md}.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from bench.desk import browser
from bench.desk.report import write
from bench.measure import machine
from bench.processor.harness import delete_topics
from schemas.topics import ALERT_ACTIONS, ALERTS, AUDIT, COUNCIL_TOTALS, EVENTS
from services.ingest.identity import Pseudonymiser
from services.kafka.clients import producer_kwargs
from services.kafka.topics import ensure_topics, plan_topic
from services.settings import Settings
from tests.e2e.desk_runner import chromium, sign_in

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "bench desk password " + secrets.token_hex(8)
CHUNK = 20_000


def names() -> dict[str, str]:
    prefix = f"bench.desk.{uuid.uuid4().hex[:8]}"
    return {kind: f"{prefix}.{kind}" for kind in ("alerts", "actions", "audit", "events")}


async def publish(settings: Settings, topic: str, path: Path, key_field: str) -> int:
    """Every line of a JSONL file to `topic`, as it is (the contracts' own JSON), keyed by one of its fields."""
    producer = AIOKafkaProducer(**producer_kwargs(settings) | {"linger_ms": 50, "max_batch_size": 512 * 1024})
    await producer.start()
    count = 0
    try:
        with path.open("rb") as lines:
            pending = []
            for line in lines:
                key = json.loads(line)[key_field].encode()
                pending.append(await producer.send(topic, value=line.rstrip(b"\n"), key=key))
                count += 1
                if len(pending) >= CHUNK:
                    await asyncio.gather(*pending)
                    pending = []
            await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return count


async def prepare_topics(settings: Settings, topics: dict[str, str], events: Path, alerts: Path) -> dict[str, Any]:
    specs = {"alerts": ALERTS, "actions": ALERT_ACTIONS, "audit": AUDIT, "events": EVENTS, "totals": COUNCIL_TOTALS}
    await ensure_topics(
        settings, [plan_topic(dataclasses.replace(specs[k], name=name), settings) for k, name in topics.items()]
    )
    started = time.monotonic()
    published = {
        "alerts": await publish(settings, topics["alerts"], alerts, "child_key"),
        "events": await publish(settings, topics["events"], events, "la_code"),
    }
    return published | {"publish_seconds": round(time.monotonic() - started, 1)}


def rss_mib(pid: int) -> dict[str, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    values = {line.split(":")[0]: int(line.split()[1]) for line in status.splitlines() if line.startswith("Vm")}
    return {"rss_mib": round(values["VmRSS"] / 1024, 1), "peak_rss_mib": round(values["VmHWM"] / 1024, 1)}


def healthz(url: str) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=5) as reply:  # noqa: S310  # our own desk on 127.0.0.1
            return dict(json.loads(reply.read()))
    except OSError:
        return None


DUTY_MANAGER = ("--username", "bench.dm", "--role", "duty_manager")


def start_desk(
    work: Path, topics: dict[str, str], database_url: str, port: int, user: tuple[str, ...] = DUTY_MANAGER
) -> tuple[subprocess.Popen[bytes], float, float]:
    """`frontdoor alertdesk serve --rebuild`; returns it with seconds to the first answer and to caught up."""
    users = work / "users.toml"
    frontdoor = [sys.executable, "-m", "services.cli"]
    subprocess.run(  # noqa: S603  # our own argv
        [*frontdoor, "alertdesk", "add-user", "--users-file", str(users), *user, "--la-code", "886",
         "--password-stdin"],
        input=PASSWORD.encode(), check=True, cwd=REPO, capture_output=True,
    )  # fmt: skip
    env = os.environ | {
        "FRONTDOOR_PROFILE": "dev",
        "FRONTDOOR_ALERTDESK_USERS_FILE": str(users),
        "FRONTDOOR_ALERTDESK_SESSION_SECRET": secrets.token_hex(32),
        "FRONTDOOR_ALERTDESK_COOKIE_SECURE": "false",
        "FRONTDOOR_ALERTDESK_DATABASE_URL": database_url,
        "FRONTDOOR_ALERTDESK_HISTORY_AFTER_DAYS": "100000",  # every alert in the live feed: the heaviest case
        "FRONTDOOR_ALERTDESK_ALERTS_TOPIC": topics["alerts"],
        "FRONTDOOR_ALERTDESK_ACTIONS_TOPIC": topics["actions"],
        "FRONTDOOR_ALERTDESK_AUDIT_TOPIC": topics["audit"],
        "FRONTDOOR_ALERTDESK_EVENTS_TOPIC": topics["events"],
        "FRONTDOOR_ALERTDESK_TOTALS_TOPIC": topics.get("totals", ""),  # empty: no partner portal figures
    }
    log = (work / "alertdesk.log").open("wb")
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603  # our own argv
        [*frontdoor, "alertdesk", "serve", "--port", str(port), "--rebuild"], cwd=REPO, env=env, stdout=log, stderr=log
    )
    url, answered = f"http://127.0.0.1:{port}", None
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the desk stopped: see {work / 'alertdesk.log'}")
        health = healthz(url)
        if health is not None and answered is None:
            answered = time.monotonic() - started
        if health is not None and health.get("caught_up"):
            return process, round(answered or 0.0, 2), round(time.monotonic() - started, 2)
        time.sleep(0.2)


def sample_children(alerts: Path, events: Path, wanted: int) -> tuple[list[str], list[str]]:
    """LA child ids (as the simulator numbers them) whose pseudonyms have alerts, and the busiest timelines."""
    alerted: Counter[str] = Counter()
    with alerts.open("rb") as lines:
        for line in lines:
            alerted[json.loads(line)["child_key"]] += 1
    pseudonymiser = Pseudonymiser(Settings(profile="dev").pseudonym_key_bytes())
    found: list[str] = []
    for n in range(2_000_000):
        raw = f"886-{n:07d}"
        if pseudonymiser.pseudonymise_child("886", raw).pseudonym in alerted:
            found.append(raw)
            if len(found) == wanted:
                break
    busiest = [key for key, _ in alerted.most_common(wanted)]
    return found, busiest


FILTERS = (
    "severity=high",
    "rule=rereferral",
    "severity=medium&rule=two_referrals_in_six_months",
    "rule=repeated_contacts&from=2026-01-01&to=2026-03-31",
    "show=all&rule=repeat_child_protection_plan",
    "severity=low&from=2024-06-01&to=2024-06-30",
)


def measure_pages(
    url: str,
    samples: int,
    children: list[str],
    timelines: list[str],
    teams: list[str],
    *,
    screenshots: Path | None = None,
) -> dict[str, Any]:
    driver = chromium()
    try:
        sign_in(driver, url, "bench.dm", PASSWORD)
        filters = [*FILTERS, *(f"team={t}" for t in teams[:3])]
        figures = {
            "feed_first_page": browser.measure(samples, lambda _i: browser.load(driver, f"{url}/feed")),
            "feed_filtered_page": browser.measure(
                samples, lambda i: browser.load(driver, f"{url}/feed?{filters[i % len(filters)]}")
            ),
            "search_by_la_child_id": browser.measure(
                samples, lambda i: browser.search(driver, url, children[i % len(children)])
            ),
            "child_timeline": browser.measure(
                samples, lambda i: browser.load(driver, f"{url}/children/{timelines[i % len(timelines)]}")
            ),
        }
        driver.get(f"{url}/feed")
        figures["first_page_cards"] = len(driver.find_elements("css selector", "article.card"))
        figures["first_page_bytes"] = len(driver.page_source.encode())
        if screenshots is not None:  # what a duty manager sees at this size, to look at, not to measure
            screenshots.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(screenshots / "feed.png"))
            driver.get(f"{url}/history")
            driver.save_screenshot(str(screenshots / "history.png"))
            driver.get(f"{url}/children/{timelines[0]}")
            driver.save_screenshot(str(screenshots / "timeline.png"))
        return figures
    finally:
        driver.quit()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=Path, required=True, help="simulated history (JSONL)")
    parser.add_argument("--alerts", type=Path, required=True, help="alerts.jsonl from frontdoor replay")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--port", type=int, default=8097)
    parser.add_argument("--results-dir", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--screenshots", type=Path, default=None, help="save the feed, History and a timeline here")
    args = parser.parse_args()
    settings = Settings(profile="dev")
    facts = machine()
    work = Path(tempfile.mkdtemp(prefix="bench-desk-"))
    topics = names()
    postgres_dir = None
    process = None
    try:
        published = asyncio.run(prepare_topics(settings, topics, args.events, args.alerts))
        if args.database == "postgresql":
            sys.path.insert(0, str(REPO / "deploy" / "postgres"))
            import launcher  # noqa: PLC0415  # deploy/postgres/launcher.py, a script beside the tests' fixture

            postgres_dir = Path(tempfile.mkdtemp(prefix="bench-desk-postgres-"))
            database_url = launcher.up(postgres_dir, args.port + 1000)
        else:
            database_url = f"sqlite:///{work / 'desk.sqlite3'}"
        process, answered, caught_up = start_desk(work, topics, database_url, args.port)
        url = f"http://127.0.0.1:{args.port}"
        health = healthz(url) or {}
        memory_after_rebuild = rss_mib(process.pid)
        children, timelines = sample_children(args.alerts, args.events, 50)
        teams = sorted({json.loads(line).get("team") or "" for line in args.alerts.open("rb")} - {""})
        pages = measure_pages(url, args.samples, children, timelines, teams, screenshots=args.screenshots)
        figures = {
            "benchmark": "desk" if args.database == "sqlite" else "desk-postgresql",
            "machine": facts,
            "database": args.database,
            "input": {"events_file": str(args.events), "alerts_file": str(args.alerts)} | published,
            "desk": {"alerts": health.get("alerts"), "answered_seconds": answered,
                     "cold_start_to_caught_up_seconds": caught_up, "after_rebuild": memory_after_rebuild,
                     "after_measurements": rss_mib(process.pid)},
            "pages": pages,
        }  # fmt: skip
        json_path, md_path = write(figures, args.results_dir)
        print(f"wrote {json_path} and {md_path}")  # noqa: T201  # a command's one line of output
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
        if postgres_dir is not None:
            launcher.down(postgres_dir)
            shutil.rmtree(postgres_dir, ignore_errors=True)
        asyncio.run(delete_topics(settings, topics.values()))
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
