"""Backfill: two simulated years written by `report --format openmetrics`, loaded with promtool into the real
Prometheus, come back from a range query over the 24 months as exactly the figures `report --by month` prints,
and the performance board's trend panel draws them with its own queries."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench.processor.harness import REPO, simulated_feed
from schemas.codec import encode
from services.metrics.backfill import COUNT_METRIC, RATIO_METRIC, backfilled_keys, month_end_timestamp
from services.metrics.dashboards import panels_of
from services.metrics.panels import Council
from services.metrics.performance_board import performance
from tests.integration.test_metrics_prometheus import free_port

pytestmark = pytest.mark.slow
DAY_SECONDS = 86_400


def binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not on PATH: apt-get install prometheus")
    return path


def get_json(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=10) as response:
        loaded: dict[str, object] = json.loads(response.read())
        return loaded


@contextlib.contextmanager
def prometheus_over(data: Path, tmp_path: Path) -> Iterator[str]:
    """Prometheus on the backfilled data (kept for ten years, scraping nothing); killed on exit."""
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1m\n")
    log = (tmp_path / "prometheus.log").open("w")
    process = subprocess.Popen(  # our own argv
        [
            binary("prometheus"),
            f"--config.file={config}",
            f"--storage.tsdb.path={data}",
            "--storage.tsdb.retention.time=10y",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (tmp_path / "prometheus.log").read_text()
            with contextlib.suppress(OSError):
                if get_json(f"{base}/api/v1/status/buildinfo"):
                    break
            assert time.monotonic() < deadline, "Prometheus did not become ready"
            time.sleep(0.2)
        yield base
    finally:
        process.kill()
        process.wait(timeout=10)
        log.close()


def range_values(base: str, query: str, start: int, end: int) -> dict[tuple[str, int], float]:
    """(measure, timestamp) -> value from one range query with a one-day step."""
    params = urllib.parse.urlencode({"query": query, "start": start, "end": end, "step": DAY_SECONDS})
    document = get_json(f"{base}/api/v1/query_range?{params}")
    assert document["status"] == "success", document
    data = document["data"]
    assert isinstance(data, dict)
    return {
        (series["metric"]["measure"], int(float(stamp))): float(value)
        for series in data["result"]
        for stamp, value in series["values"]
    }


@dataclass(frozen=True)
class Backfilled:
    """Prometheus serving two simulated years of council 942, backfilled, and the months report printed."""

    base: str
    months: list[dict[str, Any]]
    start: int
    end: int


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backfilled]:
    tmp_path = tmp_path_factory.mktemp("backfill")
    feed = simulated_feed(("942",), annual_referrals=300, seed=6)
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"".join(encode(e) + b"\n" for e in feed))
    report = [sys.executable, "-m", "services.cli", "report", "--events", str(events), "--by", "month"]
    done = subprocess.run([*report, "--format", "json"], cwd=REPO, check=True, capture_output=True)  # our own argv
    months = json.loads(done.stdout)["months"]
    samples = tmp_path / "series.om"
    subprocess.run([*report, "--format", "openmetrics", "--output", str(samples)], cwd=REPO, check=True)
    data = tmp_path / "data"
    subprocess.run(  # our own argv
        [binary("promtool"), "tsdb", "create-blocks-from", "openmetrics", str(samples), str(data)],
        check=True,
        capture_output=True,
    )
    start, end = month_end_timestamp(months[0]["month"]), month_end_timestamp(months[-1]["month"])
    with prometheus_over(data, tmp_path) as base:
        yield Backfilled(base, months, start, end)


@pytest.mark.timeout(120)
def test_two_backfilled_years_give_the_monthly_figures_of_report_by_month_in_a_range_query(
    backfilled: Backfilled,
) -> None:
    base, months, start, end = backfilled.base, backfilled.months, backfilled.start, backfilled.end
    counts = range_values(base, f'{COUNT_METRIC}{{la_code="942"}}', start, end)
    ratios = range_values(base, f'{RATIO_METRIC}{{la_code="942"}}', start, end)

    assert len(months) == 24
    stored = counts | ratios
    expected = {
        (key, month_end_timestamp(row["month"])): float(row[key])
        for row in months
        for key in backfilled_keys(row)
        if row[key] is not None
    }
    assert len(expected) > 24 * 50
    assert {k: v for k, v in stored.items() if k in expected} == expected
    assert set(stored) == set(expected), "no sample between the month ends"
    print(f"\n{len(expected)} monthly figures compared, e.g. re-referrals {[r['rereferrals'] for r in months]}")


@pytest.mark.timeout(60)
def test_the_performance_boards_trend_panel_draws_the_backfilled_months_as_soon_as_prometheus_starts(
    backfilled: Backfilled,
) -> None:
    board = performance(Council("942", "Cumberland"))
    [panel] = [p for p in panels_of(board) if p["type"] == "timeseries" and "by month" in p["title"]]
    backfilled_targets = [t for t in panel["targets"] if RATIO_METRIC in t["expr"] or COUNT_METRIC in t["expr"]]

    assert [t["legendFormat"] for t in backfilled_targets] == ["Referrals", "Children"]
    for target in backfilled_targets:
        expr = target["expr"]
        [measure] = re.findall(r'measure="(\w+)"', expr)
        drawn = range_values(backfilled.base, expr, backfilled.start, backfilled.end)
        expected = {
            (measure, month_end_timestamp(row["month"])): row[measure]
            for row in backfilled.months
            if row[measure] is not None
        }
        assert len(expected) >= 12
        assert drawn == expected, target["legendFormat"]
