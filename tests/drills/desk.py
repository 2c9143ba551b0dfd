"""The alert desk in a drill: a real desk on the cluster, a duty manager acknowledging and closing alerts over HTTP,
and a count of every decision and audit record the desk confirmed, to look for on the topics afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.kafka_cluster import Cluster
from bench.processor.harness import Names, read_topic
from schemas.audit import AuditRecord
from schemas.topics import ALERT_ACTIONS, AUDIT, IDENTITY
from services.alertdesk.actions import decode_action
from services.alertdesk.audit import AuditSink
from services.alertdesk.service import RunningDesk, run_desk
from services.alertdesk.settings import AlertDeskSettings
from services.kafka.topics import ensure_topics, plan_topic
from tests.unit.alertdesk.desk_builders import PASSWORD, directory

DUTY_MANAGER = "dm.kent"  # a duty manager of Kent (886), one of the drill feed's two councils
REQUEST_SECONDS = 90.0  # longer than the producer's 30 s of retries: the answer, not a client timeout, is counted


async def desk_settings(cluster: Cluster, names: Names) -> AlertDeskSettings:
    """The desk over the drill worker's alerts topic, with its own actions, audit and identity topics."""
    specs = [dataclasses.replace(s, name=names.topic(s.name)) for s in (ALERT_ACTIONS, AUDIT, IDENTITY)]
    await ensure_topics(cluster.settings, [plan_topic(spec, cluster.settings) for spec in specs])
    return AlertDeskSettings(
        alerts_topic=names.processor_settings().alerts_topic,
        actions_topic=specs[0].name,
        audit_topic=specs[1].name,
        identity_topic=specs[2].name,
        totals_topic=names.processor_settings().totals_topic,
        database_url="sqlite:///:memory:",
        history_after_days=100_000,  # the simulated feed is dated 2024-25: keep every alert in the live feed
        session_secret="drill-session-secret",  # type: ignore[arg-type]  # pydantic coerces to SecretStr
        kafka_health_interval_seconds=1.0,
    )


@dataclass(slots=True)
class KeptAudit:
    """The desk's audit sink, noting the id of every record the sink confirmed kept."""

    sink: AuditSink
    kept: list[str] = field(default_factory=list)

    async def record(self, entry: AuditRecord) -> None:
        await self.sink.record(entry)
        self.kept.append(entry.audit_id)


@contextlib.asynccontextmanager
async def drill_desk(cluster: Cluster, config: AlertDeskSettings) -> AsyncIterator[tuple[RunningDesk, KeptAudit]]:
    async with run_desk(cluster.settings, config, "127.0.0.1", 0, users=directory()) as running:
        kept = KeptAudit(running.context.audit)
        running.context.audit = kept
        async with asyncio.timeout(60):
            while not running.desk.caught_up:
                await asyncio.sleep(0.05)
        yield running, kept


@dataclass(slots=True)
class DutyManager:
    """Acknowledges then closes each open Kent alert on the desk, through the web app, until told to stop."""

    running: RunningDesk
    confirmed: list[tuple[str, str]] = field(default_factory=list)  # (alert id, action type) answered 200
    refused: list[tuple[str, str, int]] = field(default_factory=list)  # answered otherwise (status)
    handled: set[str] = field(default_factory=set)
    slowest_seconds: float = 0.0

    def open_alerts(self) -> list[str]:
        rows = self.running.desk.state.db.query(
            "SELECT alert_id FROM desk_alerts WHERE la_code = '886' AND is_open = 1"
        )
        return [row[0] for row in rows if row[0] not in self.handled]

    async def work(self, stop: asyncio.Event, limit: int) -> None:
        async with signed_in(self.running) as (http, token):
            headers = {"X-CSRF-Token": token, "Accept": "application/json"}
            while not stop.is_set() and len(self.handled) < limit:
                for alert_id in self.open_alerts()[:5]:
                    self.handled.add(alert_id)
                    await self.act(http, headers, alert_id, "acknowledge", "AlertAcknowledged", {})
                    await self.act(http, headers, alert_id, "close", "AlertClosed", {"outcome": "nfa"})
                await asyncio.sleep(0.05)

    async def act(
        self, http: aiohttp.ClientSession, headers: dict[str, str], alert_id: str, path: str, kind: str, form: Any
    ) -> None:
        started = time.monotonic()
        try:
            response = await http.post(f"/alerts/{alert_id}/{path}", data=form, headers=headers)
            status = response.status
        except (aiohttp.ClientError, TimeoutError):
            status = 0
        self.slowest_seconds = max(self.slowest_seconds, time.monotonic() - started)
        if status == 200:
            self.confirmed.append((alert_id, kind))
        else:
            self.refused.append((alert_id, kind, status))


@contextlib.asynccontextmanager
async def signed_in(running: RunningDesk) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=running.url)
    timeout = aiohttp.ClientTimeout(total=REQUEST_SECONDS)
    async with aiohttp.ClientSession(running.url, cookie_jar=jar, timeout=timeout) as http:
        form = await (await http.get("/login")).text()
        nonce = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert nonce
        feed = await http.post("/login", data={"username": DUTY_MANAGER, "password": PASSWORD, "csrf_token": nonce[1]})
        token = re.search(r'<meta name="csrf-token" content="([^"]+)"', await feed.text())
        assert feed.status == 200 and token
        yield http, token[1]


async def decisions_on_topic(cluster: Cluster, config: AlertDeskSettings) -> set[tuple[str, str]]:
    records = await read_topic(cluster.settings, config.actions_topic, timeout=60)
    return {(action.alert_id, action.type) for action in (decode_action(r.value or b"") for r in records)}


async def audit_on_topic(cluster: Cluster, config: AlertDeskSettings) -> list[str]:
    return [json.loads(r.value or b"{}")["audit_id"] for r in await read_topic(cluster.settings, config.audit_topic)]
