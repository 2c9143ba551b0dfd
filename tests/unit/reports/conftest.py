"""A simulated council with a warm-up year and two years of history, written once for the pack's tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench.processor.harness import simulated_feed
from schemas.codec import encode
from services.cli import main
from services.core.config import RuleConfig
from services.reports.pack_source import CouncilSeries, council_series, input_lines, replay_one_council

LA_CODE = "942"
FIRST, LAST = "2024-04", "2026-03"


@dataclass(frozen=True)
class History:
    events: Path
    series: CouncilSeries
    report_months: dict[str, Any]  # `frontdoor report --by month --format json`, run as the command
    report_quarters: dict[str, Any]


def _report(events: Path, out: Path, by: str) -> dict[str, Any]:
    assert main(["report", "--events", str(events), "--by", by, "--format", "json", "--output", str(out)]) == 0
    document: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return document


@pytest.fixture(scope="session")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    directory = tmp_path_factory.mktemp("pack-history")
    events = directory / "events.jsonl"
    feed = simulated_feed((LA_CODE,), annual_referrals=500, seed=21, years=2.0)
    events.write_bytes(b"".join(encode(event) + b"\n" for event in feed))
    rules = RuleConfig(retention_months=None)
    series = council_series(replay_one_council(input_lines([events], None, None), LA_CODE, rules, None), rules)
    return History(
        events,
        series,
        _report(events, directory / "months.json", "month"),
        _report(events, directory / "quarters.json", "quarter"),
    )
