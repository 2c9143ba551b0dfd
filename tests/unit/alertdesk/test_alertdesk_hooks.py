"""Alertmanager's webhook: a bearer token, version 4 payloads, and /indicators for heads of service and performance."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import pytest
from pydantic import SecretStr

from services.alertdesk.auth import LocalUser, User, UserDirectory, hash_password
from services.alertdesk.indicators import IndicatorAlerts, WebhookPayload
from services.alertdesk.settings import AlertDeskSettings
from tests.unit.alertdesk.desk_builders import NOW, PASSWORD, Harness, browser

pytestmark = pytest.mark.timeout(30)
TOKEN = "a-long-random-token-for-alertmanager-0123456789"
STAFF = {
    "hos.kent": User("hos.kent", "head_of_service", "886"),
    "perf.kent": User("perf.kent", "performance", "886"),
    "dm.kent": User("dm.kent", "duty_manager", "886"),
    "police.kent": User("police.kent", "partner", "886", agency="police"),
}


@functools.cache
def _hash() -> str:
    return hash_password(PASSWORD)


def desk(token: str | None = TOKEN) -> Harness:
    settings = AlertDeskSettings(cookie_secure=True, alertmanager_token=SecretStr(token) if token else None)
    return Harness(settings=settings, users=UserDirectory({n: LocalUser(u, _hash()) for n, u in STAFF.items()}))


def webhook_alert(name: str, *, status: str = "firing", fingerprint: str = "f1", **labels: str) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": name, "severity": "warning", **labels},
        "annotations": {"summary": f"{name} summary"},
        "startsAt": "2024-06-05T08:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2024-06-05T09:00:00Z",
        "generatorURL": "http://prometheus/graph",
        "fingerprint": fingerprint,
    }


def payload(*alerts: dict[str, Any]) -> dict[str, Any]:
    status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    return {
        "version": "4", "groupKey": "{}:{}", "truncatedAlerts": 0, "status": status, "receiver": "alertdesk",
        "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am",
        "alerts": list(alerts),
    }  # fmt: skip


async def test_a_delivery_without_the_bearer_token_or_with_a_wrong_one_is_refused_with_401() -> None:
    harness = desk()
    body = payload(webhook_alert("FrontdoorWorkerDown", team="platform"))
    async with browser(harness) as client:
        statuses = [
            (await client.post("/hooks/alertmanager", json=body)).status,
            (await client.post("/hooks/alertmanager", json=body, headers={"Authorization": "Bearer wrong"})).status,
            (await client.post("/hooks/alertmanager", json=body, headers={"Authorization": TOKEN})).status,
        ]

    assert statuses == [401, 401, 401]
    assert harness.context.indicator_alerts.alerts == {}


async def test_with_no_token_configured_every_delivery_is_refused() -> None:
    harness = desk(token=None)
    async with browser(harness) as client:
        response = await client.post("/hooks/alertmanager", json=payload(webhook_alert("X")), headers=bearer(""))

    assert response.status == 401


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_delivery_with_the_token_needs_no_session_or_csrf_and_is_kept_by_fingerprint() -> None:
    harness = desk()
    async with browser(harness) as client:
        response = await client.post(
            "/hooks/alertmanager", json=payload(webhook_alert("FrontdoorRereferralAboveTarget", la_code="886")),
            headers=bearer(),
        )  # fmt: skip
        assert (response.status, await response.json()) == (200, {"received": 1})

    (kept,) = harness.context.indicator_alerts.alerts.values()
    assert (kept.name, kept.status, kept.la_code, kept.summary) == (
        "FrontdoorRereferralAboveTarget", "firing", "886", "FrontdoorRereferralAboveTarget summary",
    )  # fmt: skip
    assert kept.ends_at is None


async def test_a_body_that_is_not_a_version_4_payload_is_refused_with_400() -> None:
    harness = desk()
    async with browser(harness) as client:
        bad = [{"version": "3", "alerts": []}, {"alerts": "x"}, "not json"]
        statuses = [(await client.post("/hooks/alertmanager", json=b, headers=bearer())).status for b in bad]

    assert statuses == [400, 400, 400]


def test_a_resolved_delivery_replaces_the_firing_state_and_the_store_keeps_only_the_newest_alerts() -> None:
    store = IndicatorAlerts(capacity=10)
    store.receive(WebhookPayload.model_validate(payload(webhook_alert("A", fingerprint="a"))), NOW)
    store.receive(WebhookPayload.model_validate(payload(webhook_alert("A", status="resolved", fingerprint="a"))), NOW)
    assert [a.status for a in store.alerts.values()] == ["resolved"]

    for i in range(25):
        later = NOW + dt.timedelta(minutes=i)
        store.receive(WebhookPayload.model_validate(payload(webhook_alert(f"B{i}", fingerprint=f"b{i}"))), later)
    assert len(store.alerts) == 10
    assert [a.name for a in store.visible_to("886")][:2] == ["B24", "B23"]


@pytest.mark.parametrize("username", ["hos.kent", "perf.kent"])
async def test_heads_of_service_and_performance_see_their_councils_and_the_platforms_alerts(username: str) -> None:
    harness = desk()
    body = payload(
        webhook_alert("FrontdoorWorkerDown", fingerprint="p", team="platform"),
        webhook_alert("FrontdoorRereferralAboveTarget", fingerprint="k", la_code="886"),
        webhook_alert("FrontdoorRereferralAboveTargetTwoQuarters", fingerprint="o", la_code="353"),
    )
    async with browser(harness, username) as client:
        assert (await client.post("/hooks/alertmanager", json=body, headers=bearer())).status == 200
        page = await (await client.get("/indicators")).text()

    assert "FrontdoorWorkerDown" in page and ">FrontdoorRereferralAboveTarget<" in page
    assert '<a href="/indicators" aria-current=page>Indicators</a>' in page
    assert "FrontdoorRereferralAboveTargetTwoQuarters" not in page  # another council's indicator


@pytest.mark.parametrize("username", ["police.kent", "dm.kent"])
async def test_partners_and_duty_managers_are_refused_the_indicators_page(username: str) -> None:
    async with browser(desk(), username) as client:
        assert (await client.get("/indicators")).status == 403
        assert 'href="/indicators"' not in await (await client.get("/aggregates")).text()


async def test_label_and_annotation_values_are_escaped_on_the_page() -> None:
    harness = desk()
    alert = webhook_alert("<script>x</script>", la_code="886")
    alert["annotations"]["summary"] = '"><img src=x>'
    async with browser(harness, "perf.kent") as client:
        await client.post("/hooks/alertmanager", json=payload(alert), headers=bearer())
        page = await (await client.get("/indicators")).text()

    assert "<script>x</script>" not in page and "<img src=x>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page


async def test_a_full_delivery_of_fifty_alerts_fits_the_desks_request_limit() -> None:
    harness = desk()
    alerts = []
    for i in range(50):  # max_alerts in deploy/alertmanager/alertmanager.yml
        alert = webhook_alert("FrontdoorRereferralAboveTarget", fingerprint=f"{i:016x}", la_code="886")
        alert["generatorURL"] = "http://prometheus:9090/graph?g0.expr=" + "x" * 400
        alert["annotations"]["description"] = "d" * 200
        alerts.append(alert)
    async with browser(harness) as client:
        response = await client.post("/hooks/alertmanager", json=payload(*alerts), headers=bearer())

    assert response.status == 200
    assert len(harness.context.indicator_alerts.alerts) == 50
