"""Proves boards and rules against a real Prometheus: every panel query and recording rule must return data."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from services.metrics.dashboards import panels_of
from services.metrics.panels import Dashboard
from services.metrics.promql import fill_variables

RULES_DIR = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "rules"
# Values for Grafana's built-in variables when a query is run outside Grafana.
BUILTIN_VARIABLES = {"__range": "1h", "__rate_interval": "1m", "__interval": "15s"}


@dataclass(frozen=True, slots=True)
class Check:
    """One query to run: where it comes from (board and panel, or rule file and record) and how."""

    source: str
    name: str
    expr: str
    instant: bool = True


@dataclass(frozen=True, slots=True)
class Outcome:
    check: Check
    series: int
    first_value: str  # the first series' latest value, for the report
    error: str = ""

    @property
    def has_data(self) -> bool:
        return not self.error and self.series > 0


def panel_checks(boards: Iterable[Dashboard], variables: Mapping[str, str]) -> list[Check]:
    values = {**BUILTIN_VARIABLES, **variables}
    return [
        Check(
            f"{board['title']} / {panel['title']}",
            target["refId"],
            fill_variables(target["expr"], values),
            instant=bool(target.get("instant", True)),
        )
        for board in boards
        for panel in panels_of(board)
        for target in panel.get("targets", [])
    ]


def rule_checks(rule_files: Iterable[Path] = ()) -> list[Check]:
    """Every recording rule, queried by its recorded name (so the rule must have produced a series)."""
    files = list(rule_files) or sorted(RULES_DIR.glob("*.yml"))
    checks = []
    for path in files:
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            for rule in group["rules"]:
                if "record" in rule:
                    checks.append(Check(path.name, rule["record"], rule["record"]))
    return checks


def _get(url: str, timeout: float) -> Any:
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an HTTP URL: {url}")
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - scheme checked above
        return json.load(response)


def query(base_url: str, check: Check, range_seconds: int = 300, timeout: float = 10.0) -> Outcome:
    """Run one check through Prometheus's HTTP API (instant, or a range over the last `range_seconds`)."""
    now = time.time()
    if check.instant:
        params = {"query": check.expr, "time": f"{now:.3f}"}
        url = f"{base_url.rstrip('/')}/api/v1/query?{urllib.parse.urlencode(params)}"
    else:
        params = {"query": check.expr, "start": f"{now - range_seconds:.3f}", "end": f"{now:.3f}", "step": "5"}
        url = f"{base_url.rstrip('/')}/api/v1/query_range?{urllib.parse.urlencode(params)}"
    try:
        body = _get(url, timeout)
    except (OSError, ValueError) as error:
        return Outcome(check, 0, "", error=str(error))
    if body.get("status") != "success":
        return Outcome(check, 0, "", error=str(body.get("error", body)))
    result = body["data"]["result"]
    if body["data"]["resultType"] == "scalar":
        return Outcome(check, 1, str(result[1]))
    first = ""
    if result:
        values = result[0].get("values") or [result[0].get("value")]
        first = str(values[-1][1])
    return Outcome(check, len(result), first)


def run_checks(base_url: str, checks: Iterable[Check], range_seconds: int = 300) -> list[Outcome]:
    return [query(base_url, check, range_seconds) for check in checks]


def report(outcomes: Iterable[Outcome]) -> str:
    """A plain table: source, name, series returned, first value (or the error)."""
    lines = []
    for o in outcomes:
        status = "ok   " if o.has_data else "EMPTY"
        detail = o.error or f"{o.series} series, first = {o.first_value}"
        lines.append(f"{status} {o.check.source} [{o.check.name}]: {detail}")
    return "\n".join(lines)
