"""Every board panel and recording rule returns data from a real Prometheus scraping 20 councils' metrics.

No broker: the synthetic feed runs through the real core (Engine, then each child's aggregate contribution),
and a small HTTP server exposes the metrics module's registry as a worker would, with a metrics config
(targets and neighbours). The full-stack test (test_metrics_fullstack.py: Kafka, a real `frontdoor worker`)
reuses `run_prometheus`; this one stays because the worker cannot load a metrics config yet, so only here do
the configured-only target rules and the `neighbours` benchmark area get series.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry, start_http_server

from schemas.alerts import Alert
from schemas.codes import ReferralSource, source_group
from schemas.events import ContactReceived, ReferralOpened
from services.core.aggregates import AggregateKey, contribution
from services.core.config import RuleConfig
from services.core.engine import Engine
from services.metrics import verify
from services.metrics.collector import worker_metrics
from services.metrics.config import CouncilTargets, MetricsConfig
from services.metrics.council_boards import boards_to_verify
from services.metrics.dashboards import panels_of, partners
from services.metrics.guard import check_exposition
from services.metrics.metrics import PrometheusProcessorMetrics
from services.metrics.panels import Council
from services.reference.official_statistics import councils_c1, d3_for
from services.simulator.history import simulate
from services.simulator.model import CouncilProfile

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
RULE_FILES = sorted((ROOT / "deploy" / "prometheus" / "rules").glob("*.yml"))
COUNCILS = 20
REFERRALS_PER_YEAR = 200  # small councils keep the simulation to seconds; 20 of them still give every series
SIMULATED_UNTIL = dt.datetime(2025, 6, 30, 18, 0, tzinfo=dt.UTC)
SCRAPE_INTERVAL_SECONDS = 2
STARTUP_TIMEOUT_SECONDS = 30.0
DATA_TIMEOUT_SECONDS = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def prometheus_binary() -> str:
    executable = shutil.which("prometheus")
    if executable is None:
        message = "the prometheus binary is not on PATH: apt-get install prometheus"
        if os.environ.get("PROMTOOL_REQUIRED") == "1":
            pytest.fail(f"PROMTOOL_REQUIRED=1 but {message}")
        pytest.skip(message)
    return executable


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        body: bytes = response.read()
        return body


@contextlib.contextmanager
def run_prometheus(
    target: str, tmp_path: Path, job: str = "frontdoor-worker", scrape_seconds: int = SCRAPE_INTERVAL_SECONDS
) -> Iterator[str]:
    """A Prometheus scraping `target` (host:port) every `scrape_seconds` (also the scrape timeout) with the deploy
    rules loaded; yields its base URL. The process is killed on exit whatever happens, and startup is bounded.
    """
    port = free_port()
    config = {
        "global": {
            "scrape_interval": f"{scrape_seconds}s",
            "scrape_timeout": f"{scrape_seconds}s",
            "evaluation_interval": "1s",
        },
        "rule_files": [str(path) for path in RULE_FILES],
        "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [target]}]}],
    }
    config_path = tmp_path / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    log = (tmp_path / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            prometheus_binary(),
            f"--config.file={config_path}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while True:
            assert process.poll() is None, (tmp_path / "prometheus.log").read_text()
            with contextlib.suppress(OSError):
                if _get(f"{base_url}/-/ready"):
                    break
            assert time.monotonic() < deadline, "Prometheus did not become ready"
            time.sleep(0.2)
        yield base_url
    finally:
        process.kill()
        process.wait(timeout=10)
        log.close()


def wait_for_data(base_url: str, checks: list[verify.Check], timeout: float = DATA_TIMEOUT_SECONDS) -> None:
    """Until every check has data (rates need two scrapes, rules an evaluation after them), or the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(o.has_data for o in verify.run_checks(base_url, checks)):
            return
        time.sleep(1.0)


@dataclass(frozen=True, slots=True)
class FeedCall:
    """What a worker would record for one event; replayed in a loop to keep the counters moving."""

    event_type: str
    outcome: str
    la_code: str
    source_group: str | None  # for contacts and referrals
    rereferral: bool
    alerts: tuple[tuple[str, str], ...]  # (rule, severity)


def simulated_councils() -> tuple[dict[str, Counter[AggregateKey]], list[FeedCall], list[str]]:
    """20 small councils calibrated on their C1 rows, through the real engine and aggregate contributions."""
    rows = [r for r in councils_c1(2025) if r.referral_count][:COUNCILS]
    profiles = [
        CouncilProfile.from_c1(r, d3_for(r.old_la_code, 2025), annual_referrals=REFERRALS_PER_YEAR) for r in rows
    ]
    config = RuleConfig()
    engine = Engine(config)
    calls = []
    for event in simulate(profiles, dt.date(2024, 7, 1), 1.0, seed=6):
        outcome, messages = engine.apply(event)
        group = None
        if isinstance(event, ContactReceived | ReferralOpened):
            group = source_group(ReferralSource(event.source)).value
        alerts = tuple((m.rule.value, m.severity.value) for m in messages if isinstance(m, Alert))
        rereferral = any(rule == "rereferral" for rule, _ in alerts)
        calls.append(FeedCall(event.type, outcome.value, event.la_code, group, rereferral, alerts))
    totals: dict[str, Counter[AggregateKey]] = {}
    for history in engine.children.values():
        totals.setdefault(history.la_code, Counter()).update(contribution(history, config))
    return totals, calls, [r.old_la_code for r in rows]


def replay(metrics: PrometheusProcessorMetrics, calls: list[FeedCall], stop: threading.Event) -> None:
    """A worker's metric calls: batches of 250 events every 0.2 s, a few slow batches and dead letters."""
    position, batch = 0, 0
    while not stop.is_set():
        chunk = calls[position : position + 250] or calls[:250]
        position = (position + 250) % len(calls)
        for call in chunk:
            metrics.events_consumed(call.event_type, call.outcome)
            if call.event_type == "ContactReceived" and call.source_group:
                metrics.contact_received(call.la_code, call.source_group)
            if call.event_type == "ReferralOpened" and call.source_group:
                metrics.referral_opened(call.la_code, call.source_group, call.rereferral)
            for rule, severity in call.alerts:
                metrics.alert_raised(call.la_code, rule, severity)
        batch += 1
        metrics.batch_processed(len(chunk), 1.5 if batch % 50 == 0 else 0.02)
        metrics.event_age(3600.0)
        metrics.consumer_lag(1200 - batch % 100)
        metrics.state_size(40_000)
        if batch % 10 == 0:
            metrics.dead_letter("schema_invalid")
        stop.wait(0.2)


@dataclass(frozen=True, slots=True)
class Worker:
    url: str
    target: str
    la_codes: list[str]


@pytest.fixture(scope="module")
def simulated_worker() -> Iterator[Worker]:
    """The metrics module's exposition with 20 councils' totals, served on 127.0.0.1 like a worker."""
    totals, calls, la_codes = simulated_councils()
    councils = {
        la: CouncilTargets(
            rereferral_target=0.2,
            contact_to_referral_target=0.3,
            referral_to_assessment_target=0.75,
            neighbours=tuple(code for code in la_codes if code != la)[:5],
        )
        for la in la_codes
    }
    registry = CollectorRegistry()
    metrics = worker_metrics(registry, lambda: totals, lambda: SIMULATED_UNTIL, MetricsConfig(councils=councils))
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    stop = threading.Event()
    feeder = threading.Thread(target=replay, args=(metrics, calls, stop), daemon=True)
    feeder.start()
    try:
        yield Worker(f"http://127.0.0.1:{port}/metrics", f"127.0.0.1:{port}", la_codes)
    finally:
        stop.set()
        feeder.join(timeout=5)
        server.shutdown()
        thread.join(timeout=5)


def test_every_panel_query_and_recording_rule_returns_data_from_a_real_prometheus(
    simulated_worker: Worker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    boards = boards_to_verify(simulated_worker.la_codes[0], "police")
    checks = verify.panel_checks(boards, {}) + verify.rule_checks(RULE_FILES)
    with run_prometheus(simulated_worker.target, tmp_path) as prometheus:
        wait_for_data(prometheus, checks)
        outcomes = verify.run_checks(prometheus, checks)
        durations = verify.run_checks(
            prometheus,
            [
                verify.Check("prometheus", "avg", 'avg_over_time(scrape_duration_seconds{job="frontdoor-worker"}[5m])'),
                verify.Check("prometheus", "max", 'max_over_time(scrape_duration_seconds{job="frontdoor-worker"}[5m])'),
                verify.Check("prometheus", "series", 'scrape_samples_scraped{job="frontdoor-worker"}'),
            ],
        )
    with capsys.disabled():
        print(f"\n{verify.report(outcomes)}")
        print(f"scrape of /metrics with {COUNCILS} councils: " + ", ".join(verify.report(durations).splitlines()))
    empty = [o for o in outcomes if not o.has_data]
    assert not empty, "queries without data:\n" + verify.report(empty)


def instant(prometheus: str, expr: str) -> list[dict[str, object]]:
    body = json.loads(_get(f"{prometheus}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"))
    result: list[dict[str, object]] = body["data"]["result"]
    return result


def small_agency_rereferral_counts(prometheus: str) -> list[tuple[str, str]]:
    """(council, agency) pairs whose 12-month re-referral count Prometheus holds as 1 to 4."""
    series = instant(prometheus, "frontdoor_source_group_rereferrals_rolling_12_months >= 1 <= 4")
    pairs = {(s["metric"]["la_code"], s["metric"]["source_group"]) for s in series}  # type: ignore[index]
    return sorted(p for p in pairs if p[1] not in ("individual", "anonymous", "unknown"))


def test_a_partner_boards_count_of_1_to_4_and_the_rate_built_on_it_return_nothing_from_a_real_prometheus(
    simulated_worker: Worker, tmp_path: Path
) -> None:
    raw = 'frontdoor_source_group_rereferrals_rolling_12_months{source_group="police"}'
    # The council's rate is a recording rule: evaluated after the scrape that brings the raw series, so wait for both.
    rule = "frontdoor:rereferral_rolling_12_months:ratio"
    with run_prometheus(simulated_worker.target, tmp_path) as prometheus:
        wait_for_data(
            prometheus, [verify.Check("raw", "re-referrals", raw), verify.Check("rule", "council rate", rule)]
        )
        small = small_agency_rereferral_counts(prometheus)[:6]
        assert small, "the 20 simulated councils should have some agency with 1 to 4 re-referrals"
        for la_code, group in small:
            board = {p["title"]: p for p in panels_of(partners(Council(la_code, la_code), group))}
            rereferrals = board[f"Funnel: {group}"]["targets"][2]
            rate = board[f"Re-referral rate: {group} against the council"]["targets"][0]
            council = board[f"Re-referral rate: {group} against the council"]["targets"][1]
            assert rereferrals["legendFormat"] == "Re-referrals"
            assert instant(prometheus, rereferrals["expr"]) == [], (la_code, group)
            assert instant(prometheus, rate["expr"]) == [], (la_code, group)
            assert instant(prometheus, council["expr"]), "the council's own rate stays shown"


def test_the_scraped_exposition_passes_the_cardinality_guard(simulated_worker: Worker) -> None:
    exposition = _get(simulated_worker.url).decode()

    assert check_exposition(exposition) == []
    assert f'la_code="{simulated_worker.la_codes[-1]}"' in exposition
