"""A real Alertmanager (Debian's binary, private port) delivers to a desk started here: the deploy configuration's
webhooks with their bearer token file reach /indicators, and a wrong or missing token gets 401.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from pydantic import SecretStr

from services.alertdesk.app import create_app
from services.alertdesk.service import serve_app
from services.alertdesk.settings import AlertDeskSettings
from tests.unit.alertdesk.desk_builders import Harness, sign_in

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
TOKEN = "alertmanager-to-desk-token-0123456789abcdef"


def alertmanager_binary() -> str:
    executable = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if executable is None:
        message = "Alertmanager is not on PATH: apt-get install prometheus-alertmanager"
        if os.environ.get("AMTOOL_REQUIRED") == "1":
            pytest.fail(f"AMTOOL_REQUIRED=1 but {message}")
        pytest.skip(message)
    return executable


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _fast(route: dict[str, Any]) -> None:
    """Deliver within a second, at any hour: the routes and receivers stay the deploy file's own."""
    route.update(group_wait="0s", group_interval="1s", repeat_interval="1h")
    route.pop("active_time_intervals", None)
    route.pop("mute_time_intervals", None)
    for child in route.get("routes", []):
        _fast(child)


def alertmanager_config(desk_url: str, token_file: Path, wrong_token_file: Path) -> dict[str, Any]:
    """deploy/alertmanager/alertmanager.yml pointed at `desk_url`, plus one receiver that presents a wrong token."""
    config: dict[str, Any] = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    for receiver in config["receivers"]:
        for hook in receiver["webhook_configs"]:
            assert hook["http_config"]["authorization"]["credentials_file"] == "/run/secrets/alertdesk-token"
            hook["url"] = hook["url"].replace("http://alertdesk:8080", desk_url)
            hook["http_config"]["authorization"]["credentials_file"] = str(token_file)
    wrong = {
        "url": f"{desk_url}/hooks/alertmanager",
        "http_config": {"authorization": {"credentials_file": str(wrong_token_file)}},
    }
    config["receivers"].append({"name": "wrong-token", "webhook_configs": [wrong]})
    config["route"]["routes"].insert(0, {"receiver": "wrong-token", "matchers": ['frontdoor_test="wrong-token"']})
    _fast(config["route"])
    return config


@contextlib.asynccontextmanager
async def run_alertmanager(config: dict[str, Any], tmp_path: Path) -> AsyncIterator[str]:
    port = free_port()
    config_path = tmp_path / "alertmanager.yml"
    config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
    log_path = tmp_path / "alertmanager.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                alertmanager_binary(),
                f"--config.file={config_path}",
                f"--storage.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",  # no gossip port: nothing but the API on this machine
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            async with asyncio.timeout(30):
                while True:
                    assert process.poll() is None, log_path.read_text()
                    with contextlib.suppress(aiohttp.ClientError):
                        if (await http.get(f"{url}/-/ready")).status == 200:
                            break
                    await asyncio.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def post_alerts(alertmanager: str, *alerts: dict[str, Any]) -> None:
    async with aiohttp.ClientSession() as http:
        response = await http.post(f"{alertmanager}/api/v2/alerts", json=list(alerts))
        assert response.status == 200, await response.text()


async def until(condition: Callable[[], bool], timeout_seconds: float = 30.0) -> None:
    async with asyncio.timeout(timeout_seconds):
        while not condition():
            await asyncio.sleep(0.1)


async def test_a_real_alertmanager_delivers_to_the_desk_with_its_token_and_a_wrong_token_gets_401(
    tmp_path: Path,
) -> None:
    token_file, wrong_token_file = tmp_path / "token", tmp_path / "wrong-token"
    token_file.write_text(TOKEN + "\n")  # Alertmanager trims the file's trailing newline
    wrong_token_file.write_text("not-the-desks-token")
    harness = Harness(settings=AlertDeskSettings(cookie_secure=False, alertmanager_token=SecretStr(TOKEN)))
    context, registry = harness.context, harness.registry
    app = create_app(context)

    def deliveries(outcome: str) -> float:
        value = registry.get_sample_value("frontdoor_alertdesk_alertmanager_deliveries_total", {"outcome": outcome})
        return value or 0.0

    async with serve_app(app, harness.settings, "127.0.0.1", 0) as desk_port:
        desk_url = f"http://127.0.0.1:{desk_port}"
        config = alertmanager_config(desk_url, token_file, wrong_token_file)
        async with run_alertmanager(config, tmp_path) as alertmanager:
            starts = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
            worker_down = {
                "labels": {"alertname": "FrontdoorWorkerDown", "team": "platform", "severity": "critical", "job": "w"},
                "annotations": {"summary": "A frontdoor worker is down"},
                "startsAt": starts.isoformat(),
            }
            above_target = {
                "labels": {"alertname": "FrontdoorRereferralAboveTarget", "team": "performance", "la_code": "886"},
                "annotations": {"summary": "Re-referrals above target"},
                "startsAt": starts.isoformat(),
            }
            forged = {"labels": {"alertname": "ForgedByWrongToken", "frontdoor_test": "wrong-token"}}
            await post_alerts(alertmanager, worker_down, above_target, forged)

            def names() -> dict[str, str]:
                return {a.name: a.status for a in context.indicator_alerts.alerts.values()}

            await until(lambda: {"FrontdoorWorkerDown", "FrontdoorRereferralAboveTarget"} <= names().keys())
            await until(lambda: deliveries("unauthorized") >= 1)
            assert "ForgedByWrongToken" not in names()

            jar = aiohttp.CookieJar(unsafe=True)
            async with aiohttp.ClientSession(desk_url, cookie_jar=jar) as http:
                missing = await http.post("/hooks/alertmanager", json={"version": "4", "alerts": []})
                assert missing.status == 401
                signed = await sign_in(http, "perf.kent")  # type: ignore[arg-type]  # same interface as TestClient
                assert signed.status == 200
                page = await (await http.get("/indicators")).text()
            assert "FrontdoorWorkerDown" in page and "Re-referrals above target" in page

            await post_alerts(alertmanager, worker_down | {"endsAt": dt.datetime.now(dt.UTC).isoformat()})
            await until(lambda: names()["FrontdoorWorkerDown"] == "resolved")
    assert deliveries("accepted") >= 2
