"""Alertmanager: amtool accepts the config, routes go to the right team, inhibitions and mute times hold."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.core.workdays import england_bank_holidays
from services.metrics.alertmanager import MONTHS, with_bank_holidays

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
ALERTS = ROOT / "deploy" / "prometheus" / "rules" / "alerts.yml"


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("amtool")
    if executable is None:
        message = "amtool not found on PATH: apt-get install prometheus-alertmanager"
        if os.environ.get("AMTOOL_REQUIRED") == "1" or os.environ.get("PROMTOOL_REQUIRED") == "1":
            pytest.fail(f"AMTOOL_REQUIRED=1 but {message}")
        pytest.skip(message)
    return subprocess.run([executable, *args], capture_output=True, text=True, timeout=60, check=False)


def config() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    return loaded


def alert_labels() -> dict[str, dict[str, str]]:
    groups = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["groups"]
    return {rule["alert"]: {"alertname": rule["alert"], **rule["labels"]} for g in groups for rule in g["rules"]}


def test_amtool_accepts_the_configuration() -> None:
    result = amtool("check-config", str(CONFIG))

    assert result.returncode == 0, result.stdout + result.stderr


# Every alert in the rules and the team it must reach.
ROUTES = [
    ("FrontdoorWorkerDown", "platform-team"),
    ("FrontdoorConsumerLagGrowing", "platform-team"),
    ("FrontdoorNoEventsInWorkingHours", "platform-team"),
    ("FrontdoorKafkaNotWritable", "platform-team"),
    ("FrontdoorDeadLettersAppearing", "platform-team"),
    ("FrontdoorLatencySLOBurnRateFast", "platform-team"),
    ("FrontdoorLatencySLOBurnRateSlow", "platform-team"),
    ("FrontdoorRereferralAboveTarget", "performance-team"),
    ("FrontdoorRereferralAboveTargetTwoQuarters", "performance-team"),
    ("FrontdoorConversionBelowTarget", "performance-team"),
]


@pytest.mark.parametrize(("alert", "receiver"), ROUTES)
def test_each_alert_routes_to_its_team(alert: str, receiver: str) -> None:
    labels = [f"{name}={value}" for name, value in alert_labels()[alert].items()] + ["la_code=886"]

    result = amtool("config", "routes", "test", f"--config.file={CONFIG}", f"--verify.receivers={receiver}", *labels)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receiver


def test_every_alert_in_the_rules_has_a_routing_case_above() -> None:
    assert set(alert_labels()) == {alert for alert, _receiver in ROUTES}


def test_an_alert_without_a_team_falls_back_to_the_alert_desk() -> None:
    result = amtool(
        "config", "routes", "test", f"--config.file={CONFIG}", "--verify.receivers=alertdesk", "alertname=X"
    )

    assert result.returncode == 0, result.stdout + result.stderr


def _matches(matchers: list[str], labels: dict[str, str]) -> bool:
    for matcher in matchers:
        name, op, value = re.fullmatch(r'(\w+)(=~|!=|=)"(.*)"', matcher).groups()  # type: ignore[union-attr]
        actual = labels.get(name, "")
        if (op == "=" and actual != value) or (op == "!=" and actual == value):
            return False
        if op == "=~" and not re.fullmatch(value, actual):
            return False
    return True


def inhibited(target: dict[str, str], source: dict[str, str]) -> bool:
    """Alertmanager's inhibition test for one firing source alert and one target alert."""
    return any(
        _matches(rule["source_matchers"], source)
        and _matches(rule["target_matchers"], target)
        and all(source.get(label) == target.get(label) for label in rule.get("equal", []))
        for rule in config()["inhibit_rules"]
    )


def test_a_worker_down_silences_its_lag_silence_and_latency_alerts_but_not_dead_letters() -> None:
    alerts = alert_labels()
    down = {**alerts["FrontdoorWorkerDown"], "job": "frontdoor-worker"}

    for name in ("FrontdoorConsumerLagGrowing", "FrontdoorNoEventsInWorkingHours", "FrontdoorLatencySLOBurnRateSlow"):
        assert inhibited({**alerts[name], "job": "frontdoor-worker"}, down), name
    assert not inhibited({**alerts["FrontdoorDeadLettersAppearing"], "job": "frontdoor-worker"}, down)
    assert not inhibited({**alerts["FrontdoorConsumerLagGrowing"], "job": "another-job"}, down)


def test_two_quarters_above_target_silences_the_plain_warning_for_the_same_council_only() -> None:
    alerts = alert_labels()
    exception = {**alerts["FrontdoorRereferralAboveTargetTwoQuarters"], "la_code": "344"}

    assert inhibited({**alerts["FrontdoorRereferralAboveTarget"], "la_code": "344"}, exception)
    assert not inhibited({**alerts["FrontdoorRereferralAboveTarget"], "la_code": "886"}, exception)


def test_the_fast_burn_silences_the_slow_burn() -> None:
    alerts = alert_labels()
    fast = {**alerts["FrontdoorLatencySLOBurnRateFast"], "job": "frontdoor-worker"}

    assert inhibited({**alerts["FrontdoorLatencySLOBurnRateSlow"], "job": "frontdoor-worker"}, fast)


def test_no_events_and_performance_alerts_are_muted_on_bank_holidays_and_performance_waits_for_working_hours() -> None:
    routes = {r["receiver"]: r for r in config()["route"]["routes"]}
    no_events = routes["platform-team"]["routes"][0]

    assert no_events["matchers"] == ['alertname="FrontdoorNoEventsInWorkingHours"']
    assert no_events["mute_time_intervals"] == ["england-bank-holidays"]
    assert routes["performance-team"]["mute_time_intervals"] == ["england-bank-holidays"]
    assert routes["performance-team"]["active_time_intervals"] == ["england-working-hours"]
    assert "mute_time_intervals" not in routes["platform-team"]  # a worker down on Christmas Day still pages


def test_the_bank_holiday_mute_interval_is_exactly_the_shipped_list() -> None:
    intervals = {i["name"]: i["time_intervals"] for i in config()["time_intervals"]}
    muted = {
        dt.date(int(i["years"][0]), MONTHS.index(i["months"][0]) + 1, int(i["days_of_month"][0]))
        for i in intervals["england-bank-holidays"]
    }

    assert muted == set(england_bank_holidays().days)
    assert all(i["location"] == "Europe/London" for i in intervals["england-bank-holidays"])
    assert CONFIG.read_text(encoding="utf-8") == with_bank_holidays(CONFIG.read_text(encoding="utf-8"))


def test_working_hours_are_monday_to_friday_eight_to_six_in_london() -> None:
    intervals = {i["name"]: i["time_intervals"] for i in config()["time_intervals"]}

    assert intervals["england-working-hours"] == [
        {
            "weekdays": ["monday:friday"],
            "times": [{"start_time": "08:00", "end_time": "18:00"}],
            "location": "Europe/London",
        }
    ]


def test_every_receiver_is_a_webhook_that_sends_resolved_notifications() -> None:
    for receiver in config()["receivers"]:
        hooks = receiver["webhook_configs"]
        assert hooks and all(hook["send_resolved"] for hook in hooks), receiver["name"]
