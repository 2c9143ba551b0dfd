"""The whole metrics path for real: simulated feed -> Kafka -> `frontdoor worker` -> /metrics -> Prometheus.

Twenty councils' history, dated so its last year ends yesterday (the indicator gauges window on the worker's
wall clock, and the worker dead-letters events dated beyond its future tolerance), goes through a private set
of topics into one worker started as `frontdoor worker` would be, with its /metrics port. A real Prometheus
(Debian's) scrapes it with the deploy rules loaded. Every panel query of every board and every recording rule
must return data through Prometheus's HTTP API, and the exposition Prometheus scraped must pass the
cardinality guard. Bounded: every wait has a deadline, and the worker, Prometheus and the topics are stopped
or deleted whatever happens.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bench.kafka_principals import principal_settings
from bench.processor.harness import Names, WorkerProcess, keyed, private_topics, produce, read_topic, wait_caught_up
from schemas.alerts import Alert
from schemas.codec import decode_alert, encode
from schemas.events import InboundEvent
from services.metrics import verify
from services.metrics.council_boards import boards_to_verify
from services.metrics.guard import check_exposition
from services.reference.official_statistics import councils_c1, d3_for
from services.settings import Settings
from services.simulator.history import add_years, simulate
from services.simulator.model import CouncilProfile
from tests.integration.test_metrics_prometheus import RULE_FILES, free_port, run_prometheus, wait_for_data

COUNCILS = 20
PICKED_REFERRALS_PER_YEAR = 400  # the council the boards are checked for: enough for every quarter and need
OTHER_REFERRALS_PER_YEAR = 100  # 19 small councils: ~60k events in all, about a minute through one worker
CATCH_UP_TIMEOUT_SECONDS = 300.0
METRICS_TIMEOUT_SECONDS = 60.0
DATA_TIMEOUT_SECONDS = 90.0
SCRAPE_SECONDS = 3  # interval and timeout; production scrapes every 15 s with a 10 s timeout
IDLE_SECONDS = 30.0  # scrapes of the caught-up worker, measured apart from those while it is busy
# Conversion targets have no default (there is no England figure to fall back on), so the worker is given a
# rules file, as a platform team would configure it: targets for every council, the picked council's neighbours.
RULES_FILE = """
[default.targets]
contact_to_referral = 0.3
referral_to_assessment = 0.8

[councils.{picked}]
statistical_neighbours = [{neighbours}]

[councils.{picked}.targets]
rereferral = 0.2
"""


def twenty_councils_ending_yesterday(today: dt.date) -> tuple[list[InboundEvent], list[str]]:
    """20 councils calibrated on their 2024-25 C1 rows: a warm-up year, then the year up to (not incl.) today."""
    rows = [r for r in councils_c1(2025) if r.referral_count][:COUNCILS]
    profiles = [
        CouncilProfile.from_c1(
            row,
            d3_for(row.old_la_code, 2025),
            annual_referrals=PICKED_REFERRALS_PER_YEAR if i == 0 else OTHER_REFERRALS_PER_YEAR,
        )
        for i, row in enumerate(rows)
    ]
    return list(simulate(profiles, add_years(today, -1), 1.0, seed=6)), [p.la_code for p in profiles]


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        body: bytes = response.read()
        return body.decode()


def wait_for_metrics(worker: WorkerProcess, url: str) -> None:
    deadline = time.monotonic() + METRICS_TIMEOUT_SECONDS
    while True:
        assert worker.alive(), worker.log_tail()
        try:
            scrape(url)
            return
        except OSError:
            assert time.monotonic() < deadline, f"no /metrics at {url}:\n{worker.log_tail()}"
            time.sleep(0.2)


def alerts_raised_by_council(exposition: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for family in text_string_to_metric_families(exposition):
        if family.name == "frontdoor_alerts_raised":
            for sample in family.samples:
                if sample.name == "frontdoor_alerts_raised_total":
                    counts[sample.labels["la_code"]] += int(sample.value)
    return +counts


def scrape_stats(prometheus: str, start: float, end: float, job: str = "frontdoor-worker") -> dict[str, float]:
    """What Prometheus measured scraping the worker between two Unix times: seconds per scrape, scrapes, failures."""
    series = f'{{job="{job}"}}[{max(1, round(end - start))}s]'
    queries = {
        "avg_seconds": f"avg_over_time(scrape_duration_seconds{series})",
        "max_seconds": f"max_over_time(scrape_duration_seconds{series})",
        "scrapes": f"count_over_time(up{series})",
        "failed": f"count_over_time(up{series}) - sum_over_time(up{series})",
        "samples": f"max_over_time(scrape_samples_scraped{series})",
    }
    stats = {}
    for name, expr in queries.items():
        params = urllib.parse.urlencode({"query": expr, "time": f"{end:.3f}"})
        with urllib.request.urlopen(f"{prometheus}/api/v1/query?{params}", timeout=10) as response:
            (result,) = json.load(response)["data"]["result"]
        stats[name] = float(result["value"][1])
    return stats


def describe(stats: dict[str, float]) -> str:
    return (
        f"avg {stats['avg_seconds']:.3f} s, max {stats['max_seconds']:.3f} s over {stats['scrapes']:.0f} scrapes "
        f"({stats['failed']:.0f} failed), {stats['samples']:.0f} samples"
    )


@pytest.mark.kafka
@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_a_real_worker_fed_twenty_councils_through_kafka_gives_every_panel_and_rule_data_in_prometheus(
    kafka_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    today = dt.datetime.now(dt.UTC).date()
    feed, la_codes = twenty_councils_ending_yesterday(today)
    picked = la_codes[0]
    checks = verify.panel_checks(boards_to_verify(picked, "police"), {})
    checks += verify.rule_checks(RULE_FILES)
    names = Names.unique("it-metrics-fullstack")
    processor = names.processor_settings()
    port = free_port()
    metrics_url = f"http://127.0.0.1:{port}/metrics"
    rules_path = tmp_path / "rules.toml"
    neighbours = ", ".join(f'"{la}"' for la in la_codes[1:4])
    rules_path.write_text(RULES_FILE.format(picked=picked, neighbours=neighbours), encoding="utf-8")
    async with private_topics(kafka_settings, names):
        # The status file (council totals as JSON) is for other tests; rewritten every 0.1 s it would cost CPU
        # the scrape needs, so it is rewritten once a minute here.
        worker = WorkerProcess(
            "worker",
            tmp_path,
            names.env() | {"FRONTDOOR_RULES_CONFIG": str(rules_path)},
            store="memory://",
            metrics_port=str(port),
            status_interval_seconds="60",
        ).start()
        try:
            await asyncio.to_thread(wait_for_metrics, worker, metrics_url)
            with run_prometheus(f"127.0.0.1:{port}", tmp_path, scrape_seconds=SCRAPE_SECONDS) as prometheus:
                # Prometheus scrapes from before the first event, so counters start at 0 and increase() sees all.
                feed_started = time.time()
                await produce(principal_settings("ingest"), processor.events_topic, keyed(feed, encode))
                await wait_caught_up(
                    kafka_settings, processor.app_id, processor.events_topic, [worker], CATCH_UP_TIMEOUT_SECONDS
                )
                caught_up = time.time()
                await asyncio.to_thread(wait_for_data, prometheus, checks, DATA_TIMEOUT_SECONDS)
                outcomes = await asyncio.to_thread(verify.run_checks, prometheus, checks)
                # A fixed window to measure, not a wait for a condition: scrapes of the idle worker.
                await asyncio.sleep(max(0.0, caught_up + IDLE_SECONDS - time.time()))
                busy = await asyncio.to_thread(scrape_stats, prometheus, feed_started, caught_up)
                idle = await asyncio.to_thread(scrape_stats, prometheus, caught_up, time.time())
                exposition = await asyncio.to_thread(scrape, metrics_url)
        finally:
            worker.stop()
        records = await read_topic(kafka_settings, processor.alerts_topic)

    raised = Counter(m.la_code for r in records if r.value and isinstance(m := decode_alert(r.value), Alert))
    with capsys.disabled():
        print(f"\n{len(feed)} events for {COUNCILS} councils caught up in {caught_up - feed_started:.0f} s")
        print(f"every panel for la_code={picked}, source_group=police, and every recording rule:")
        print(verify.report(outcomes))
        print(
            f"scrape of the real worker's /metrics, {COUNCILS} councils, while it processed the feed: {describe(busy)}"
        )
        print(f"scrape of the real worker's /metrics, {COUNCILS} councils, caught up: {describe(idle)}")
    empty = {o.check.name for o in outcomes if not o.has_data}
    assert empty == set(), "queries without data:\n" + verify.report(o for o in outcomes if not o.has_data)
    assert check_exposition(exposition) == []
    # Every council's aggregates are loaded, and each new alert on the topic was counted for its council.
    assert all(f'frontdoor_referrals_rolling_12_months{{la_code="{la}"}}' in exposition for la in la_codes)
    assert alerts_raised_by_council(exposition) == raised
    # The caught-up worker answers every scrape within the timeout (busy, a scrape competes with the batches).
    assert idle["scrapes"] >= IDLE_SECONDS / SCRAPE_SECONDS - 2 and idle["failed"] == 0, describe(idle)
