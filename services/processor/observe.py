"""The metric hooks the worker calls: a Protocol the metrics module implements, and a no-op default."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from services.kafka.health import ClusterHealth


class ProcessorMetrics(Protocol):
    """Every label value is bounded (council, event type, outcome, rule, severity, reason), never a child id."""

    def events_consumed(self, event_type: str, outcome: str) -> None:
        """One inbound event handled; outcome is a core Outcome value or "dead_letter"."""

    def dead_letter(self, reason: str) -> None:
        """One message sent to the dead-letter topic; reason is a ReasonCode value."""

    def alert_raised(self, la_code: str, rule: str, severity: str) -> None:
        """One new alert (not a revision or withdrawal) sent to the alerts topic, by the alert's council."""

    def batch_processed(self, size: int, seconds: float) -> None:
        """One batch done: its size in messages and wall seconds from first decode to last acknowledgement."""

    def event_age(self, seconds: float) -> None:
        """Now minus the event's occurred_at, once per applied event."""

    def state_size(self, children: int) -> None:
        """Children held in this worker's assigned partitions."""

    def consumer_lag(self, events: int) -> None:
        """Events on this worker's assigned partitions not handled yet (highwater minus position)."""

    def kafka_health(self, health: ClusterHealth) -> None:
        """The cluster as the worker's periodic check saw it (services.kafka.health)."""

    def contact_received(self, la_code: str, source_group: str) -> None:
        """One ContactReceived applied; source_group is an Annex A group value or "unknown"."""

    def referral_opened(self, la_code: str, source_group: str, rereferral: bool) -> None:
        """One ReferralOpened applied, and whether the core counts it as a re-referral as the child's history stands
        when it is applied (the same answer replay gives at that event). A referral that arrives late and makes an
        earlier-applied one a re-referral revises the indicators (the council totals), not this counter."""


class NoMetrics:
    """The default until the metrics module is wired in: every hook does nothing."""

    def events_consumed(self, event_type: str, outcome: str) -> None:
        pass

    def dead_letter(self, reason: str) -> None:
        pass

    def alert_raised(self, la_code: str, rule: str, severity: str) -> None:
        pass

    def batch_processed(self, size: int, seconds: float) -> None:
        pass

    def event_age(self, seconds: float) -> None:
        pass

    def state_size(self, children: int) -> None:
        pass

    def consumer_lag(self, events: int) -> None:
        pass

    def kafka_health(self, health: ClusterHealth) -> None:
        pass

    def contact_received(self, la_code: str, source_group: str) -> None:
        pass

    def referral_opened(self, la_code: str, source_group: str, rereferral: bool) -> None:
        pass
