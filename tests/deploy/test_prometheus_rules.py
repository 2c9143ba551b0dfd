"""Prometheus rules: promtool lint and unit tests, a test for every alert, aggregate-only labels and annotations."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.metrics.metrics import metric_names
from services.metrics.promql import PROMETHEUS_SERIES
from services.metrics.promql import metric_names as names_in

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
RULE_FILES = sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
TEST_FILES = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))
# Labels an alert may carry into Alertmanager and its notifications: routing, and aggregates only.
ALERT_LABELS = {"team", "severity", "exception"}
TEMPLATE_LABELS = {"la_code", "job", "instance", "reason", "indicator"}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("promtool")
    if executable is None:
        message = "promtool not found on PATH: apt-get install prometheus"
        if os.environ.get("PROMTOOL_REQUIRED") == "1":
            pytest.fail(f"PROMTOOL_REQUIRED=1 but {message}")
        pytest.skip(message)
    return subprocess.run([executable, *args], capture_output=True, text=True, timeout=240, check=False, cwd=ROOT)


def rules(kind: str) -> list[dict[str, Any]]:
    return [
        rule
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
        for rule in group["rules"]
        if kind in rule
    ]


def test_rule_files_pass_promtool_check_with_every_lint() -> None:
    result = promtool("check", "rules", "--lint=all", "--lint-fatal", *map(str, RULE_FILES))

    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass() -> None:
    result = promtool("test", "rules", *map(str, TEST_FILES))

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(TEST_FILES)


def test_every_alert_has_a_unit_test_in_which_it_fires() -> None:
    firing: set[str] = set()
    for path in TEST_FILES:
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]:
            firing |= {t["alertname"] for t in case.get("alert_rule_test", []) if t.get("exp_alerts")}

    assert {rule["alert"] for rule in rules("alert")} <= firing


def test_every_unit_test_file_loads_only_rule_files_that_exist() -> None:
    for path in TEST_FILES:
        for rule_file in yaml.safe_load(path.read_text(encoding="utf-8"))["rule_files"]:
            assert (path.parent / rule_file).resolve() in RULE_FILES, (path.name, rule_file)


def test_rules_only_use_metrics_the_metrics_module_or_other_rules_define() -> None:
    known = metric_names() | {rule["record"] for rule in rules("record")} | PROMETHEUS_SERIES
    for rule in rules("record") + rules("alert"):
        assert names_in(rule["expr"]) <= known, rule.get("record") or rule.get("alert")


def test_alerts_carry_only_routing_labels_and_aggregate_annotations() -> None:
    for rule in rules("alert"):
        assert set(rule["labels"]) <= ALERT_LABELS, rule["alert"]
        assert rule["labels"]["team"] in {"platform", "performance"}, rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        for text in rule["annotations"].values():
            assert set(re.findall(r"\$labels\.(\w+)", text)) <= TEMPLATE_LABELS, (rule["alert"], text)


def test_indicator_alerts_go_to_the_performance_team_and_pipeline_alerts_to_the_platform_team() -> None:
    teams = {rule["alert"]: rule["labels"]["team"] for rule in rules("alert")}

    assert {name for name, team in teams.items() if team == "performance"} == {
        "FrontdoorRereferralAboveTarget",
        "FrontdoorRereferralAboveTargetTwoQuarters",
        "FrontdoorConversionBelowTarget",
    }


def test_histogram_ratios_drop_instance_and_le_on_the_bucket_side() -> None:
    for rule in rules("record"):
        expr = " ".join(rule["expr"].split())
        if "_bucket{" in expr and "_count" in expr:
            assert "sum without (instance, le) (rate(frontdoor_processing_latency_seconds_bucket" in expr, rule[
                "record"
            ]
            assert "sum without (instance) (rate(frontdoor_processing_latency_seconds_count" in expr, rule["record"]
