"""The scrape-time collector: indicator, target and benchmark gauges read back with get_sample_value."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping

from prometheus_client import CollectorRegistry

from services.core.aggregates import AggregateKey
from services.core.series import monthly_series
from services.metrics.backfill import COUNT_METRIC, RATIO_METRIC, backfilled_keys
from services.metrics.collector import IndicatorCollector
from services.metrics.config import CouncilTargets, MetricsConfig
from services.reference.neighbours import statistical_neighbours

NOW = dt.datetime(2025, 5, 20, 9, 30, tzinfo=dt.UTC)
KENT, MEDWAY = "886", "887"


def kent_totals() -> Counter[AggregateKey]:
    return Counter(
        {
            ("2025-04", "referrals", "police"): 40,
            ("2025-04", "rereferrals", "police"): 10,
            ("2025-05", "referrals", "schools"): 10,
            ("2025-05", "rereferrals", "schools"): 1,
            ("2025-05", "referrals_by_need", "N2"): 50,
            ("2025-05", "rereferrals_by_need", "N2"): 11,
            ("2025-01", "assessments_open", "2025-01-06"): 2,
        }
    )


def registry_for(
    totals: Mapping[str, Counter[AggregateKey]], config: MetricsConfig | None = None, now: dt.datetime = NOW
) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(IndicatorCollector(lambda: totals, lambda: now, config or MetricsConfig()))
    return registry


def test_indicator_gauges_are_computed_from_the_totals_at_scrape_time() -> None:
    totals = {KENT: kent_totals()}
    registry = registry_for(totals)

    assert registry.get_sample_value("frontdoor_rereferral_rolling_12_months_ratio", {"la_code": KENT}) == 0.22
    assert registry.get_sample_value("frontdoor_referrals_rolling_12_months", {"la_code": KENT}) == 50
    assert registry.get_sample_value("frontdoor_assessments_open_past_45_working_days", {"la_code": KENT}) == 2
    assert (
        registry.get_sample_value(
            "frontdoor_source_group_rereferral_ratio", {"la_code": KENT, "source_group": "police"}
        )
        == 0.25
    )
    assert (
        registry.get_sample_value("frontdoor_primary_need_rereferral_ratio", {"la_code": KENT, "primary_need": "N2"})
        == 0.22
    )

    totals[KENT][("2025-05", "referrals", "schools")] += 50  # the next scrape sees the new totals
    assert registry.get_sample_value("frontdoor_rereferral_rolling_12_months_ratio", {"la_code": KENT}) == 0.11


def test_a_rate_without_a_denominator_has_no_sample_rather_than_zero() -> None:
    registry = registry_for({KENT: kent_totals()})

    assert registry.get_sample_value("frontdoor_contact_to_referral_ratio", {"la_code": KENT}) is None
    assert (
        registry.get_sample_value("frontdoor_source_group_nfa_ratio", {"la_code": KENT, "source_group": "housing"})
        is None
    )
    assert (
        registry.get_sample_value(
            "frontdoor_source_group_contacts_rolling_12_months", {"la_code": KENT, "source_group": "housing"}
        )
        == 0
    )


def test_the_rereferral_target_defaults_to_englands_latest_rate_and_is_configurable_per_council() -> None:
    config = MetricsConfig(
        default=CouncilTargets(referral_to_assessment_target=0.7),
        councils={MEDWAY: CouncilTargets(rereferral_target=0.19, contact_to_referral_target=0.3)},
    )
    registry = registry_for({KENT: kent_totals(), MEDWAY: Counter()}, config)

    assert registry.get_sample_value("frontdoor_rereferral_target_ratio", {"la_code": KENT}) == 0.226
    assert registry.get_sample_value("frontdoor_rereferral_target_ratio", {"la_code": MEDWAY}) == 0.19
    assert registry.get_sample_value("frontdoor_referral_to_assessment_target_ratio", {"la_code": MEDWAY}) == 0.7
    assert registry.get_sample_value("frontdoor_contact_to_referral_target_ratio", {"la_code": MEDWAY}) == 0.3
    assert registry.get_sample_value("frontdoor_contact_to_referral_target_ratio", {"la_code": KENT}) is None


def test_benchmarks_for_kent_show_england_the_south_east_itself_and_configured_neighbours() -> None:
    config = MetricsConfig(councils={KENT: CouncilTargets(neighbours=(MEDWAY, "845"))})
    registry = registry_for({KENT: kent_totals()}, config)

    def benchmark(area: str, name: str = "frontdoor_benchmark_rereferral_ratio") -> float | None:
        return registry.get_sample_value(name, {"la_code": KENT, "area": area})

    assert registry.get_sample_value("frontdoor_benchmark_year") == 2025
    assert (benchmark("england"), benchmark("region"), benchmark(KENT), benchmark("neighbours")) == (
        0.226,
        0.284,
        0.216,
        0.207,
    )
    assert benchmark("england", "frontdoor_benchmark_cpp_second_or_subsequent_ratio") == 0.245
    trend = {"la_code": KENT, "area": "england", "year": "2024"}
    assert registry.get_sample_value("frontdoor_benchmark_rereferral_by_year_ratio", trend) == 0.224


def test_a_council_with_no_neighbours_configured_is_compared_with_its_neighbours_in_dfes_model() -> None:
    registry = registry_for({KENT: kent_totals()}, MetricsConfig())
    model = statistical_neighbours(KENT)
    configured = registry_for({KENT: kent_totals()}, MetricsConfig(councils={KENT: CouncilTargets(neighbours=model)}))

    def neighbours(registry: CollectorRegistry) -> float | None:
        labels = {"la_code": KENT, "area": "neighbours"}
        return registry.get_sample_value("frontdoor_benchmark_rereferral_ratio", labels)

    assert len(model) == 10
    assert neighbours(registry) is not None
    assert neighbours(registry) == neighbours(configured)


def test_councils_only_in_the_configuration_still_get_targets_and_benchmarks() -> None:
    registry = registry_for({}, MetricsConfig(councils={KENT: CouncilTargets(rereferral_target=0.2)}))

    assert registry.get_sample_value("frontdoor_rereferral_target_ratio", {"la_code": KENT}) == 0.2
    assert (
        registry.get_sample_value("frontdoor_benchmark_rereferral_ratio", {"la_code": KENT, "area": "england"}) == 0.226
    )
    assert registry.get_sample_value("frontdoor_rereferral_rolling_12_months_ratio", {"la_code": KENT}) is None


def test_now_is_the_english_date_so_late_evening_utc_in_summer_is_already_tomorrow() -> None:
    # 23:30 UTC on 31 March 2025 is 00:30 BST on 1 April: the new reporting year has started.
    totals = {KENT: Counter({("2025-03", "referrals", "police"): 10, ("2025-03", "rereferrals", "police"): 5})}
    registry = registry_for(totals, now=dt.datetime(2025, 3, 31, 23, 30, tzinfo=dt.UTC))

    assert registry.get_sample_value("frontdoor_rereferral_year_to_date_ratio", {"la_code": KENT}) is None
    assert registry.get_sample_value("frontdoor_rereferral_rolling_12_months_ratio", {"la_code": KENT}) == 0.5


def test_the_current_month_of_the_series_is_exposed_under_the_backfills_names_and_keys() -> None:
    totals = {KENT: kent_totals()}
    [may] = monthly_series(totals[KENT], ["2025-05"])
    registry = registry_for(totals)

    def count(key: str) -> float | None:
        return registry.get_sample_value(COUNT_METRIC, {"la_code": KENT, "measure": key})

    assert count("referrals") == may["referrals"] == 10
    assert count("rereferrals_r12") == may["rereferrals_r12"] == 11
    assert registry.get_sample_value(RATIO_METRIC, {"la_code": KENT, "measure": "rereferral_rate_r12"}) == 0.22
    assert {k for k in backfilled_keys(may) if may[k] is not None} <= {
        s.labels["measure"]
        for family in registry.collect()
        for s in family.samples
        if s.name in (COUNT_METRIC, RATIO_METRIC)
    }
