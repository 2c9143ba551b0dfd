"""The demo's Prometheus and Alertmanager run the deploy configuration, pointed at the demo's own loopback ports.

Checked with Debian's own `promtool check config` and `amtool check-config`, as the platform team would.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from services.alertdesk.hooks import HOOK_PATH
from services.demo_monitoring import ALERTMANAGER_CONFIG, PROMETHEUS_CONFIG, Ports, write_configs

PORTS = Ports(worker_metrics=19464, desk=18080, prometheus=19090, alertmanager=19093)


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not on PATH: apt-get install prometheus prometheus-alertmanager")
    return path


def configs(tmp_path: Path) -> tuple[dict, dict, Path]:  # type: ignore[type-arg]  # YAML documents
    token = tmp_path / "alertdesk-token"
    token.write_text("a token", encoding="utf-8")
    prometheus, alertmanager = write_configs(tmp_path, PORTS, token)
    subprocess.run([tool("promtool"), "check", "config", str(prometheus)], check=True, capture_output=True)
    subprocess.run([tool("amtool"), "check-config", str(alertmanager)], check=True, capture_output=True)
    return yaml.safe_load(prometheus.read_text()), yaml.safe_load(alertmanager.read_text()), token


def test_prometheus_scrapes_the_demos_worker_desk_and_itself_and_loads_every_deploy_rule_file(tmp_path: Path) -> None:
    prometheus, _, _ = configs(tmp_path)
    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in prometheus["scrape_configs"]}
    assert targets == {
        "frontdoor-worker": ["127.0.0.1:19464"],
        "frontdoor-alertdesk": ["127.0.0.1:18080"],
        "prometheus": ["127.0.0.1:19090"],
    }
    deployed = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    assert {job["job_name"] for job in deployed["scrape_configs"]} == set(targets)
    (rules,) = prometheus["rule_files"]
    assert sorted(Path(rules).parent.glob("*.yml")) and Path(rules).parent.is_absolute()
    assert prometheus["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["127.0.0.1:19093"]


def test_every_alertmanager_route_reaches_the_demos_desk_with_its_token_and_the_routing_is_the_deployed_one(
    tmp_path: Path,
) -> None:
    _, alertmanager, token = configs(tmp_path)
    hooks = [hook for receiver in alertmanager["receivers"] for hook in receiver.get("webhook_configs", [])]
    assert hooks and all(hook["url"] == f"http://127.0.0.1:18080{HOOK_PATH}" for hook in hooks)
    assert all(hook["http_config"]["authorization"]["credentials_file"] == str(token) for hook in hooks)
    deployed = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    assert alertmanager["route"] == deployed["route"] and alertmanager["inhibit_rules"] == deployed["inhibit_rules"]
