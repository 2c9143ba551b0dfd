"""Notifications outside the page carry counts and a sign-in link only: never a child key, alert id or team."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator
from email import message_from_bytes
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from schemas.codes import Severity
from services.alertdesk.desk import Desk
from services.alertdesk.metrics import desk_metrics
from services.alertdesk.notify import Notifier
from services.alertdesk.settings import AlertDeskSettings
from tests.unit.alertdesk.desk_builders import make_contacts_alert, make_rereferral, make_two_referrals, revised

pytestmark = pytest.mark.timeout(30)
CHILD_KEYS = ("child-secret-one", "child-secret-two", "child-secret-three")


def desk_with_notifier(
    settings: AlertDeskSettings, *, caught_up: bool = True
) -> tuple[Desk, Notifier, CollectorRegistry]:
    registry = CollectorRegistry()
    desk = Desk(metrics=desk_metrics(registry, lambda: desk.state), caught_up=caught_up)
    notifier = Notifier(settings, desk.metrics)
    desk.new_alert_listeners.append(notifier.count)
    return desk, notifier, registry


def raise_three(desk: Desk) -> list[str]:
    alerts = [
        make_rereferral(child_key=CHILD_KEYS[0], severity=Severity.HIGH),
        make_two_referrals(child_key=CHILD_KEYS[1]),
        make_contacts_alert(child_key=CHILD_KEYS[2]),
    ]
    for alert in alerts:
        desk.fold_alert(alert)
    desk.fold_alert(revised(alerts[0], team="Changed"))  # a revision is not a new alert
    return [a.alert_id for a in alerts]


def assert_no_child_data(text: str, alert_ids: list[str]) -> None:
    for secret in [*CHILD_KEYS, *alert_ids, "Assessment Team North", "MASH"]:
        assert secret not in text


@contextlib.asynccontextmanager
async def fake_webhook() -> AsyncIterator[tuple[str, list[Any]]]:
    received: list[Any] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.Response(text="1")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/hook", received
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def fake_smtp() -> AsyncIterator[tuple[int, list[bytes]]]:
    """Just enough SMTP for smtplib to deliver one message to 127.0.0.1."""
    messages: list[bytes] = []

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 fake ESMTP\r\n")
        while line := await reader.readline():
            verb = line[:4].upper()
            if verb == b"DATA":
                writer.write(b"354 go on\r\n")
                body = b""
                while (chunk := await reader.readline()) != b".\r\n":
                    body += chunk
                messages.append(body)
                writer.write(b"250 queued\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 bye\r\n")
                break
            else:
                writer.write(b"250 ok\r\n")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(session, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], messages
    finally:
        server.close()
        await server.wait_closed()


async def test_the_webhook_message_has_counts_by_severity_and_a_login_link_and_no_child_data() -> None:
    async with fake_webhook() as (url, received):
        settings = AlertDeskSettings(webhook_url=url, public_url="https://desk.kent.example")
        desk, notifier, _ = desk_with_notifier(settings)
        ids = raise_three(desk)
        async with aiohttp.ClientSession() as http:
            for digest in notifier.drain():
                await notifier.send(digest, http)
    (payload,) = received
    assert payload == {
        "text": "3 new Front Door alerts for council 886 (1 high, 1 medium, 1 low). "
        "Sign in to the alert desk to review: https://desk.kent.example/login"
    }
    assert_no_child_data(json.dumps(payload), ids)


async def test_the_email_has_counts_and_a_login_link_and_no_child_data() -> None:
    async with fake_smtp() as (port, messages):
        settings = AlertDeskSettings(
            smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False, email_to=("mash-managers@kent.example",)
        )
        desk, notifier, _ = desk_with_notifier(settings)
        ids = raise_three(desk)
        async with aiohttp.ClientSession() as http:
            for digest in notifier.drain():
                await notifier.send(digest, http)
    (raw,) = messages
    email = message_from_bytes(raw)
    assert email["Subject"] == "3 new Front Door alerts for council 886"
    assert "http://127.0.0.1:8080/login" in email.get_payload()
    assert_no_child_data(raw.decode(), ids)


def test_rebuilding_after_a_restart_notifies_nobody_of_old_alerts() -> None:
    desk, notifier, _ = desk_with_notifier(AlertDeskSettings(webhook_url="http://127.0.0.1:1/hook"), caught_up=False)
    raise_three(desk)
    assert notifier.drain() == []


def test_the_notifier_keeps_nothing_but_council_and_severity() -> None:
    desk, notifier, _ = desk_with_notifier(AlertDeskSettings())
    raise_three(desk)
    assert dict(notifier._pending) == {("886", "high"): 1, ("886", "medium"): 1, ("886", "low"): 1}


async def test_a_failing_webhook_is_counted_and_does_not_stop_the_desk() -> None:
    settings = AlertDeskSettings(webhook_url="http://127.0.0.1:9/unreachable")
    desk, notifier, registry = desk_with_notifier(settings)
    raise_three(desk)
    async with aiohttp.ClientSession() as http:
        for digest in notifier.drain():
            await notifier.send(digest, http)
    sample = {"channel": "webhook", "outcome": "failure"}
    assert registry.get_sample_value("frontdoor_alertdesk_notifications_total", sample) == 1


def test_an_alert_that_goes_to_history_notifies_nobody() -> None:
    desk, notifier, _ = desk_with_notifier(AlertDeskSettings())
    desk.history_after_days = 14
    seen = dt.datetime(2024, 6, 5, tzinfo=dt.UTC)
    desk.fold_alert(make_rereferral(child_key=CHILD_KEYS[0], referral_date="2024-04-01"), seen)
    assert notifier.drain() == []
    desk.fold_alert(make_rereferral(child_key=CHILD_KEYS[1], referral_date="2024-06-04"), seen)
    assert [d.total for d in notifier.drain()] == [1]
