"""Whether Kafka can take durable writes, from a metadata answer: what the worker logs and the desk's /healthz shows."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from services.alertdesk.context import DeskContext
from services.kafka.health import ClusterHealth, ClusterWatch, assess
from services.metrics.metrics import KafkaHealthMetrics
from services.settings import Settings
from tests.unit.alertdesk.desk_builders import Harness, browser


def partition(number: int, leader: int, isr: list[int]) -> dict[str, object]:
    return {"partition": number, "leader": leader, "replicas": [1, 2, 3], "isr": isr}


def topic(name: str, *partitions: dict[str, object]) -> dict[str, object]:
    return {"topic": name, "partitions": list(partitions)}


def test_every_partition_led_with_two_of_three_in_sync_is_writable_at_min_insync_two() -> None:
    health = assess(3, [topic("events", partition(0, 1, [1, 2]), partition(1, 2, [1, 2, 3]))], {"events": 2})
    assert health.writable and health.status == "ok" and health.partitions == 2


def test_a_partition_with_one_replica_in_sync_refuses_writes_at_min_insync_two() -> None:
    health = assess(3, [topic("events", partition(0, 1, [1]), partition(1, 2, [1, 2]))], {"events": 2})
    assert not health.writable
    assert (health.status, health.under_min_isr) == ("under_min_isr", ("events[0]",))
    assert "below min.insync.replicas" in health.summary()


def test_a_partition_without_a_leader_is_offline_and_worse_than_too_few_in_sync() -> None:
    health = assess(1, [topic("audit", partition(0, -1, []), partition(1, 1, [1]))], {"audit": 2})
    assert (health.status, health.offline, health.under_min_isr) == ("offline_partitions", ("audit[0]",), ("audit[1]",))


def test_a_topic_without_min_insync_replicas_needs_one_replica_in_sync() -> None:
    assert assess(1, [topic("alerts", partition(0, 1, [1]))], {}).writable


def test_the_gauges_follow_each_check() -> None:
    registry = CollectorRegistry()
    gauges = KafkaHealthMetrics(registry)
    gauges.observe(assess(2, [topic("events", partition(0, 1, [1]))], {"events": 2}))
    assert registry.get_sample_value("frontdoor_kafka_writable") == 0
    assert registry.get_sample_value("frontdoor_kafka_partitions_under_min_isr") == 1
    gauges.observe(ClusterHealth(reachable=False))
    assert registry.get_sample_value("frontdoor_kafka_brokers") == 0


async def test_the_desk_health_fails_with_the_reason_while_kafka_cannot_take_writes() -> None:
    harness = Harness()
    watch = ClusterWatch(Settings(profile="dev"), ["audit"])
    watch.latest, watch.failing_since = ClusterHealth(reachable=False, checked_at=112.0), 100.0
    context: DeskContext = harness.context
    context.kafka = watch
    async with browser(harness) as client:
        response = await client.get("/healthz")
        body = await response.json()
    assert response.status == 503
    assert body["status"] == "failing"
    assert body["kafka"] == {
        "status": "unreachable",
        "brokers": 0,
        "detail": "no Kafka broker answers",
        "failing_for_seconds": 12.0,
    }


def test_a_topic_whose_configuration_cannot_be_read_is_held_to_the_planned_min_insync_replicas() -> None:
    health = assess(3, [topic("audit", partition(0, 1, [1]))], {}, default_min_isr=2)
    assert health.under_min_isr == ("audit[0]",)
