"""The comparisons that make a benchmark a check too: frontdoor's figures against the baseline's, exactly."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.duckdb_baseline import FIELDS, Baseline

SNAPSHOT_PERIODS = ("rolling_12_months", "reporting_year_to_date")


def compare(name: str, ours: dict[str, Any], baseline: dict[str, int], fields: tuple[str, ...]) -> list[str]:
    """One line per field that differs; a figure missing from the baseline is zero (no referrals there)."""
    return [
        f"{name}: {f} frontdoor={ours.get(f)} duckdb={baseline.get(f, 0)}"
        for f in fields
        if ours.get(f) != baseline.get(f, 0)
    ]


def check_replay_indicators(name: str, indicators: dict[str, Any], base: Baseline) -> list[str]:
    """Replay's snapshot, council by council, for both of its periods, same-day collapses included."""
    diffs: list[str] = []
    for period in SNAPSHOT_PERIODS:
        expected = base.by_council[period]
        for la_code in sorted(set(indicators) | set(expected)):
            ours = indicators.get(la_code, {}).get(period, {})
            diffs += compare(
                f"replay {period} {la_code}", ours, expected.get(la_code, {}), (*FIELDS, "same_day_collapsed")
            )
    return diffs


def fold_alerts(path: Path) -> tuple[dict[str, int], float]:
    """Fold the alert stream (raise, revise, withdraw) into the alerts standing at the end, counted by rule.

    With the whole history replayed, one re-referral alert stands per re-referral: the flags, per referral.
    """
    started = time.perf_counter()
    standing: dict[str, str] = {}
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            message = json.loads(line)
            if message["type"] == "AlertWithdrawn":
                standing.pop(message["alert_id"], None)
            elif message["type"] == "AlertRevised":
                standing[message["alert_id"]] = message["alert"]["rule"]
            else:
                standing[message["alert_id"]] = message["rule"]
    return dict(Counter(standing.values())), time.perf_counter() - started
