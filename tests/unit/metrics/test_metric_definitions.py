"""Every metric is defined once, prefixed frontdoor_, in base units, with labels from bounded vocabularies."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from prometheus_client import CollectorRegistry, generate_latest

from services.metrics import metrics as m
from services.metrics.collector import worker_metrics
from services.metrics.guard import ALLOWED_LABELS


def test_names_are_unique_and_prefixed() -> None:
    names = [spec.name for spec in m.ALL_SPECS]

    assert len(names) == len(set(names))
    assert all(name.startswith("frontdoor_") for name in names)


def test_every_label_is_allow_listed_and_none_names_a_person_or_record() -> None:
    labels = {label for spec in m.ALL_SPECS for label in spec.labels}

    assert labels <= ALLOWED_LABELS
    assert not {
        label for label in labels if any(word in label for word in ("child", "referral_id", "contact", "worker", "key"))
    }


def test_units_are_in_the_names() -> None:
    for spec in m.ALL_SPECS:
        if spec.kind == "counter":
            assert not spec.name.endswith("_total"), f"{spec.name}: prometheus_client adds _total"
        if "latency" in spec.name or "age" in spec.name or "timestamp" in spec.name:
            assert spec.name.endswith("_seconds"), spec.name
        if "rate" in spec.documentation.lower() or "/" in spec.documentation:
            assert spec.name.endswith("_ratio"), spec.name


def test_bounded_vocabularies_hold_the_code_lists() -> None:
    assert len(m.SOURCE_GROUPS) == 11
    assert len(m.EVENT_TYPE_NAMES) == 13 + 1
    assert "ReferralOpened" in m.EVENT_TYPE_NAMES
    assert {"applied", "duplicate", "too_old", "dead_letter"} <= set(m.EVENT_OUTCOMES)
    assert m.BOUNDED_LABELS["primary_need"] == frozenset({f"N{i}" for i in range(10)} | {"unknown"})


def test_a_worker_registry_exposes_every_defined_family_and_nothing_else() -> None:
    registry = CollectorRegistry()
    totals: Counter[tuple[str, str, str]] = Counter({("2025-05", "referrals", "police"): 3})
    worker_metrics(registry, lambda: {"886": totals}, lambda: dt.datetime(2025, 5, 20, 12, tzinfo=dt.UTC))

    exposed = {family.name for family in registry.collect()}
    defined = {spec.name for spec in m.WORKER_SPECS}
    assert exposed == defined
    sample_names = {s.name for family in registry.collect() for s in family.samples}
    assert sample_names <= m.metric_names()
    assert generate_latest(registry)
