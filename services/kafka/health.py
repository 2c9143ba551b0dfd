"""Whether Kafka can take durable writes now: brokers answering, every partition led and min.insync.replicas in sync.

An acks=all producer facing too few in-sync replicas does not fail at once: it retries until its request times out.
This check says so straight away, in the log, in /metrics and in the desk's /healthz (docs/runbook.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError

from services.kafka.clients import common_kwargs
from services.kafka.topics import min_insync_replicas
from services.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ClusterHealth:
    """One look at the cluster, for the topics a service writes. Partitions are named "topic[n]"."""

    reachable: bool
    brokers: int = 0
    partitions: int = 0
    under_min_isr: tuple[str, ...] = ()  # led, but fewer replicas in sync than min.insync.replicas: writes refused
    offline: tuple[str, ...] = ()  # no leader: neither reads nor writes
    checked_at: float = 0.0

    @property
    def writable(self) -> bool:
        return self.reachable and not self.under_min_isr and not self.offline

    @property
    def status(self) -> str:
        """ "ok", "unreachable", "offline_partitions" or "under_min_isr" (the worst first)."""
        if not self.reachable:
            return "unreachable"
        if self.offline:
            return "offline_partitions"
        return "under_min_isr" if self.under_min_isr else "ok"

    def summary(self) -> str:
        if not self.reachable:
            return "no Kafka broker answers"
        parts = [f"{self.brokers} brokers, {self.partitions} partitions"]
        if self.offline:
            parts.append(f"{len(self.offline)} without a leader ({', '.join(self.offline[:3])})")
        if self.under_min_isr:
            shown = ", ".join(self.under_min_isr[:3])
            parts.append(f"{len(self.under_min_isr)} below min.insync.replicas, writes refused ({shown})")
        return "; ".join(parts)


def assess(
    brokers: int,
    topics: Iterable[Mapping[str, Any]],
    min_isr: Mapping[str, int],
    checked_at: float = 0.0,
    default_min_isr: int = 1,
) -> ClusterHealth:
    """Health from a metadata response's topics (aiokafka's describe_topics) and each topic's min.insync.replicas
    (`default_min_isr` for a topic whose configuration could not be read)."""
    partitions, under, offline = 0, [], []
    for topic in topics:
        name = topic["topic"]
        for partition in topic.get("partitions", ()):
            partitions += 1
            label = f"{name}[{partition['partition']}]"
            if partition["leader"] < 0:
                offline.append(label)
            elif len(partition["isr"]) < min_isr.get(name, default_min_isr):
                under.append(label)
    return ClusterHealth(True, brokers, partitions, tuple(sorted(under)), tuple(sorted(offline)), checked_at)


async def check_cluster(settings: Settings, topics: list[str], timeout_seconds: float = 5.0) -> ClusterHealth:
    """Ask the cluster once; a broker that does not answer within `timeout_seconds` is "unreachable"."""
    admin = AIOKafkaAdminClient(**common_kwargs(settings), request_timeout_ms=int(timeout_seconds * 1000))
    try:
        async with asyncio.timeout(timeout_seconds):
            await admin.start()
            cluster = await admin.describe_cluster()
            described = await admin.describe_topics(topics)
            resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in topics]
            responses = await admin.describe_configs(resources) if topics else []
    except (KafkaError, OSError, TimeoutError):
        return ClusterHealth(reachable=False, checked_at=time.time())
    finally:
        with contextlib.suppress(KafkaError, OSError):  # a client that never connected has nothing to free
            await admin.close()
    min_isr = {
        name: int(value)
        for response in responses
        for _error, _message, _type, name, entries in response.resources
        for key, value, *_rest in entries
        if key == "min.insync.replicas"
    }
    # A principal without DESCRIBE_CONFIGS reads no configuration: expect what `frontdoor topics create` sets.
    expected = min_insync_replicas(settings.topic_replication_factor)
    return assess(len(cluster["brokers"]), described, min_isr, time.time(), default_min_isr=expected)


@dataclass(slots=True)
class ClusterWatch:
    """Checks the cluster every `interval_seconds`; logs each change of status and tells its listeners each result."""

    settings: Settings
    topics: list[str]
    interval_seconds: float = 5.0
    listeners: list[Callable[[ClusterHealth], None]] = field(default_factory=list)
    latest: ClusterHealth = field(default_factory=lambda: ClusterHealth(reachable=True))
    failing_since: float | None = None

    async def check(self) -> ClusterHealth:
        try:
            health = await check_cluster(self.settings, self.topics, timeout_seconds=max(1.0, self.interval_seconds))
        except Exception as error:  # a surprise in the answer must not stop the service it watches over
            log.warning("Kafka health check failed (%s); keeping the last result", type(error).__name__)
            return self.latest
        if health.status != self.latest.status:
            if health.writable:
                log.warning("Kafka writable again after %.0f s: %s", self.since(health), health.summary())
            else:
                log.error("Kafka cannot take durable writes (%s): %s", health.status, health.summary())
        if health.writable:
            self.failing_since = None
        elif self.failing_since is None:
            self.failing_since = health.checked_at
        self.latest = health
        for listener in self.listeners:
            listener(health)
        return health

    def since(self, health: ClusterHealth) -> float:
        return health.checked_at - self.failing_since if self.failing_since is not None else 0.0

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.check()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval_seconds)
