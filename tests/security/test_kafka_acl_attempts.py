"""Issue 17 item 1 replayed against a secured broker: no anonymous or mistaken clients, each service only its own.

The broker is `launcher.py up --secure` (SASL_SSL with SCRAM-SHA-512, the StandardAuthorizer, one principal per
service); see tests/security/conftest.py. The attacks are those of the issue: reading every topic without
credentials, forging a desk action or an audit record, deleting topics.
"""

from __future__ import annotations

import asyncio
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import ClusterAuthorizationFailedError, KafkaConnectionError, TopicAuthorizationFailedError
from aiokafka.structs import TopicPartition

from bench.processor.harness import WorkerProcess, keyed, offline, produce, read_topic, simulated_feed, wait_caught_up
from schemas.codec import encode
from schemas.topics import ALERT_ACTIONS, ALERTS, AUDIT, DEADLETTER, EVENTS
from services.kafka.clients import common_kwargs, consumer_kwargs, producer_kwargs
from services.kafka.topics import all_plans, ensure_topics
from services.processor.settings import APP_ID
from services.settings import Settings
from tests.security.conftest import SecureBroker

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(240)]

TOPIC_AUTHORIZATION_FAILED = 29
SERVICES = ("ingest", "worker", "desk", "receiver")
READ_SECONDS = 4.0


@pytest.fixture(scope="session")
def broker(secure_broker: SecureBroker) -> Iterator[SecureBroker]:
    """The secured broker with the project's topics, created by the admin principal as a platform team would."""
    admin = secure_broker.settings("admin")
    asyncio.run(ensure_topics(admin, all_plans(admin)))
    for spec in (EVENTS, ALERTS, DEADLETTER, ALERT_ACTIONS, AUDIT):  # something to read on every topic
        asyncio.run(send_one(admin, spec.name))
    yield secure_broker


async def start_admin(settings: Settings) -> AIOKafkaAdminClient:
    admin = AIOKafkaAdminClient(**common_kwargs(settings) | {"request_timeout_ms": 5_000})
    await admin.start()
    return admin


async def delete_topic_error(settings: Settings, topic: str) -> int:
    admin = await start_admin(settings)
    try:
        response = await admin.delete_topics([topic])
    finally:
        await admin.close()
    ((name, error_code, *_),) = response.topic_error_codes
    assert name == topic
    return int(error_code)


async def send_one(settings: Settings, topic: str) -> None:
    producer = AIOKafkaProducer(**producer_kwargs(settings) | {"request_timeout_ms": 5_000})
    try:
        await producer.start()
        await producer.send_and_wait(topic, b"forged", key=b"someone")
    finally:
        await producer.stop()


async def records_read(settings: Settings, topic: str, group: str | None = None) -> list[object]:
    """What a consumer gets from `topic` in a few seconds, subscribed the way the desk reads (no group by default).

    A topic the principal may not even describe is not an error to aiokafka: it logs and returns nothing.
    """
    consumer = AIOKafkaConsumer(**consumer_kwargs(settings, group_id=group) | {"request_timeout_ms": 5_000})
    await consumer.start()
    records: list[object] = []
    try:
        consumer.subscribe([topic])
        deadline = asyncio.get_running_loop().time() + READ_SECONDS
        while not records and asyncio.get_running_loop().time() < deadline:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(batch)
    finally:
        await consumer.stop()
    return records


# --- who may connect ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["PLAINTEXT", "SSL"])
async def test_a_client_without_credentials_is_refused(broker: SecureBroker, protocol: str) -> None:
    # SSL: a verified TLS connection with the right CA, but no SASL login.
    context = ssl.create_default_context(cafile=broker.credentials["ssl_cafile"])
    tls = {"ssl_context": context} if protocol == "SSL" else {}
    admin = AIOKafkaAdminClient(
        bootstrap_servers=broker.bootstrap, security_protocol=protocol, request_timeout_ms=3_000, **tls
    )
    with pytest.raises(KafkaConnectionError):
        await admin.start()
    await admin.close()


async def test_a_wrong_password_is_refused_and_the_right_one_is_not(broker: SecureBroker) -> None:
    wrong = broker.settings("worker", password="not-the-worker-password")
    with pytest.raises(KafkaConnectionError):
        await start_admin(wrong)

    admin = await start_admin(broker.settings("worker"))
    await admin.close()


async def test_another_services_username_with_this_services_password_is_refused(broker: SecureBroker) -> None:
    worker_password = broker.credentials["principals"]["worker"]["password"]
    with pytest.raises(KafkaConnectionError):
        await start_admin(broker.settings("desk", password=worker_password))


# --- what each principal may not do ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "topic"),
    [
        ("worker", AUDIT.name),  # a forged audit record
        ("ingest", ALERT_ACTIONS.name),  # a forged AlertClosed in a duty manager's name
        ("receiver", ALERT_ACTIONS.name),
        ("worker", ALERT_ACTIONS.name),
        ("ingest", AUDIT.name),
        ("desk", ALERTS.name),  # a forged alert
        ("ingest", ALERTS.name),
        ("desk", EVENTS.name),
    ],
)
async def test_a_service_cannot_write_a_topic_it_does_not_own(broker: SecureBroker, service: str, topic: str) -> None:
    # A principal with no WRITE anywhere (the receiver) is refused even a producer id, before any topic is named.
    with pytest.raises((TopicAuthorizationFailedError, ClusterAuthorizationFailedError)):
        await send_one(broker.settings(service), topic)


@pytest.mark.parametrize(
    ("service", "topic"),
    [
        ("ingest", ALERTS.name),
        ("ingest", AUDIT.name),
        ("receiver", EVENTS.name),
        ("receiver", ALERT_ACTIONS.name),
        ("desk", AUDIT.name),  # the desk writes the audit trail but does not read it back
        ("worker", ALERT_ACTIONS.name),
    ],
)
async def test_a_service_cannot_read_a_topic_it_does_not_need(broker: SecureBroker, service: str, topic: str) -> None:
    try:
        records = await records_read(broker.settings(service), topic)
    except TopicAuthorizationFailedError:  # raised when the principal may describe the topic but not read it
        records = []
    assert records == []


async def test_the_desk_cannot_delete_a_topic(broker: SecureBroker) -> None:
    assert await delete_topic_error(broker.settings("desk"), ALERT_ACTIONS.name) == TOPIC_AUTHORIZATION_FAILED


@pytest.mark.parametrize("service", SERVICES)
async def test_nobody_deletes_the_audit_topic(broker: SecureBroker, service: str) -> None:
    assert await delete_topic_error(broker.settings(service), AUDIT.name) == TOPIC_AUTHORIZATION_FAILED

    admin = await start_admin(broker.settings("admin"))
    try:
        assert AUDIT.name in await admin.list_topics()
    finally:
        await admin.close()


# --- what each principal does ------------------------------------------------------------------------------


async def test_the_worker_principal_consumes_events_in_its_group_and_produces_alerts(broker: SecureBroker) -> None:
    await send_one(broker.settings("ingest"), EVENTS.name)
    worker = broker.settings("worker")
    consumer = AIOKafkaConsumer(EVENTS.name, **consumer_kwargs(worker, group_id=APP_ID))
    await consumer.start()
    try:
        batches: dict[TopicPartition, list[object]] = {}
        async with asyncio.timeout(30):
            while not batches:
                batches = await consumer.getmany(timeout_ms=500)
        await consumer.commit()
    finally:
        await consumer.stop()
    await send_one(worker, ALERTS.name)
    await send_one(worker, DEADLETTER.name)


async def test_the_desk_principal_reads_alerts_and_actions_and_writes_actions_and_audit(broker: SecureBroker) -> None:
    desk = broker.settings("desk")
    await send_one(desk, ALERT_ACTIONS.name)
    await send_one(desk, AUDIT.name)
    assert await records_read(desk, ALERTS.name)
    assert await records_read(desk, ALERT_ACTIONS.name)


async def test_ingest_writes_events_and_dead_letters_and_the_receiver_reads_alerts(broker: SecureBroker) -> None:
    ingest = broker.settings("ingest")
    await send_one(ingest, EVENTS.name)
    await send_one(ingest, DEADLETTER.name)
    receiver = broker.settings("receiver")
    assert await records_read(receiver, ALERTS.name, group=f"frontdoor-receiver-{uuid.uuid4().hex[:6]}")


def test_the_production_profile_refuses_plaintext_before_connecting(broker: SecureBroker) -> None:
    settings = Settings(profile="production", bootstrap_servers=broker.bootstrap, security_protocol="PLAINTEXT")
    with pytest.raises(RuntimeError, match="refuses a PLAINTEXT Kafka connection"):
        common_kwargs(settings)


# --- the real worker, faust included, under its own principal ----------------------------------------------


@pytest.mark.slow
async def test_a_frontdoor_worker_processes_events_over_sasl_ssl_under_its_own_principal(
    broker: SecureBroker, tmp_path: Path
) -> None:
    feed = simulated_feed(("942",), annual_referrals=40, seed=5)
    reference = offline(feed)
    admin = broker.settings("admin")
    # The production profile and nothing but the worker's own credentials; default topic names and group.
    worker = WorkerProcess("secure-worker", tmp_path, broker.env("worker") | {"FRONTDOOR_PROFILE": "production"})
    worker.start()
    try:
        await produce(broker.settings("ingest"), EVENTS.name, keyed(feed, encode))
        await wait_caught_up(admin, APP_ID, EVENTS.name, [worker], timeout=120)
    finally:
        worker.stop()
    alerts = await read_topic(broker.settings("receiver"), ALERTS.name)
    ours = [record for record in alerts if record.value != b"forged"]
    assert reference.messages, "the feed must raise alerts for the test to mean anything"
    assert len(ours) >= len(reference.messages), worker.log_tail()
