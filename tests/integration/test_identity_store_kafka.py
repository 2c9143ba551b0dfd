"""The identity store on the real broker: ingest seals council ids, the desk reveals them audited, erasure removes them.

Then every topic, the desk's log and its metrics are scanned: a plain child id appears nowhere, not even in the
identity topic, whose values are sealed.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import datetime as dt
import logging
import re
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pydantic import SecretStr

from bench.kafka_principals import principal_env
from schemas.codec import encode
from schemas.topics import ALERT_ACTIONS, ALERTS, AUDIT, EVENTS, IDENTITY
from services.alertdesk.service import RunningDesk, run_desk
from services.alertdesk.settings import AlertDeskSettings
from services.cli import main as frontdoor
from services.identity.sealing import Keyring
from services.identity.store import publish_identities
from services.ingest.identity import Pseudonymiser
from services.ingest.tabular import ColumnMapping, read_csv
from services.kafka.clients import consumer_kwargs, producer_kwargs
from services.kafka.publish import EventPublisher
from services.settings import Settings
from tests.integration.conftest import TestTopics
from tests.unit.alertdesk.desk_builders import PASSWORD, directory, make_rereferral

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(120)]
NOW = dt.datetime(2024, 6, 5, 9, 30, tzinfo=dt.UTC)


@contextlib.asynccontextmanager
async def desk(settings: Settings, config: AlertDeskSettings) -> AsyncIterator[RunningDesk]:
    async with run_desk(settings, config, "127.0.0.1", 0, users=directory()) as running:
        await until(lambda: running.desk.caught_up and running.context.identity.caught_up, 30)
        yield running


@contextlib.asynccontextmanager
async def signed_in(running: RunningDesk, username: str) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    """A session signed in through the login form; yields it and a CSRF token from a page every role may open."""
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=running.url)
    async with aiohttp.ClientSession(running.url, cookie_jar=jar, timeout=aiohttp.ClientTimeout(total=10)) as http:
        nonce = re.search(r'name="csrf_token" value="([^"]+)"', await (await http.get("/login")).text())
        assert nonce
        await http.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": nonce[1]})
        page = await (await http.get("/aggregates", headers={"Accept": "text/html"})).text()
        token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
        assert token, page[:200]
        yield http, token[1]


async def until(condition: Callable[[], bool], timeout_seconds: float = 10.0) -> None:
    async with asyncio.timeout(timeout_seconds):
        while not condition():
            await asyncio.sleep(0.02)


def council_extract(tmp_path: Path, child_ids: list[str]) -> Path:
    """A council's CSV extract: two referrals per child, the council's own ids in `child_id`."""
    path = tmp_path / "extract.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["type", "child_id", "referral_id", "referral_date", "source"])
        writer.writeheader()
        for n, child_id in enumerate(child_ids):
            for m, date in enumerate(("2024-01-10", "2024-05-20")):
                row = {"child_id": child_id, "referral_id": f"R{n}-{m}", "referral_date": date, "source": "6"}
                writer.writerow({"type": "ReferralOpened"} | row)
    return path


async def read_topic(settings: Settings, topic: str) -> list[tuple[bytes | None, bytes | None]]:
    """Every message of a topic, as (key, value), tombstones included."""
    consumer = AIOKafkaConsumer(topic, **consumer_kwargs(settings, group_id=None))
    await consumer.start()
    messages: list[tuple[bytes | None, bytes | None]] = []
    try:
        await until(lambda: bool(consumer.assignment()), 10)
        ends = await consumer.end_offsets(list(consumer.assignment()))
        async with asyncio.timeout(20):
            while any([await consumer.position(tp) < end for tp, end in ends.items()]):
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    messages += [(m.key, m.value) for m in batch]
    finally:
        await consumer.stop()
    return messages


async def test_ingest_seals_ids_the_desk_reveals_them_audited_erasure_removes_them_and_no_plain_id_leaks(
    kafka_settings: Settings,
    service_settings: Callable[[str], Settings],
    topics: TestTopics,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    pseudonym_key, identity_key = secrets.token_hex(32), secrets.token_hex(32)
    keys = {"pseudonym_key": SecretStr(pseudonym_key), "identity_key": SecretStr(identity_key)}
    # Test setup and reading results back as `kafka_settings` (the admin on the secured CI broker); ingest, the
    # desk and the alerts sent to the desk each as their own principal (bench/kafka_principals.py).
    settings = kafka_settings.model_copy(update=keys)
    ingest = service_settings("ingest").model_copy(update=keys)
    desk_kafka = service_settings("desk").model_copy(update=keys)
    # Every topic up front, named after the production ones (so their ACLs hold): the desk may not create topics.
    identity_topic = await topics.create_like(IDENTITY)  # compacted, as `topics create` makes it
    events_topic = await topics.create_like(EVENTS)
    kept_id, erased_id = f"KENT{uuid.uuid4().hex[:10].upper()}", f"KENT{uuid.uuid4().hex[:10].upper()}"
    config = AlertDeskSettings(
        alerts_topic=await topics.create_like(ALERTS),
        actions_topic=await topics.create_like(ALERT_ACTIONS),
        audit_topic=await topics.create_like(AUDIT),
        identity_topic=identity_topic,
        totals_topic="",
        session_secret=SecretStr("integration-test-secret"),
        case_record_url_template="https://lcs.example/child/{la_child_id}",
        # The desk's own read model and timeline source where it has them (unknown settings are ignored).
        database_url="sqlite:///:memory:",
        events_topic=events_topic,
    )

    # Ingest: the council's extract to pseudonymised events, and the sealed mapping to the identity store.
    pseudonymiser = Pseudonymiser(pseudonym_key.encode(), keep_identities=True)
    result = read_csv(council_extract(tmp_path, [kept_id, erased_id]), ColumnMapping(), "886", pseudonymiser)
    assert len(result.events) == 4 and not result.rejected
    assert pseudonymiser.identities is not None
    kept_key, erased_key = (pseudonymiser.pseudonymise_child("886", raw).pseudonym for raw in (kept_id, erased_id))
    producer = AIOKafkaProducer(**producer_kwargs(ingest))
    await producer.start()
    try:
        await EventPublisher(producer, topic=events_topic).send_batch(result.events)
    finally:
        await producer.stop()
    keyring = Keyring.from_secrets(settings.identity_key, settings.identity_keys)
    assert await publish_identities(ingest, keyring, pseudonymiser.identities, config.identity_topic, NOW) == 2

    async with desk(desk_kafka, config) as running:
        alert = make_rereferral(child_key=kept_key)
        producer = AIOKafkaProducer(**producer_kwargs(service_settings("worker")))  # alerts are the worker's
        await producer.start()
        try:
            await producer.send_and_wait(config.alerts_topic, encode(alert), key=kept_key.encode())
        finally:
            await producer.stop()
        vault = running.context.identity
        await until(lambda: len(vault.sealed) == 2)

        async with signed_in(running, "dm.kent") as (http, token):
            revealed = await http.post(f"/children/{kept_key}/reveal", headers={"X-CSRF-Token": token})
            assert (revealed.status, await revealed.json()) == (200, {"la_child_id": kept_id})
            case = await http.get(f"/children/{kept_key}/case", allow_redirects=False)
            assert (case.status, case.headers["Location"]) == (303, f"https://lcs.example/child/{kept_id}")
            metrics = await (await http.get("/metrics")).text()
        async with signed_in(running, "perf.kent") as (http, token):
            refused = await http.post(f"/children/{kept_key}/reveal", headers={"X-CSRF-Token": token})
            assert refused.status == 403

        # Erasure with the real command, as the council would run it: the desk drops the child at once.
        monkeypatch.setenv("FRONTDOOR_PSEUDONYM_KEY", pseudonym_key)
        monkeypatch.setenv("FRONTDOOR_PROFILE", "dev")
        monkeypatch.setenv("FRONTDOOR_BOOTSTRAP_SERVERS", settings.bootstrap_servers)
        for variable, value in principal_env("ingest").items():  # the command as the ingest principal
            monkeypatch.setenv(variable, value)
        command = ["identity", "erase", "--la-code", "886", "--child-id", erased_id, "--topic", config.identity_topic]
        assert await asyncio.to_thread(frontdoor, command) == 0
        await until(lambda: erased_key not in vault.sealed)
        async with signed_in(running, "dm.kent") as (http, token):
            gone = await http.post(f"/children/{erased_key}/reveal", headers={"X-CSRF-Token": token})
            assert gone.status == 403

    audit = [value for _, value in await read_topic(settings, config.audit_topic) if value]
    reveals = [v for v in audit if b'"ChildIdentityRevealed"' in v]
    assert len(reveals) == 2 and all(kept_key.encode() in v for v in reveals)
    identity_messages = await read_topic(settings, config.identity_topic)
    assert (erased_key.encode(), None) in identity_messages  # the tombstone compaction will keep, then drop
    scanned = {
        "desk log": caplog.text.encode(),
        "desk metrics": metrics.encode(),
        "audit topic": b"\n".join(audit),
        "identity topic": b"\n".join(v for _, v in identity_messages if v),
    }
    for topic in (events_topic, config.alerts_topic, config.actions_topic):
        scanned[topic] = b"\n".join((k or b"") + (v or b"") for k, v in await read_topic(settings, topic))
    assert len(scanned[events_topic]) > 0 and len(scanned["identity topic"]) > 0
    for where, content in scanned.items():
        for raw in (kept_id, erased_id):
            assert raw.encode() not in content, f"the plain child id {raw} appears in the {where}"
