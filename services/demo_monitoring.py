"""The demo's monitoring: Debian's Prometheus (the history backfilled first) and Alertmanager, wired to the demo.

The configurations are the deploy ones (deploy/prometheus, deploy/alertmanager) with the compose service names
replaced by the demo's loopback ports, so the demo runs the rules and routes a deployment runs.
"""

from __future__ import annotations

import json
import shutil
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
PROMETHEUS_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
RULES = DEPLOY / "prometheus" / "rules"
ALERTMANAGER_CONFIG = DEPLOY / "alertmanager" / "alertmanager.yml"
SCRAPE_SECONDS = 5  # a demo wants to see its feed move; a deployment scrapes every 15 s
RETENTION = "10y"  # the backfilled years must outlive the first compaction


@dataclass(frozen=True, slots=True)
class Ports:
    worker_metrics: int
    desk: int
    prometheus: int
    alertmanager: int


@dataclass(frozen=True, slots=True)
class Binaries:
    prometheus: str
    promtool: str
    alertmanager: str


def find_binaries() -> Binaries | None:
    """Debian's `prometheus`, `promtool` and `prometheus-alertmanager` (upstream names `alertmanager`), or None."""
    found = [shutil.which(name) for name in ("prometheus", "promtool")]
    alertmanager = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if found[0] is None or found[1] is None or alertmanager is None:
        return None
    return Binaries(found[0], found[1], alertmanager)


def prometheus_config(ports: Ports) -> dict[str, Any]:
    """deploy/prometheus/prometheus.yml with the demo's targets, its rule files by absolute path."""
    config: dict[str, Any] = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    config["global"] |= {"scrape_interval": f"{SCRAPE_SECONDS}s", "scrape_timeout": f"{SCRAPE_SECONDS}s"}
    config["rule_files"] = [str(RULES / "*.yml")]
    config["alerting"]["alertmanagers"] = [{"static_configs": [{"targets": [f"127.0.0.1:{ports.alertmanager}"]}]}]
    targets = {
        "frontdoor-worker": ports.worker_metrics,
        "frontdoor-alertdesk": ports.desk,
        "prometheus": ports.prometheus,
    }
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": [f"127.0.0.1:{targets[job['job_name']]}"]}]
    return config


def alertmanager_config(ports: Ports, token_file: Path) -> dict[str, Any]:
    """deploy/alertmanager/alertmanager.yml with every webhook pointed at the demo's desk and its token file."""
    config: dict[str, Any] = yaml.safe_load(ALERTMANAGER_CONFIG.read_text(encoding="utf-8"))
    from services.alertdesk.hooks import HOOK_PATH  # noqa: PLC0415  # the desk's route, imported only for the demo

    for receiver in config["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = f"http://127.0.0.1:{ports.desk}{HOOK_PATH}"
            hook["http_config"]["authorization"]["credentials_file"] = str(token_file)
    return config


def write_configs(work: Path, ports: Ports, token_file: Path) -> tuple[Path, Path]:
    """Both configurations in `work`; returns their paths (Prometheus, Alertmanager)."""
    prometheus, alertmanager = work / "prometheus.yml", work / "alertmanager.yml"
    prometheus.write_text(yaml.safe_dump(prometheus_config(ports), sort_keys=False), encoding="utf-8")
    alertmanager.write_text(yaml.safe_dump(alertmanager_config(ports, token_file), sort_keys=False), encoding="utf-8")
    return prometheus, alertmanager


def prometheus_argv(binaries: Binaries, config: Path, data: Path, port: int) -> list[str]:
    return [
        binaries.prometheus,
        f"--config.file={config}",
        f"--storage.tsdb.path={data}",
        f"--storage.tsdb.retention.time={RETENTION}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]


def alertmanager_argv(binaries: Binaries, config: Path, data: Path, port: int) -> list[str]:
    return [
        binaries.alertmanager,
        f"--config.file={config}",
        f"--storage.path={data}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",  # one Alertmanager: no gossip port
        "--log.level=warn",
    ]


def backfilled_months(prometheus_url: str, la_code: str) -> int:
    """How many months of referrals the backfill gave Prometheus for the council (scraped series have a job)."""
    query = f'count_over_time(frontdoor_monthly_count{{la_code="{la_code}", measure="referrals", job=""}}[20y])'
    url = f"{prometheus_url}/api/v1/query?{urllib.parse.urlencode({'query': query})}"
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310  # our own http://127.0.0.1 URL
        result = json.loads(response.read())["data"]["result"]
    return int(float(result[0]["value"][1])) if result else 0
