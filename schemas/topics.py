"""The topic table: every Kafka topic the services use, with its key, value contract and cleanup policy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

CleanupPolicy = Literal["delete", "compact"]


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A topic's name (major version in the name), what its key is, and how Kafka cleans it up."""

    name: str
    key: str
    value: str
    cleanup_policy: CleanupPolicy
    retention_ms: int | None = None


EVENTS = TopicSpec("frontdoor.events.v1", "child_key", "schemas.events.FrontDoorEvent", "delete", -1)
ALERTS = TopicSpec("frontdoor.alerts.v1", "child_key", "schemas.alerts.AlertMessage", "delete", -1)
DEADLETTER = TopicSpec("frontdoor.deadletter.v1", "original key", "dead letter envelope", "delete")
ALERT_ACTIONS = TopicSpec("frontdoor.alert-actions.v1", "alert_id", "alert desk action", "delete", -1)
AUDIT = TopicSpec("frontdoor.audit.v1", "user", "audit record", "delete", -1)

ALL_TOPICS: tuple[TopicSpec, ...] = (EVENTS, ALERTS, DEADLETTER, ALERT_ACTIONS, AUDIT)
