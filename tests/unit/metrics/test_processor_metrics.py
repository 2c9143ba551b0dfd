"""The processor's metrics on an injected registry, read back with get_sample_value."""

from __future__ import annotations

import inspect

from prometheus_client import CollectorRegistry

from services.metrics.metrics import DEAD_LETTER_REASONS, PrometheusProcessorMetrics
from services.processor.deadletter import ReasonCode
from services.processor.observe import ProcessorMetrics


def metrics(
    councils: tuple[str, ...] = (), now: float = 1_750_000_000.0
) -> tuple[CollectorRegistry, PrometheusProcessorMetrics]:
    registry = CollectorRegistry()
    return registry, PrometheusProcessorMetrics(registry, councils=councils, clock=lambda: now)


def test_events_consumed_count_by_type_and_outcome_and_stamp_the_last_event() -> None:
    registry, m = metrics(now=1_750_000_123.0)

    m.events_consumed("ReferralOpened", "applied")
    m.events_consumed("ReferralOpened", "applied")
    m.events_consumed("ContactReceived", "duplicate")

    labels = {"type": "ReferralOpened", "outcome": "applied"}
    assert registry.get_sample_value("frontdoor_events_consumed_total", labels) == 2
    assert (
        registry.get_sample_value(
            "frontdoor_events_consumed_total", {"type": "ContactReceived", "outcome": "duplicate"}
        )
        == 1
    )
    assert registry.get_sample_value("frontdoor_last_event_processed_timestamp_seconds") == 1_750_000_123.0


def test_every_bounded_series_exists_at_zero_before_the_first_event() -> None:
    registry, _ = metrics(councils=("886",))

    assert (
        registry.get_sample_value("frontdoor_events_consumed_total", {"type": "CPPStarted", "outcome": "too_old"}) == 0
    )
    assert registry.get_sample_value("frontdoor_dead_letters_total", {"reason": "undecodable"}) == 0
    alert = {"la_code": "886", "rule": "rereferral", "severity": "high"}
    assert registry.get_sample_value("frontdoor_alerts_raised_total", alert) == 0
    assert registry.get_sample_value("frontdoor_contacts_total", {"la_code": "886", "source_group": "police"}) == 0


def test_values_outside_the_vocabularies_are_folded_so_series_stay_bounded() -> None:
    registry, m = metrics()

    m.events_consumed("SomethingNew", "weird")
    m.dead_letter("child 1234567890 not found")
    m.alert_raised("886", "new_rule", "urgent")
    m.contact_received("886", "a school we never heard of")

    assert registry.get_sample_value("frontdoor_events_consumed_total", {"type": "unknown", "outcome": "other"}) == 1
    assert registry.get_sample_value("frontdoor_dead_letters_total", {"reason": "other"}) == 1
    alert = {"la_code": "886", "rule": "other", "severity": "other"}
    assert registry.get_sample_value("frontdoor_alerts_raised_total", alert) == 1
    assert registry.get_sample_value("frontdoor_contacts_total", {"la_code": "886", "source_group": "unknown"}) == 1


def test_alerts_raised_count_by_council_rule_and_severity() -> None:
    registry, m = metrics()

    m.alert_raised("886", "rereferral", "high")
    m.alert_raised("886", "rereferral", "high")
    m.alert_raised("942", "repeated_contacts", "medium")

    def raised(la_code: str, rule: str, severity: str) -> float | None:
        labels = {"la_code": la_code, "rule": rule, "severity": severity}
        return registry.get_sample_value("frontdoor_alerts_raised_total", labels)

    assert raised("886", "rereferral", "high") == 2
    assert raised("942", "repeated_contacts", "medium") == 1
    assert raised("942", "rereferral", "high") == 0


def test_a_council_first_seen_in_an_event_gets_all_its_series_at_zero_so_increase_sees_the_next_one() -> None:
    registry, m = metrics()  # no councils configured

    m.contact_received("942", "police")

    assert registry.get_sample_value("frontdoor_contacts_total", {"la_code": "942", "source_group": "schools"}) == 0
    assert registry.get_sample_value("frontdoor_referrals_total", {"la_code": "942", "source_group": "police"}) == 0
    alert = {"la_code": "942", "rule": "rereferral", "severity": "high"}
    assert registry.get_sample_value("frontdoor_alerts_raised_total", alert) == 0
    assert registry.get_sample_value("frontdoor_contacts_total", {"la_code": "886", "source_group": "police"}) is None


def test_referrals_and_rereferrals_count_by_council_and_source_group() -> None:
    registry, m = metrics()

    m.referral_opened("886", "police", rereferral=True)
    m.referral_opened("886", "police", rereferral=False)

    labels = {"la_code": "886", "source_group": "police"}
    assert registry.get_sample_value("frontdoor_referrals_total", labels) == 2
    assert registry.get_sample_value("frontdoor_rereferrals_total", labels) == 1


def test_batches_feed_the_latency_and_size_histograms() -> None:
    registry, m = metrics()

    m.batch_processed(500, 0.2)
    m.batch_processed(20, 1.5)

    assert registry.get_sample_value("frontdoor_processing_latency_seconds_count") == 2
    assert registry.get_sample_value("frontdoor_processing_latency_seconds_bucket", {"le": "1.0"}) == 1
    assert registry.get_sample_value("frontdoor_processing_latency_seconds_sum") == 1.7
    assert registry.get_sample_value("frontdoor_batch_size_events_bucket", {"le": "500.0"}) == 2
    assert registry.get_sample_value("frontdoor_batch_size_events_bucket", {"le": "10.0"}) == 0


def test_event_age_lag_and_state_size() -> None:
    registry, m = metrics()

    m.event_age(90.0)
    m.event_age(-5.0)  # an event stamped slightly in the future counts as age 0
    m.consumer_lag(1234)
    m.state_size(98_765)

    assert registry.get_sample_value("frontdoor_event_age_seconds_bucket", {"le": "60.0"}) == 1
    assert registry.get_sample_value("frontdoor_event_age_seconds_bucket", {"le": "1.0"}) == 1
    assert registry.get_sample_value("frontdoor_consumer_lag_events") == 1234
    assert registry.get_sample_value("frontdoor_state_children") == 98_765


def test_the_dead_letter_vocabulary_covers_every_reason_the_processor_sends() -> None:
    assert {code.value for code in ReasonCode} <= set(DEAD_LETTER_REASONS)


def test_prometheus_processor_metrics_has_every_method_of_the_processors_protocol_with_its_parameters() -> None:
    methods = [name for name in vars(ProcessorMetrics) if not name.startswith("_")]

    assert methods
    for name in methods:
        expected = inspect.signature(getattr(ProcessorMetrics, name)).parameters
        actual = inspect.signature(getattr(PrometheusProcessorMetrics, name)).parameters
        assert list(actual) == list(expected), name
