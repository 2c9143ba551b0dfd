"""Every frontdoor_ metric in one place: names, help, bounded labels, and the processor's metrics on a registry."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from schemas.codes import PrimaryNeed, Rule, Severity, SourceGroup
from schemas.events import EVENT_TYPES
from services.core.history import Outcome
from services.core.series import month_keys

if TYPE_CHECKING:
    from services.kafka.health import ClusterHealth

# ---- Label vocabularies: every label value comes from one of these sets (la_code and year by pattern) ----
LA_CODE, SOURCE_GROUP, PRIMARY_NEED, AREA, YEAR = "la_code", "source_group", "primary_need", "area", "year"
TYPE, OUTCOME, RULE, SEVERITY, REASON = "type", "outcome", "rule", "severity", "reason"
MEASURE = "measure"  # a key of the monthly series (services.core.series), named in code

OTHER = "other"
EVENT_TYPE_NAMES = (*(str(t.model_fields["type"].default) for t in EVENT_TYPES), "unknown")
EVENT_OUTCOMES = (*(o.value for o in Outcome), "dead_letter", OTHER)
# What the receiver did with a posted record (accepted, rejected, failed to publish) or a token request.
RECEIVER_OUTCOMES = ("accepted", "rejected", "failed", "issued", "refused")
RECEIVER_REFUSALS = ("auth", "council", "size", "body", "busy")  # why the receiver refused a whole request
# services.processor.deadletter.ReasonCode values (a unit test keeps them in step), plus `other`.
DEAD_LETTER_REASONS = (
    "undecodable",
    "schema_invalid",
    "unknown_type",
    "future_dated",
    "merge_across_partitions",
    "child_key_not_pseudonym",
    OTHER,
)
SOURCE_GROUPS = tuple(g.value for g in SourceGroup)
PRIMARY_NEEDS = (*(n.value for n in PrimaryNeed), "unknown")
RULES = (*(r.value for r in Rule), OTHER)
SEVERITIES = (*(s.value for s in Severity), OTHER)
BENCHMARK_AREAS = ("england", "region", "neighbours")  # plus the council's own la_code

BOUNDED_LABELS: dict[str, frozenset[str]] = {
    TYPE: frozenset(EVENT_TYPE_NAMES),
    OUTCOME: frozenset(EVENT_OUTCOMES + RECEIVER_OUTCOMES),
    REASON: frozenset(DEAD_LETTER_REASONS + RECEIVER_REFUSALS),
    SOURCE_GROUP: frozenset(SOURCE_GROUPS),
    PRIMARY_NEED: frozenset(PRIMARY_NEEDS),
    RULE: frozenset(RULES),
    SEVERITY: frozenset(SEVERITIES),
    MEASURE: frozenset(month_keys()),
}
LA_CODE_PATTERN = r"\d{3}"  # the three-digit DfE code; AREA is one of BENCHMARK_AREAS or such a code
YEAR_PATTERN = r"20\d{2}"  # the year ending 31 March of a published DfE table

# Histogram buckets. The latency SLO threshold (1 s) must be a bucket boundary.
LATENCY_SLO_SECONDS = 1.0
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, LATENCY_SLO_SECONDS, 2.5, 5.0, 10.0)
BATCH_SIZE_BUCKETS = (1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
EVENT_AGE_BUCKETS = (1, 10, 60, 300, 900, 3600, 21600, 86400, 604800, 2592000, 31536000)


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One metric family: its name as exposed (counters without `_total`), help text and label names."""

    name: str
    documentation: str
    labels: tuple[str, ...] = ()
    kind: str = "gauge"  # counter, gauge or histogram


def _spec(name: str, documentation: str, *labels: str, kind: str = "gauge") -> MetricSpec:
    return MetricSpec(f"frontdoor_{name}", documentation, labels, kind)


# ---- Processor metrics (PrometheusProcessorMetrics) ----
EVENTS_CONSUMED = _spec("events_consumed", "Events consumed, by event type and outcome", TYPE, OUTCOME, kind="counter")
DEAD_LETTERS = _spec("dead_letters", "Events sent to the dead-letter topic, by reason", REASON, kind="counter")
ALERTS_RAISED = _spec(
    "alerts_raised", "Alerts raised, by council, rule and severity", LA_CODE, RULE, SEVERITY, kind="counter"
)
CONTACTS = _spec(
    "contacts", "Contacts received, by council and Annex A source group", LA_CODE, SOURCE_GROUP, kind="counter"
)
REFERRALS = _spec("referrals", "Referrals opened, by council and source group", LA_CODE, SOURCE_GROUP, kind="counter")
REREFERRALS = _spec(
    "rereferrals", "Re-referrals detected, by council and source group", LA_CODE, SOURCE_GROUP, kind="counter"
)
PROCESSING_LATENCY = _spec("processing_latency_seconds", "Seconds to process one batch", kind="histogram")
BATCH_SIZE = _spec("batch_size_events", "Events per processed batch", kind="histogram")
EVENT_AGE = _spec("event_age_seconds", "Event time against processing time, per event", kind="histogram")
CONSUMER_LAG = _spec("consumer_lag_events", "Events on the input topic not yet consumed by this worker")
LAST_EVENT = _spec("last_event_processed_timestamp_seconds", "Unix time the last event was processed")
STATE_SIZE = _spec("state_children", "Children held in this worker's state")

# ---- Kafka's health as a service sees it (services.kafka.health; the worker and the desk) ----
KAFKA_WRITABLE = _spec("kafka_writable", "1 when every partition written has a leader and min.insync.replicas in sync")
KAFKA_BROKERS = _spec("kafka_brokers", "Brokers in the cluster's metadata (0 when none answers)")
KAFKA_UNDER_MIN_ISR = _spec(
    "kafka_partitions_under_min_isr", "Partitions written to with fewer in-sync replicas than min.insync.replicas"
)
KAFKA_OFFLINE = _spec("kafka_partitions_offline", "Partitions written to that have no leader")
KAFKA_SPECS = (KAFKA_WRITABLE, KAFKA_BROKERS, KAFKA_UNDER_MIN_ISR, KAFKA_OFFLINE)

# ---- Indicator gauges (services.metrics.collector, computed at scrape time from council totals) ----
_L = (LA_CODE,)
REREFERRAL_R12 = _spec("rereferral_rolling_12_months_ratio", "Re-referrals / referrals, rolling 12 months", *_L)
REREFERRAL_YTD = _spec("rereferral_year_to_date_ratio", "Re-referrals / referrals since 1 April", *_L)
CHILD_REREFERRAL_R12 = _spec(
    "child_rereferral_rolling_12_months_ratio", "Children re-referred / children referred, rolling 12 months", *_L
)
CHILD_REREFERRAL_YTD = _spec(
    "child_rereferral_year_to_date_ratio", "Children re-referred / children referred since 1 April", *_L
)
REREFERRAL_LAST_QUARTER = _spec("rereferral_last_quarter_ratio", "Re-referral rate, last complete quarter", *_L)
REREFERRAL_QUARTER_BEFORE = _spec(
    "rereferral_quarter_before_last_ratio", "Re-referral rate, the quarter before the last complete one", *_L
)
REFERRALS_R12 = _spec("referrals_rolling_12_months", "Referrals dated in the rolling 12 months", *_L)
REREFERRALS_R12 = _spec("rereferrals_rolling_12_months", "Re-referrals dated in the rolling 12 months", *_L)
TWO_REFERRALS = _spec("children_two_referrals_in_six_months", "Children with two referrals in six months", *_L)
CONTACT_TO_REFERRAL = _spec("contact_to_referral_ratio", "Contacts decided as referral or S47 / contacts decided", *_L)
REFERRAL_TO_ASSESSMENT = _spec(
    "referral_to_assessment_ratio", "Assessments started / referrals, rolling 12 months", *_L
)
REFERRAL_NFA = _spec("referral_nfa_ratio", "Referrals marked NFA / referrals, rolling 12 months", *_L)
NOT_IN_NEED = _spec("assessed_not_in_need_ratio", "Assessed not in need / referrals, rolling 12 months", *_L)
CPP_REPEAT_EVER = _spec("cpp_second_or_subsequent_ratio", "CP plans that are a second or subsequent plan", *_L)
CPP_REPEAT_TWO_YEARS = _spec(
    "cpp_second_within_two_years_ratio", "CP plans starting within 2 years of a previous plan ending", *_L
)
OVERDUE_ASSESSMENTS = _spec(
    "assessments_open_past_45_working_days", "Assessments open more than 45 England working days", *_L
)
OPEN_CASELOAD = _spec("open_caseload_referrals", "Referrals not closed and not marked NFA", *_L)
AWAITING_DECISION = _spec("contacts_awaiting_decision", "Contacts with no MASH decision yet", *_L)
_G = (LA_CODE, SOURCE_GROUP)
GROUP_CONTACTS = _spec("source_group_contacts_rolling_12_months", "Contacts by source group, rolling 12 months", *_G)
GROUP_REFERRALS = _spec("source_group_referrals_rolling_12_months", "Referrals by source group, 12 months", *_G)
GROUP_REREFERRALS = _spec("source_group_rereferrals_rolling_12_months", "Re-referrals by source group", *_G)
GROUP_NFA = _spec("source_group_nfa_referrals_rolling_12_months", "NFA referrals by source group", *_G)
GROUP_CONVERSION = _spec("source_group_contact_to_referral_ratio", "Referrals / contacts by source group", *_G)
GROUP_REREFERRAL = _spec("source_group_rereferral_ratio", "Re-referral rate by source group, 12 months", *_G)
GROUP_NFA_RATIO = _spec("source_group_nfa_ratio", "NFA referrals / referrals by source group, 12 months", *_G)
EXPECTED_CONTACTS = _spec(
    "contacts_expected_per_working_day", "Average contacts per working day, 12 complete months", *_G
)
_N = (LA_CODE, PRIMARY_NEED)
NEED_REFERRALS = _spec("primary_need_referrals_rolling_12_months", "Referrals by primary need, 12 months", *_N)
NEED_REREFERRAL = _spec("primary_need_rereferral_ratio", "Re-referral rate by primary need, 12 months", *_N)
REREFERRAL_TARGET = _spec("rereferral_target_ratio", "The council's re-referral target", *_L)
CONTACT_TO_REFERRAL_TARGET = _spec("contact_to_referral_target_ratio", "The council's contact conversion target", *_L)
REFERRAL_TO_ASSESSMENT_TARGET = _spec(
    "referral_to_assessment_target_ratio", "The council's referral-to-assessment conversion target", *_L
)

# ---- Benchmarks (DfE C1/D3, services.metrics.benchmarks) ----
_A = (LA_CODE, AREA)
_AY = (LA_CODE, AREA, YEAR)
BENCHMARK_YEAR = _spec("benchmark_year", "Latest DfE reporting year shipped (year ending 31 March)")
BENCHMARKS = {
    "rereferral": _spec("benchmark_rereferral_ratio", "C1 re-referral rate, latest year", *_A),
    "child_rereferral": _spec("benchmark_child_rereferral_ratio", "C1 child-level re-referral rate", *_A),
    "referral_nfa": _spec("benchmark_referral_nfa_ratio", "C1 referrals with no further action", *_A),
    "assessed_not_in_need": _spec("benchmark_assessed_not_in_need_ratio", "C1 assessed not in need", *_A),
    "cpp_second_or_subsequent": _spec("benchmark_cpp_second_or_subsequent_ratio", "D3 repeat CP plans", *_A),
}
BENCHMARK_TRENDS = {
    "rereferral": _spec("benchmark_rereferral_by_year_ratio", "C1 re-referral rate by year", *_AY),
    "cpp_second_or_subsequent": _spec("benchmark_cpp_second_or_subsequent_by_year_ratio", "D3 by year", *_AY),
}

# ---- The monthly series: backfilled by `report --format openmetrics` (services.metrics.backfill), and the current
# month carried on by the worker's collector, under the same two names ----
_M = (LA_CODE, MEASURE)
MONTHLY_COUNT = _spec("monthly_count", "Monthly series counts (one per series key, at the month's end)", *_M)
MONTHLY_RATIO = _spec("monthly_ratio", "Monthly series rates as fractions (one per series key)", *_M)

# ---- The receiver (`frontdoor receive`, ReceiverMetrics) ----
RECEIVER_RECORDS = _spec(
    "receiver_records", "Records posted to the receiver, by council and outcome", LA_CODE, OUTCOME, kind="counter"
)
RECEIVER_EVENTS = _spec(
    "receiver_events_published", "Events the receiver published, by council", LA_CODE, kind="counter"
)
RECEIVER_REQUESTS = _spec(
    "receiver_refused_requests", "Requests refused whole, by reason (auth, council, size, body)", REASON, kind="counter"
)
RECEIVER_TOKENS = _spec(
    "receiver_token_requests", "Token requests, by outcome (issued, refused)", OUTCOME, kind="counter"
)
RECEIVER_LATENCY = _spec(
    "receiver_batch_latency_seconds", "Seconds from a batch's body read to its answer", kind="histogram"
)
RECEIVER_SPECS = (RECEIVER_RECORDS, RECEIVER_EVENTS, RECEIVER_REQUESTS, RECEIVER_TOKENS, RECEIVER_LATENCY)

PROCESSOR_SPECS = (
    EVENTS_CONSUMED, DEAD_LETTERS, ALERTS_RAISED, CONTACTS, REFERRALS, REREFERRALS,
    PROCESSING_LATENCY, BATCH_SIZE, EVENT_AGE, CONSUMER_LAG, LAST_EVENT, STATE_SIZE,
)  # fmt: skip
COLLECTOR_SPECS = (
    REREFERRAL_R12, REREFERRAL_YTD, CHILD_REREFERRAL_R12, CHILD_REREFERRAL_YTD, REREFERRAL_LAST_QUARTER,
    REREFERRAL_QUARTER_BEFORE, REFERRALS_R12, REREFERRALS_R12, TWO_REFERRALS, CONTACT_TO_REFERRAL,
    REFERRAL_TO_ASSESSMENT, REFERRAL_NFA, NOT_IN_NEED, CPP_REPEAT_EVER, CPP_REPEAT_TWO_YEARS, OVERDUE_ASSESSMENTS,
    OPEN_CASELOAD, AWAITING_DECISION, GROUP_CONTACTS, GROUP_REFERRALS, GROUP_REREFERRALS, GROUP_NFA,
    GROUP_CONVERSION, GROUP_REREFERRAL, GROUP_NFA_RATIO, EXPECTED_CONTACTS, NEED_REFERRALS, NEED_REREFERRAL,
    REREFERRAL_TARGET, CONTACT_TO_REFERRAL_TARGET, REFERRAL_TO_ASSESSMENT_TARGET, BENCHMARK_YEAR,
    *BENCHMARKS.values(), *BENCHMARK_TRENDS.values(), MONTHLY_COUNT, MONTHLY_RATIO,
)  # fmt: skip
WORKER_SPECS = PROCESSOR_SPECS + COLLECTOR_SPECS + KAFKA_SPECS  # the desk exposes KAFKA_SPECS too
ALL_SPECS = WORKER_SPECS + RECEIVER_SPECS


def sample_names(spec: MetricSpec) -> tuple[str, ...]:
    """The series names a family exposes (prometheus_client adds `_created` to counters and histograms)."""
    if spec.kind == "counter":
        return (f"{spec.name}_total", f"{spec.name}_created")
    if spec.kind == "histogram":
        return tuple(f"{spec.name}{suffix}" for suffix in ("_bucket", "_count", "_sum", "_created"))
    return (spec.name,)


def metric_names() -> frozenset[str]:
    """Every series name this module defines: what dashboards and rules may query."""
    return frozenset(name for spec in ALL_SPECS for name in sample_names(spec))


def _bounded(value: str, allowed: Iterable[str], fallback: str = OTHER) -> str:
    return value if value in allowed else fallback


class PrometheusProcessorMetrics:
    """The processor's ProcessorMetrics on an injected registry. Label values outside the vocabularies above
    become `other` (`unknown` for event types), so a bug upstream cannot grow the series count."""

    def __init__(
        self, registry: CollectorRegistry, councils: Iterable[str] = (), clock: Callable[[], float] = time.time
    ) -> None:
        self._clock = clock

        def counter(spec: MetricSpec) -> Counter:
            return Counter(spec.name, spec.documentation, spec.labels, registry=registry)

        self.consumed = counter(EVENTS_CONSUMED)
        self.dead_letters = counter(DEAD_LETTERS)
        self.alerts = counter(ALERTS_RAISED)
        self.contacts = counter(CONTACTS)
        self.referrals = counter(REFERRALS)
        self.rereferrals = counter(REREFERRALS)
        self.latency = Histogram(
            PROCESSING_LATENCY.name, PROCESSING_LATENCY.documentation, buckets=LATENCY_BUCKETS, registry=registry
        )
        self.batch_size = Histogram(
            BATCH_SIZE.name, BATCH_SIZE.documentation, buckets=BATCH_SIZE_BUCKETS, registry=registry
        )
        self.age = Histogram(EVENT_AGE.name, EVENT_AGE.documentation, buckets=EVENT_AGE_BUCKETS, registry=registry)
        self.lag = Gauge(CONSUMER_LAG.name, CONSUMER_LAG.documentation, registry=registry)
        self.last_event = Gauge(LAST_EVENT.name, LAST_EVENT.documentation, registry=registry)
        self.state = Gauge(STATE_SIZE.name, STATE_SIZE.documentation, registry=registry)
        self.kafka = KafkaHealthMetrics(registry)
        # Every bounded series exists from the start at 0, so increase() sees the first event and panels have data.
        self._consumed = {
            (event_type, outcome): self.consumed.labels(event_type, outcome)
            for event_type in EVENT_TYPE_NAMES
            for outcome in EVENT_OUTCOMES
        }
        self._councils: set[str] = set()
        for la_code in councils:
            self._council_seen(la_code)
        for reason in DEAD_LETTER_REASONS:
            self.dead_letters.labels(reason)

    def _council_seen(self, la_code: str) -> None:
        """A council's per-council series at 0, once, the first time it is configured or seen in an event."""
        if la_code in self._councils:
            return
        self._councils.add(la_code)
        for group in SOURCE_GROUPS:
            for family in (self.contacts, self.referrals, self.rereferrals):
                family.labels(la_code, group)
        for rule in RULES:
            for severity in SEVERITIES:
                self.alerts.labels(la_code, rule, severity)

    def events_consumed(self, event_type: str, outcome: str) -> None:
        child = self._consumed.get((event_type, outcome))
        if child is None:  # a value outside the vocabulary: rare, so the slower bounded path is fine
            key = (_bounded(event_type, EVENT_TYPE_NAMES, "unknown"), _bounded(outcome, EVENT_OUTCOMES))
            child = self._consumed[key]
        child.inc()
        self.last_event.set(self._clock())

    def dead_letter(self, reason: str) -> None:
        self.dead_letters.labels(_bounded(reason, DEAD_LETTER_REASONS)).inc()

    def alert_raised(self, la_code: str, rule: str, severity: str) -> None:
        self._council_seen(la_code)
        self.alerts.labels(la_code, _bounded(rule, RULES), _bounded(severity, SEVERITIES)).inc()

    def batch_processed(self, size: int, seconds: float) -> None:
        self.batch_size.observe(size)
        self.latency.observe(seconds)
        self.last_event.set(self._clock())

    def event_age(self, seconds: float) -> None:
        self.age.observe(max(0.0, seconds))

    def state_size(self, children: int) -> None:
        self.state.set(children)

    def consumer_lag(self, events: int) -> None:
        self.lag.set(events)

    def kafka_health(self, health: ClusterHealth) -> None:
        self.kafka.observe(health)

    def contact_received(self, la_code: str, source_group: str) -> None:
        self._council_seen(la_code)
        self.contacts.labels(la_code, _bounded(source_group, SOURCE_GROUPS, "unknown")).inc()

    def referral_opened(self, la_code: str, source_group: str, rereferral: bool) -> None:
        self._council_seen(la_code)
        group = _bounded(source_group, SOURCE_GROUPS, "unknown")
        self.referrals.labels(la_code, group).inc()
        if rereferral:
            self.rereferrals.labels(la_code, group).inc()


class ReceiverMetrics:
    """The receiver's metrics on an injected registry: per council and outcome, never per child or client."""

    def __init__(self, registry: CollectorRegistry, councils: Iterable[str] = ()) -> None:
        def counter(spec: MetricSpec) -> Counter:
            return Counter(spec.name, spec.documentation, spec.labels, registry=registry)

        self.records = counter(RECEIVER_RECORDS)
        self.events = counter(RECEIVER_EVENTS)
        self.refused = counter(RECEIVER_REQUESTS)
        self.tokens = counter(RECEIVER_TOKENS)
        self.latency = Histogram(
            RECEIVER_LATENCY.name, RECEIVER_LATENCY.documentation, buckets=LATENCY_BUCKETS, registry=registry
        )
        for reason in RECEIVER_REFUSALS:
            self.refused.labels(reason)
        for outcome in ("issued", "refused"):
            self.tokens.labels(outcome)
        for la_code in councils:
            self.council_seen(la_code)

    def council_seen(self, la_code: str) -> None:
        for outcome in ("accepted", "rejected", "failed"):
            self.records.labels(la_code, outcome)
        self.events.labels(la_code)

    def batch_answered(self, la_code: str, accepted: int, rejected: int, events: int, seconds: float) -> None:
        self.records.labels(la_code, "accepted").inc(accepted)
        self.records.labels(la_code, "rejected").inc(rejected)
        self.events.labels(la_code).inc(events)
        self.latency.observe(seconds)

    def batch_failed(self, la_code: str, records: int) -> None:
        self.records.labels(la_code, "failed").inc(records)

    def request_refused(self, reason: str) -> None:
        self.refused.labels(_bounded(reason, RECEIVER_REFUSALS, "auth")).inc()

    def token_request(self, issued: bool) -> None:
        self.tokens.labels("issued" if issued else "refused").inc()


class KafkaHealthMetrics:
    """The four Kafka health gauges on an injected registry, set from each ClusterHealth a ClusterWatch reports."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.writable, self.brokers, self.under_min_isr, self.offline = (
            Gauge(spec.name, spec.documentation, registry=registry) for spec in KAFKA_SPECS
        )

    def observe(self, health: ClusterHealth) -> None:
        self.writable.set(1 if health.writable else 0)
        self.brokers.set(health.brokers)
        self.under_min_isr.set(len(health.under_min_isr))
        self.offline.set(len(health.offline))
