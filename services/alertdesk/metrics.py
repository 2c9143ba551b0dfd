"""The desk's own Prometheus metrics, on an injected registry: aggregates only, labels from code or config."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from services.alertdesk.readmodel import ReadModel


@dataclass(frozen=True, slots=True)
class DeskMetrics:
    alert_messages: Counter
    actions: Counter
    rejected_messages: Counter
    audit_records: Counter
    logins: Counter
    access_denied: Counter
    notifications: Counter
    feed_clients: Gauge
    identity_reveals: Counter
    alertmanager_deliveries: Counter


def desk_metrics(registry: CollectorRegistry, state: Callable[[], ReadModel]) -> DeskMetrics:
    """Register the desk's metrics; `state` is read at scrape time for the open-alert gauge."""
    registry.register(_OpenAlerts(state))
    return DeskMetrics(
        alert_messages=Counter(
            "frontdoor_alertdesk_alert_messages_total", "Alert messages folded, by type", ["type"], registry=registry
        ),
        actions=Counter(
            "frontdoor_alertdesk_actions_total", "Actions folded, by action", ["action"], registry=registry
        ),
        rejected_messages=Counter(
            "frontdoor_alertdesk_rejected_messages_total",
            "Messages that did not decode, by topic kind",
            ["topic"],
            registry=registry,
        ),
        audit_records=Counter(
            "frontdoor_alertdesk_audit_records_total", "Audit records written, by route", ["route"], registry=registry
        ),
        logins=Counter(
            "frontdoor_alertdesk_logins_total",
            "Login attempts, by method and outcome",
            ["method", "outcome"],
            registry=registry,
        ),
        access_denied=Counter(
            "frontdoor_alertdesk_access_denied_total",
            "Requests refused, by reason (csrf, role, not_found, session)",
            ["reason"],
            registry=registry,
        ),
        notifications=Counter(
            "frontdoor_alertdesk_notifications_total",
            "Notifications sent outside the page, by channel and outcome",
            ["channel", "outcome"],
            registry=registry,
        ),
        feed_clients=Gauge("frontdoor_alertdesk_feed_clients", "Live feed connections open now", registry=registry),
        identity_reveals=Counter(
            "frontdoor_alertdesk_identity_reveals_total",
            "Requests for a child's council id, by route (reveal, case) and outcome "
            "(revealed, refused, throttled, unsealable)",
            ["route", "outcome"],
            registry=registry,
        ),
        alertmanager_deliveries=Counter(
            "frontdoor_alertdesk_alertmanager_deliveries_total",
            "Alertmanager webhook deliveries, by outcome (accepted, unauthorized, invalid)",
            ["outcome"],
            registry=registry,
        ),
    )


class _OpenAlerts(Collector):
    """Open alerts per council and severity, counted in the read model when Prometheus scrapes."""

    def __init__(self, state: Callable[[], ReadModel]) -> None:
        self._state = state

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "frontdoor_alertdesk_open_alerts", "Alerts not yet closed or withdrawn", labels=["la_code", "severity"]
        )
        counts = self._state().open_counts()
        for (la_code, severity), count in sorted(counts.items()):
            family.add_metric([la_code, severity], count)
        yield family
