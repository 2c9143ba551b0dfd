"""`python -m bench.desk.partner`: the partner portal of a large council's police, timed in headless Chromium.

Input: as bench.desk.run (a simulated history of Kent, 886, and the alerts `frontdoor replay` raised from it).
A `frontdoor worker` reads the events first and publishes the council totals topic (whole council-month snapshots);
then a `frontdoor alertdesk serve --rebuild` process projects the alerts, the events (timeline) and the totals topic
into a fresh SQLite database. Figures: the desk's cold start to caught up, against the same desk with the totals
topic off, and p50/p95 loads of /partner/886/police (table, three charts). Writes bench/results/desk-partner.{json,md};
with --screenshot, a full-page Chromium screenshot of the portal at that size.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from bench.desk import browser
from bench.desk.run import PASSWORD, REPO, healthz, names, prepare_topics, rss_mib, start_desk
from bench.measure import machine
from bench.processor.harness import Names, WorkerProcess, delete_topics, end_offsets, wait_caught_up
from schemas.topics import COUNCIL_TOTALS
from services.kafka.topics import ensure_topics
from services.processor.app import changelog_names
from services.processor.cli_processor import topic_plans
from services.settings import Settings
from tests.e2e.desk_runner import chromium

GOAL_SECONDS = 1.0
POLICE = ("--username", "bench.police", "--role", "partner", "--agency", "police")


def measure_portal(url: str, samples: int, screenshot: Path | None) -> dict[str, Any]:
    driver = chromium(width=1440, height=1000)
    try:
        driver.get(f"{url}/login")
        driver.find_element(By.ID, "username").send_keys("bench.police")
        driver.find_element(By.ID, "password").send_keys(PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        WebDriverWait(driver, 30).until(expected_conditions.presence_of_element_located((By.ID, "portal-table")))
        page = f"{url}/partner/886/police"
        figures: dict[str, Any] = {"portal": browser.measure(samples, lambda _i: browser.load(driver, page))}
        figures["page_bytes"] = len(driver.page_source.encode())
        figures["months"] = len(driver.find_elements(By.CSS_SELECTOR, "#portal-table tbody tr"))
        figures["suppressed_cells"] = sum(
            td.text == "c" for td in driver.find_elements(By.CSS_SELECTOR, "#portal-table td")
        )
        if screenshot is not None:  # the whole page, as a police inspector would scroll through it
            height = driver.execute_script("return document.documentElement.scrollHeight")
            driver.set_window_size(1440, int(height) + 200)  # room below the total row
            driver.get(page)
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(screenshot))
        return figures
    finally:
        driver.quit()


def baseline_cold_start(work: Path, topics: dict[str, str], port: int) -> float:
    """Seconds to caught up for the same topics with the totals topic off: the desk as it was before the portal."""
    baseline = work / "baseline"
    baseline.mkdir()
    without = {kind: name for kind, name in topics.items() if kind != "totals"}
    process, _answered, caught_up = start_desk(
        baseline, without, f"sqlite:///{baseline / 'desk.sqlite3'}", port, user=POLICE
    )
    process.terminate()
    process.wait(timeout=30)
    return caught_up


async def publish_totals(settings: Settings, work: Path, topics: dict[str, str]) -> dict[str, Any]:
    """`frontdoor worker` over the events topic, its alerts and dead letters aside; the totals to the desk's topic."""
    names = Names.unique("bench-partner")
    processor = names.processor_settings().model_copy(
        update={"events_topic": topics["events"], "totals_topic": topics["totals"]}
    )
    await ensure_topics(settings, topic_plans(settings, processor))
    env = names.env() | {
        "FRONTDOOR_PROCESSOR_EVENTS_TOPIC": processor.events_topic,
        "FRONTDOOR_PROCESSOR_TOTALS_TOPIC": processor.totals_topic,
    }
    worker = WorkerProcess("worker", work, env).start()
    try:
        done = await wait_caught_up(settings, processor.app_id, processor.events_topic, [worker], timeout=3600)
    finally:
        worker.stop()
        aside = [processor.alerts_topic, processor.deadletter_topic, *changelog_names(processor)]
        await delete_topics(settings, aside)
    snapshots = sum((await end_offsets(settings, processor.totals_topic)).values())
    return {"worker_seconds_to_caught_up": round(done - worker.started_at, 1), "snapshots_published": snapshots}


def markdown(f: dict[str, Any]) -> str:
    m, portal, given = f["machine"], f["pages"]["portal"], f["input"]
    return "\n".join(
        [
            "# Partner portal (police, Kent 886) at a large council's size",
            "",
            f"Machine: {m['cpu_model']}, {m['nproc']} cores, Python {m['python']}; load average at start "
            f"{m['load_average_at_start']}, at end {f['load_average_at_end']} (the machine is shared). "
            f"Commit {str(m.get('git_commit', '?'))[:12]}, {m['date_utc']}.",
            "",
            f"Input: {given['events']:,} events and {given['alerts']:,} alert messages "
            "(`frontdoor simulate --council 886 --years 1` then `frontdoor replay`).",
            "",
            f"- cold start to caught up (alerts, timeline and the portal's council totals from the totals topic): "
            f"**{f['desk']['cold_start_to_caught_up_seconds']} s**; resident memory {f['desk']['rss_mib']} MiB; "
            f"baseline, the same desk with the totals topic off (`FRONTDOOR_ALERTDESK_TOTALS_TOPIC=`), same run: "
            f"**{f['desk']['baseline_cold_start_seconds_totals_off']} s**",
            f"- the totals topic: {f['worker']['snapshots_published']:,} council-month snapshots published by "
            f"`frontdoor worker` while it read the events ({f['worker']['worker_seconds_to_caught_up']} s from its "
            "start to caught up; before the desk started, not part of the desk's figures)",
            f"- portal page: p50 **{portal['p50_seconds']:.3f} s**, p95 **{portal['p95_seconds']:.3f} s**, "
            f"max {portal['max_seconds']:.3f} s over {portal['samples']} loads (goal p95 < {GOAL_SECONDS:.0f} s: "
            f"{'met' if portal['p95_seconds'] < GOAL_SECONDS else 'MISSED'})",
            f"- the page: {f['pages']['months']} months, {f['pages']['suppressed_cells']} cells shown as c, "
            f"{f['pages']['page_bytes']:,} bytes",
            "",
            "Re-run: `python -m bench.desk.partner --events history.jsonl --alerts out/alerts.jsonl`.",
            "",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=Path, required=True, help="simulated history (JSONL)")
    parser.add_argument("--alerts", type=Path, required=True, help="alerts.jsonl from frontdoor replay")
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--port", type=int, default=8098)
    parser.add_argument("--results-dir", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--screenshot", type=Path, default=None, help="save a full-page screenshot here")
    args = parser.parse_args()
    settings = Settings(profile="dev")
    facts = machine()
    work = Path(tempfile.mkdtemp(prefix="bench-partner-"))
    topics = names() | {"totals": f"{COUNCIL_TOTALS.name}.bench-partner-{uuid.uuid4().hex[:8]}"}
    process = None
    try:
        published = asyncio.run(prepare_topics(settings, topics, args.events, args.alerts))
        worker = asyncio.run(publish_totals(settings, work, topics))
        baseline = baseline_cold_start(work, topics, args.port + 1)
        database_url = f"sqlite:///{work / 'desk.sqlite3'}"
        process, answered, caught_up = start_desk(work, topics, database_url, args.port, user=POLICE)
        url = f"http://127.0.0.1:{args.port}"
        memory = rss_mib(process.pid)
        figures = {
            "benchmark": "desk-partner",
            "machine": facts,
            "input": published,
            "worker": worker,
            "desk": {"answered_seconds": answered, "cold_start_to_caught_up_seconds": caught_up,
                     "baseline_cold_start_seconds_totals_off": baseline,
                     "alerts": (healthz(url) or {}).get("alerts")} | memory,
            "pages": measure_portal(url, args.samples, args.screenshot),
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        }  # fmt: skip
        args.results_dir.mkdir(parents=True, exist_ok=True)
        (args.results_dir / "desk-partner.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        (args.results_dir / "desk-partner.md").write_text(markdown(figures), encoding="utf-8")
        print(markdown(figures))  # noqa: T201  # a command's output
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
        asyncio.run(delete_topics(settings, topics.values()))
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
