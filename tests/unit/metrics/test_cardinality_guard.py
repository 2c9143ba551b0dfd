"""The cardinality guard passes a real worker exposition and catches anything that could identify a child."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client import Counter as PromCounter

from services.metrics.collector import worker_metrics
from services.metrics.config import CouncilTargets, MetricsConfig
from services.metrics.guard import check_exposition, looks_like_identifier

NOW = dt.datetime(2025, 5, 20, 9, 30, tzinfo=dt.UTC)


def worker_exposition(registry: CollectorRegistry | None = None) -> str:
    registry = registry or CollectorRegistry()
    totals = Counter({("2025-04", "referrals", "police"): 40, ("2025-04", "contacts", "schools"): 12})
    config = MetricsConfig(councils={"886": CouncilTargets(neighbours=("887",))})
    metrics = worker_metrics(registry, lambda: {"886": totals, "887": Counter()}, lambda: NOW, config)
    metrics.events_consumed("ReferralOpened", "applied")
    metrics.batch_processed(10, 0.1)
    metrics.event_age(30.0)
    return generate_latest(registry).decode()


def test_a_worker_exposition_with_every_family_passes() -> None:
    assert check_exposition(worker_exposition()) == []


def test_a_leaked_child_key_in_a_label_is_caught() -> None:
    registry = CollectorRegistry()
    leak = Gauge("frontdoor_debug_last_child", "a bug", ["la_code", "source_group"], registry=registry)
    leak.labels("886", "3f2a9c0e7b1d4e5f8a6b2c9d0e1f3a4b").set(1)

    problems = check_exposition(worker_exposition(registry))

    assert any("looks like a hex key" in p and "3f2a9c0e" in p for p in problems), problems


def test_a_new_label_name_is_caught_even_with_a_harmless_value() -> None:
    registry = CollectorRegistry()
    Gauge("frontdoor_open_by_team", "by team", ["team"], registry=registry).labels("north").set(3)

    assert check_exposition(worker_exposition(registry)) == ["frontdoor_open_by_team: label 'team' is not allow-listed"]


@pytest.mark.parametrize(
    ("label", "value", "problem"),
    [
        ("source_group", "police-station-7", "not in its vocabulary"),
        ("la_code", "Kent", "not a three-digit DfE code"),
        ("reason", "bad", "not in its vocabulary"),
        ("area", "kent", "not a benchmark area"),
        ("year", "24/25", "not a reporting year"),
    ],
)
def test_a_value_outside_a_bounded_set_is_caught(label: str, value: str, problem: str) -> None:
    registry = CollectorRegistry()
    PromCounter("frontdoor_leaky", "a bug", [label], registry=registry).labels(value).inc()

    problems = check_exposition(worker_exposition(registry))

    assert any(problem in p for p in problems), problems


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("0123456789abcdef0123456789abcdef", "hex key"),
        ("H801200001001", "UPN"),
        ("886-0001234", "long digit run"),
        ("9434765919", "long digit run"),
        ("123e4567-e89b-12d3-a456-426614174000", "uuid"),
        ("c2VjcmV0LWNoaWxkLWtleS0xMjM0NTY3", "token"),
    ],
)
def test_identifier_shapes_are_recognised(value: str, kind: str) -> None:
    assert looks_like_identifier(value) == kind


@pytest.mark.parametrize("value", ["police", "ReferralOpened", "strategy_s47", "N9", "886", "2025", "england"])
def test_vocabulary_values_do_not_look_like_identifiers(value: str) -> None:
    assert looks_like_identifier(value) is None


def test_too_many_councils_is_caught() -> None:
    registry = CollectorRegistry()
    gauge = Gauge("frontdoor_many", "many councils", ["la_code"], registry=registry)
    for code in range(100, 400):
        gauge.labels(str(code)).set(1)

    problems = check_exposition(generate_latest(registry).decode())

    assert problems == ["300 distinct la_code values, more than the 200 councils allowed"]
