"""The alert desk against the real broker: state rebuilt from the topics, actions and audit records on their topics."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.kafka_principals import principal_settings
from schemas.audit import ChildLevelDataViewed
from schemas.codec import encode
from schemas.topics import ALERT_ACTIONS, ALERTS, AUDIT, EVENTS, IDENTITY
from services.alertdesk.actions import decode_action
from services.alertdesk.service import RunningDesk, run_desk
from services.alertdesk.settings import AlertDeskSettings
from services.kafka.clients import consumer_kwargs, producer_kwargs
from services.settings import Settings
from tests.builders import make_referral, pseudonym
from tests.integration.conftest import TestTopics
from tests.unit.alertdesk.desk_builders import PASSWORD, directory, make_rereferral, withdrawn

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(120)]


async def desk_settings(topics: TestTopics, *, timeline: bool = False) -> AlertDeskSettings:
    """Private alerts, actions and audit topics, made up front: the desk's principal may not create topics.

    With `timeline`, an events topic too (the desk principal then needs READ on it on the secured broker).
    """
    return AlertDeskSettings(
        alerts_topic=await topics.create_like(ALERTS),
        actions_topic=await topics.create_like(ALERT_ACTIONS),
        audit_topic=await topics.create_like(AUDIT),
        events_topic=await topics.create_like(EVENTS) if timeline else "",
        identity_topic=await topics.create_like(IDENTITY),
        totals_topic="",  # no partner portal figures here (the worker's totals: test_processor_series_live_...)
        database_url="sqlite:///:memory:",  # rebuilt from the topics at every start, as these tests expect
        history_after_days=100_000,  # the builders' alerts are dated 2024: keep them in the live feed
        session_secret="integration-test-secret",  # type: ignore[arg-type]  # pydantic coerces to SecretStr
    )


@contextlib.asynccontextmanager
async def desk(config: AlertDeskSettings) -> AsyncIterator[RunningDesk]:
    """The desk as its own Kafka principal on the secured broker (bench/kafka_principals.py)."""
    async with run_desk(principal_settings("desk"), config, "127.0.0.1", 0, users=directory()) as running:
        async with asyncio.timeout(30):
            while not running.desk.caught_up:
                await asyncio.sleep(0.05)
        yield running


@contextlib.asynccontextmanager
async def signed_in(
    running: RunningDesk, username: str = "dm.kent"
) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    """A session signed in through the login form; yields it and its CSRF token."""
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=running.url)
    async with aiohttp.ClientSession(running.url, cookie_jar=jar, timeout=aiohttp.ClientTimeout(total=10)) as http:
        form = await (await http.get("/login")).text()
        nonce = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert nonce
        feed = await http.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": nonce[1]})
        token = re.search(r'<meta name="csrf-token" content="([^"]+)"', await feed.text())
        assert feed.status == 200 and token
        yield http, token[1]


async def until(condition: Callable[[], bool], timeout_seconds: float = 10.0) -> None:
    async with asyncio.timeout(timeout_seconds):
        while not condition():
            await asyncio.sleep(0.02)


async def produce(settings: Settings, topic: str, *messages: Any) -> None:
    producer = AIOKafkaProducer(**producer_kwargs(settings))
    await producer.start()
    try:
        for message in messages:
            await producer.send_and_wait(topic, encode(message), key=message.child_key.encode())
    finally:
        await producer.stop()


async def read_all(settings: Settings, topic: str, count: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(topic, **consumer_kwargs(settings, group_id=None))
    await consumer.start()
    values: list[bytes] = []
    try:
        async with asyncio.timeout(20):
            while len(values) < count:
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    values += [m.value for m in batch if m.value is not None]
    finally:
        await consumer.stop()
    return values


async def test_the_desk_rebuilds_alerts_and_actions_from_the_topics_after_a_restart(topics: TestTopics) -> None:
    config = await desk_settings(topics)
    kept, gone = make_rereferral(child_key=pseudonym("kept")), make_rereferral(child_key=pseudonym("gone"))
    async with desk(config) as running:
        await produce(principal_settings("worker"), config.alerts_topic, kept, gone, withdrawn(gone))
        await until(lambda: running.desk.state.seq >= 3)
        async with signed_in(running) as (http, token):
            url = f"/alerts/{kept.alert_id}/note"
            response = await http.post(url, data={"text": "Checked with police", "csrf_token": token})
            assert response.status == 200
    async with desk(config) as restarted:
        state = restarted.desk.state
        assert (gone_record := state.get("886", gone.alert_id)) and gone_record.status == "withdrawn"
        assert (kept_record := state.get("886", kept.alert_id))
        assert [n.text for n in kept_record.notes] == ["Checked with police"]


async def test_an_action_posted_on_the_desk_is_an_event_on_the_actions_topic(
    kafka_settings: Settings, topics: TestTopics
) -> None:
    config = await desk_settings(topics)
    alert = make_rereferral(child_key=pseudonym("child-a"))
    async with desk(config) as running:
        await produce(principal_settings("worker"), config.alerts_topic, alert)
        await until(lambda: running.desk.state.get("886", alert.alert_id) is not None)
        async with signed_in(running) as (http, token):
            headers = {"X-CSRF-Token": token, "Accept": "application/json"}
            assert (await http.post(f"/alerts/{alert.alert_id}/acknowledge", headers=headers)).status == 200
    (raw,) = await read_all(kafka_settings, config.actions_topic, 1)
    action = decode_action(raw)
    assert (action.type, action.alert_id, action.actor, action.la_code) == (
        "AlertAcknowledged",
        alert.alert_id,
        "dm.kent",
        "886",
    )


async def test_every_child_level_view_lands_as_an_audit_record_on_the_audit_topic(
    kafka_settings: Settings, topics: TestTopics
) -> None:
    config = await desk_settings(topics)
    alert = make_rereferral(child_key=pseudonym("child-a"))
    async with desk(config) as running:
        await produce(principal_settings("worker"), config.alerts_topic, alert)
        await until(lambda: running.desk.state.get("886", alert.alert_id) is not None)
        async with signed_in(running) as (http, _token):
            assert (await http.get(f"/alerts/{alert.alert_id}")).status == 200
    records = [
        ChildLevelDataViewed.model_validate_json(v) for v in await read_all(kafka_settings, config.audit_topic, 2)
    ]
    assert [(r.user, r.route, r.alert_ids) for r in records] == [
        ("dm.kent", "feed", (alert.alert_id,)),  # signing in lands on the feed
        ("dm.kent", "alert", (alert.alert_id,)),
    ]


def alerts_folded(running: RunningDesk) -> float:
    return sum(
        running.context.registry.get_sample_value("frontdoor_alertdesk_alert_messages_total", {"type": kind}) or 0.0
        for kind in ("RereferralDetected", "AlertWithdrawn")
    )


async def test_a_desk_on_a_database_file_resumes_from_its_stored_offsets_and_a_rebuild_replays_the_topics(
    topics: TestTopics, tmp_path: Path
) -> None:
    config = (await desk_settings(topics, timeline=True)).model_copy(
        update={"database_url": f"sqlite:///{tmp_path / 'desk.sqlite3'}"}
    )
    first, second = make_rereferral(child_key=pseudonym("first")), make_rereferral(child_key=pseudonym("second"))
    referral = make_referral(child_key=pseudonym("first"), date="2024-06-03", team="North")
    async with desk(config) as running:
        await produce(principal_settings("worker"), config.alerts_topic, first)
        await produce(principal_settings("ingest"), config.events_topic, referral)
        await until(lambda: running.desk.state.total() == 1 and running.desk.state.timeline("886", first.child_key))
    await produce(principal_settings("worker"), config.alerts_topic, second)  # while the desk is down
    async with desk(config) as restarted:
        assert restarted.desk.state.total() == 2
        assert alerts_folded(restarted) == 1, "only the message produced while it was down was read again"
        assert [x.kind for x in restarted.desk.state.timeline("886", first.child_key)] == ["ReferralOpened"]
    async with run_desk(principal_settings("desk"), config, "127.0.0.1", 0, users=directory(), rebuild=True) as rebuilt:
        await until(lambda: rebuilt.desk.caught_up)
        assert rebuilt.desk.state.total() == 2 and alerts_folded(rebuilt) == 2, "a rebuild replays both topics"


async def test_an_alert_about_an_old_referral_when_it_reaches_the_topic_goes_to_history_not_the_feed(
    topics: TestTopics,
) -> None:
    config = (await desk_settings(topics)).model_copy(update={"history_after_days": 14})
    old = make_rereferral(child_key=pseudonym("old"), referral_date="2024-06-03")  # years before the message's time
    async with desk(config) as running:
        await produce(principal_settings("worker"), config.alerts_topic, old)
        await until(lambda: running.desk.state.total() == 1)
        record = running.desk.state.get("886", old.alert_id)
        assert record is not None and record.history
        async with signed_in(running) as (http, _token):
            assert old.alert_id not in await (await http.get("/feed")).text()
            assert old.alert_id in await (await http.get("/history")).text()
