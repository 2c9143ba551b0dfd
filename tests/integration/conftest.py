"""Integration fixtures: broker settings from the environment, one reachability check, per-test topics.

Tests marked `kafka` are skipped when no broker answers, unless KAFKA_REQUIRED=1 (as `make test` sets),
in which case they fail: a CI run that silently skipped every broker test would prove nothing.

On the secured CI broker (`make test`), `kafka_settings` is the admin principal (SASL_SSL), for setting topics up
and reading results back; a service the test runs connects as its own principal (`service_settings`, and
`WorkerProcess` by itself), on topics named after the production ones (`TestTopics.create_like`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from bench.kafka_principals import principal_settings
from schemas.topics import TopicSpec
from services.kafka.clients import common_kwargs
from services.kafka.reachability import broker_answers
from services.kafka.topics import TopicPlan, ensure_topics, plan_topic
from services.settings import Settings

REACHABILITY_TIMEOUT_SECONDS = 5.0
_REACHABLE = pytest.StashKey[bool]()


def settings_from_env() -> Settings:
    """FRONTDOOR_* from the environment (FRONTDOOR_BOOTSTRAP_SERVERS defaults to 127.0.0.1:9092), dev profile.

    `make test` puts the admin principal's SASL_SSL settings there; a PLAINTEXT dev broker needs none.
    """
    return Settings(profile="dev")


def broker_reachable(config: pytest.Config) -> bool:
    """Asked once per session; every later kafka test reuses the answer."""
    if _REACHABLE not in config.stash:
        config.stash[_REACHABLE] = asyncio.run(broker_answers(settings_from_env(), REACHABILITY_TIMEOUT_SECONDS))
    return config.stash[_REACHABLE]


@pytest.hookimpl(tryfirst=True)  # before fixtures, which would otherwise try to reach the broker
def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("kafka") is None or broker_reachable(item.config):
        return
    bootstrap = settings_from_env().bootstrap_servers
    if os.environ.get("KAFKA_REQUIRED") == "1":
        pytest.fail(
            f"KAFKA_REQUIRED=1 but no Kafka broker answers at {bootstrap}. "
            "Start one with `make kafka-up` (or run `make test`, which starts it)",
            pytrace=False,
        )
    pytest.skip(f"Kafka broker not reachable at {bootstrap} — start it with `make kafka-up`")


@pytest.fixture(scope="session")
def kafka_settings() -> Settings:
    return settings_from_env()


@pytest.fixture(scope="session")
def service_settings() -> Callable[[str], Settings]:
    """Settings for a service the test runs ("ingest", "worker", "desk", "receiver"), as its own principal."""
    return principal_settings


@dataclass(frozen=True, slots=True)
class TopicDescription:
    """A topic as the broker reports it."""

    partitions: int
    configs: dict[str, str]


@dataclass(slots=True)
class TestTopics:
    """Unique topic names for one test, created through ensure_topics and deleted when the test ends."""

    __test__ = False  # not a test class, despite the name

    settings: Settings
    test_name: str
    created: list[str] = field(default_factory=list)

    def unique_name(self, purpose: str) -> str:
        name = f"it.{purpose}.{self.suffix()}"
        self.created.append(name)
        return name

    def suffix(self) -> str:
        slug = re.sub(r"[^a-zA-Z0-9]+", "-", self.test_name.removeprefix("test_"))[:60].strip("-")
        return f"{slug}.{uuid.uuid4().hex[:10]}"

    async def create_like(self, spec: TopicSpec) -> str:
        """A private copy of a production topic, named "<production name>.<test>.<random>" so that a service's
        production ACLs hold for it on the secured broker; created (by the admin) with the production configs."""
        name = f"{spec.name}.{self.suffix()}"
        self.created.append(name)
        assert await ensure_topics(self.settings, [plan_topic(dataclasses.replace(spec, name=name), self.settings)])
        return name

    async def create(self, purpose: str, *, partitions: int = 6, cleanup_policy: str = "delete") -> TopicPlan:
        plan = TopicPlan(self.unique_name(purpose), partitions, 1, {"cleanup.policy": cleanup_policy})
        assert await ensure_topics(self.settings, [plan]) == [plan.name]
        return plan

    def delete_later(self, name: str) -> None:
        """Also delete a topic someone else created for this test (e.g. a faust changelog)."""
        self.created.append(name)

    async def describe(self, name: str) -> TopicDescription:
        admin = AIOKafkaAdminClient(**common_kwargs(self.settings))
        await admin.start()
        try:
            (topic,) = await admin.describe_topics([name])
            (response,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
        finally:
            await admin.close()
        assert topic["error_code"] == 0, f"topic {name} not found: {topic}"
        ((error_code, error_message, _type, _name, entries),) = response.resources
        assert error_code == 0, error_message
        return TopicDescription(len(topic["partitions"]), {entry[0]: entry[1] for entry in entries})

    async def delete_all(self) -> None:
        admin = AIOKafkaAdminClient(**common_kwargs(self.settings))
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            doomed = [name for name in self.created if name in existing]
            if doomed:
                await admin.delete_topics(doomed)
        finally:
            await admin.close()


@pytest.fixture
async def topics(kafka_settings: Settings, request: pytest.FixtureRequest) -> AsyncIterator[TestTopics]:
    test_topics = TestTopics(kafka_settings, request.node.name)
    yield test_topics
    await test_topics.delete_all()
