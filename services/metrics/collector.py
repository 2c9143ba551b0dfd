"""Indicator, target and benchmark gauges computed when Prometheus scrapes, from the council totals and a clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cache

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from services.core.calendar import local_date
from services.core.series import RATES, monthly_series
from services.metrics import metrics as m
from services.metrics.backfill import backfilled_keys
from services.metrics.benchmarks import TREND_FIGURES, BenchmarkPoint, Benchmarks
from services.metrics.config import MetricsConfig
from services.metrics.indicators import CouncilIndicators, Totals, council_indicators
from services.reference.neighbours import statistical_neighbours

TotalsSource = Callable[[], Mapping[str, Totals]]  # la_code -> Counter[(month, measure, label)]
Clock = Callable[[], dt.datetime]  # timezone-aware "now"

# Council-level gauges: (spec, value). None means "no denominator" and the sample is left out, not shown as 0.
_SCALARS: tuple[tuple[m.MetricSpec, Callable[[CouncilIndicators], float | None]], ...] = (
    (m.REREFERRAL_R12, lambda i: i.rereferral_r12),
    (m.REREFERRAL_YTD, lambda i: i.rereferral_ytd),
    (m.CHILD_REREFERRAL_R12, lambda i: i.child_rereferral_r12),
    (m.CHILD_REREFERRAL_YTD, lambda i: i.child_rereferral_ytd),
    (m.REREFERRAL_LAST_QUARTER, lambda i: i.rereferral_last_quarter),
    (m.REREFERRAL_QUARTER_BEFORE, lambda i: i.rereferral_quarter_before_last),
    (m.REFERRALS_R12, lambda i: i.referrals_r12),
    (m.REREFERRALS_R12, lambda i: i.rereferrals_r12),
    (m.TWO_REFERRALS, lambda i: i.children_two_referrals_in_six_months),
    (m.CONTACT_TO_REFERRAL, lambda i: i.contact_to_referral),
    (m.REFERRAL_TO_ASSESSMENT, lambda i: i.referral_to_assessment),
    (m.REFERRAL_NFA, lambda i: i.referral_nfa),
    (m.NOT_IN_NEED, lambda i: i.assessed_not_in_need),
    (m.CPP_REPEAT_EVER, lambda i: i.cpp_second_or_subsequent),
    (m.CPP_REPEAT_TWO_YEARS, lambda i: i.cpp_second_within_two_years),
    (m.OVERDUE_ASSESSMENTS, lambda i: i.assessments_open_past_45_working_days),
    (m.OPEN_CASELOAD, lambda i: i.open_caseload),
    (m.AWAITING_DECISION, lambda i: i.contacts_awaiting_decision),
)
_GROUPS: tuple[tuple[m.MetricSpec, Callable[[CouncilIndicators, str], float | None]], ...] = (
    (m.GROUP_CONTACTS, lambda i, g: i.by_source_group[g].contacts),
    (m.GROUP_REFERRALS, lambda i, g: i.by_source_group[g].referrals),
    (m.GROUP_REREFERRALS, lambda i, g: i.by_source_group[g].rereferrals),
    (m.GROUP_NFA, lambda i, g: i.by_source_group[g].nfa_referrals),
    (m.GROUP_CONVERSION, lambda i, g: i.by_source_group[g].contact_to_referral),
    (m.GROUP_REREFERRAL, lambda i, g: i.by_source_group[g].rereferral),
    (m.GROUP_NFA_RATIO, lambda i, g: i.by_source_group[g].nfa),
    (m.EXPECTED_CONTACTS, lambda i, g: i.expected_contacts_per_working_day.get(g)),
)
_NEEDS: tuple[tuple[m.MetricSpec, Callable[[CouncilIndicators, str], float | None]], ...] = (
    (m.NEED_REFERRALS, lambda i, n: i.by_primary_need[n].referrals),
    (m.NEED_REREFERRAL, lambda i, n: i.by_primary_need[n].rereferral),
)


def _family(spec: m.MetricSpec) -> GaugeMetricFamily:
    return GaugeMetricFamily(spec.name, spec.documentation, labels=list(spec.labels))


class IndicatorCollector(Collector):
    """Reads the totals once per scrape; a council's benchmarks are static and computed once."""

    def __init__(
        self, totals: TotalsSource, clock: Clock, config: MetricsConfig, benchmarks: Benchmarks | None = None
    ) -> None:
        self._totals = totals
        self._clock = clock
        self._config = config
        self._benchmarks = benchmarks or Benchmarks()
        self._points: Callable[[str], list[BenchmarkPoint]] = cache(self._council_points)

    def _council_points(self, la_code: str) -> list[BenchmarkPoint]:
        neighbours = statistical_neighbours(la_code, self._config.for_council(la_code).neighbours)
        return self._benchmarks.for_council(la_code, neighbours)

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return [_family(spec) for spec in m.COLLECTOR_SPECS]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        today = local_date(self._clock())
        # dict() copies in one step under the GIL: the worker may be updating the totals while we scrape.
        snapshot = dict(self._totals())
        councils = {la: council_indicators(dict(totals), today) for la, totals in sorted(snapshot.items())}
        for spec, read in _SCALARS:
            yield _gauges(spec, ((([la], read(i)) for la, i in councils.items())))
        for spec, read_group in _GROUPS:
            yield _gauges(spec, (([la, g], read_group(i, g)) for la, i in councils.items() for g in m.SOURCE_GROUPS))
        for spec, read_need in _NEEDS:
            yield _gauges(spec, (([la, n], read_need(i, n)) for la, i in councils.items() for n in m.PRIMARY_NEEDS))
        yield from _this_month(snapshot, today)
        yield from self._targets(sorted(set(councils) | set(self._config.councils)))
        yield from self._benchmark_families(sorted(set(councils) | set(self._config.councils)))

    def _targets(self, la_codes: list[str]) -> Iterator[GaugeMetricFamily]:
        england = self._benchmarks.latest_england("rereferral")
        targets = {la: self._config.for_council(la) for la in la_codes}
        yield _gauges(
            m.REREFERRAL_TARGET,
            (([la], t.rereferral_target if t.rereferral_target is not None else england) for la, t in targets.items()),
        )
        yield _gauges(m.CONTACT_TO_REFERRAL_TARGET, (([la], t.contact_to_referral_target) for la, t in targets.items()))
        yield _gauges(
            m.REFERRAL_TO_ASSESSMENT_TARGET, (([la], t.referral_to_assessment_target) for la, t in targets.items())
        )

    def _benchmark_families(self, la_codes: list[str]) -> Iterator[GaugeMetricFamily]:
        latest = self._benchmarks.latest_year
        year = _family(m.BENCHMARK_YEAR)
        year.add_metric([], latest)
        yield year
        latest_families = {figure: _family(spec) for figure, spec in m.BENCHMARKS.items()}
        trend_families = {figure: _family(spec) for figure, spec in m.BENCHMARK_TRENDS.items()}
        for la in la_codes:
            for point in self._points(la):
                if point.year == latest:
                    latest_families[point.figure].add_metric([la, point.area], point.value)
                if point.figure in TREND_FIGURES:
                    trend_families[point.figure].add_metric([la, point.area, str(point.year)], point.value)
        yield from latest_families.values()
        yield from trend_families.values()


def _this_month(totals: Mapping[str, Totals], today: dt.date) -> Iterator[GaugeMetricFamily]:
    """Each council's current month of the monthly series so far, under the backfill's names and keys."""
    month = f"{today.year:04d}-{today.month:02d}"
    counts, ratios = _family(m.MONTHLY_COUNT), _family(m.MONTHLY_RATIO)
    for la, council in sorted(totals.items()):
        [row] = monthly_series(dict(council), [month])
        for key in backfilled_keys(row):
            value = row[key]
            if isinstance(value, int | float):
                (ratios if key in RATES else counts).add_metric([la, key], value)
    yield counts
    yield ratios


def _gauges(spec: m.MetricSpec, samples: Iterable[tuple[list[str], float | None]]) -> GaugeMetricFamily:
    family = _family(spec)
    for labels, value in samples:
        if value is not None:
            family.add_metric(labels, value)
    return family


def worker_metrics(
    registry: CollectorRegistry,
    totals: TotalsSource,
    clock: Clock,
    config: MetricsConfig | None = None,
    councils: Iterable[str] = (),
) -> m.PrometheusProcessorMetrics:
    """Everything a worker exposes on `registry`: its processing metrics and the indicator gauges."""
    config = config or MetricsConfig()
    registry.register(IndicatorCollector(totals, clock, config))
    return m.PrometheusProcessorMetrics(registry, councils=[*councils, *config.councils])
