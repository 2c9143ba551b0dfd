"""Explicit topic creation: partitions, replication and cleanup policy come from the topic table and Settings."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.partitioner import murmur2

from schemas.topics import ALL_TOPICS, TopicSpec
from services.kafka.clients import common_kwargs
from services.settings import Settings


@dataclass(frozen=True, slots=True)
class TopicPlan:
    """One topic as it will be created on the broker."""

    name: str
    partitions: int
    replication_factor: int
    configs: dict[str, str]


def min_insync_replicas(replication: int) -> int:
    """In-sync replicas a write needs: all but one (a broker may be down), and at least one."""
    return max(1, replication - 1)


def plan_topic(spec: TopicSpec, settings: Settings) -> TopicPlan:
    configs: dict[str, str] = {"cleanup.policy": spec.cleanup_policy}
    if spec.retention_ms is not None:
        configs["retention.ms"] = str(spec.retention_ms)
    if spec.segment_ms is not None:
        configs["segment.ms"] = str(spec.segment_ms)
    if settings.topic_replication_factor > 1:
        configs["min.insync.replicas"] = str(min_insync_replicas(settings.topic_replication_factor))
    return TopicPlan(spec.name, settings.topic_partitions, settings.topic_replication_factor, configs)


def changelog_plan(name: str, settings: Settings) -> TopicPlan:
    """A faust table changelog: compact only (never delete), and co-partitioned with the source topic."""
    replication = settings.topic_replication_factor
    configs: dict[str, str] = {"cleanup.policy": "compact"}
    if replication > 1:
        configs["min.insync.replicas"] = str(min_insync_replicas(replication))
    return TopicPlan(name, settings.topic_partitions, replication, configs)


def all_plans(settings: Settings) -> list[TopicPlan]:
    return [plan_topic(s, settings) for s in ALL_TOPICS]


async def ensure_topics(settings: Settings, plans: list[TopicPlan]) -> list[str]:
    """Create the topics that are missing; returns the names created. Existing topics are left alone."""
    admin = AIOKafkaAdminClient(**common_kwargs(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [p for p in plans if p.name not in existing]
        if missing:
            new = [NewTopic(p.name, p.partitions, p.replication_factor, topic_configs=p.configs) for p in missing]
            # Another worker may create them between our list and create: that is the goal anyway.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(new)
            await _until_listed(admin, {p.name for p in missing})
        return [p.name for p in missing]
    finally:
        await admin.close()


async def _until_listed(admin: AIOKafkaAdminClient, names: set[str], timeout_seconds: float = 30.0) -> None:
    """Return once the broker's metadata lists every new topic with a leader for each partition.

    create_topics returns when the controller has accepted the topics, slightly before metadata shows them,
    so a caller that lists or produces straight away could otherwise see them missing.
    """
    deadline = asyncio.get_running_loop().time() + timeout_seconds
    while True:
        described = await admin.describe_topics(sorted(names))
        ready = {
            t["topic"]
            for t in described
            if t.get("error_code", 0) == 0 and t["partitions"] and all(p["leader"] >= 0 for p in t["partitions"])
        }
        if ready >= names and set(await admin.list_topics()) >= names:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"topics not ready after {timeout_seconds:.0f} s: {sorted(names - ready)}")
        await asyncio.sleep(0.1)


def partition_for(la_code: str, partitions: int) -> int:
    """The events partition of a council: Kafka's default partitioner (murmur2, as every client uses) on la_code."""
    hashed: int = murmur2(la_code.encode())
    return (hashed & 0x7FFFFFFF) % partitions
