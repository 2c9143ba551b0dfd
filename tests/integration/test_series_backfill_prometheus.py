"""Backfill: two simulated years written by `report --format openmetrics`, loaded with promtool into the real
Prometheus, come back from a range query over the 24 months as exactly the figures `report --by month` prints."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.processor.harness import REPO, simulated_feed
from schemas.codec import encode
from services.metrics.backfill import COUNT_METRIC, RATIO_METRIC, backfilled_keys, month_end_timestamp
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


@pytest.mark.timeout(120)
def test_two_backfilled_years_give_the_monthly_figures_of_report_by_month_in_a_range_query(tmp_path: Path) -> None:
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

    assert len(months) == 24
    start, end = month_end_timestamp(months[0]["month"]), month_end_timestamp(months[-1]["month"])
    with prometheus_over(data, tmp_path) as base:
        counts = range_values(base, f'{COUNT_METRIC}{{la_code="942"}}', start, end)
        ratios = range_values(base, f'{RATIO_METRIC}{{la_code="942"}}', start, end)

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
