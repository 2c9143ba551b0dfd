"""Alertmanager's webhook payload (version 4) and the bounded latest state of each indicator or platform alert."""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Text = Annotated[str, StringConstraints(max_length=2000)]
LABELS_SHOWN = ("alertname", "severity", "team", "la_code", "job")


class WebhookAlert(BaseModel):
    """One alert as Alertmanager posts it; unknown fields are ignored, as for every inbound model."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    status: Literal["firing", "resolved"]
    labels: dict[Annotated[str, StringConstraints(max_length=200)], Text] = Field(max_length=64)
    annotations: dict[Annotated[str, StringConstraints(max_length=200)], Text] = Field(default_factory=dict)
    startsAt: dt.datetime  # Alertmanager's own field names, in camel case
    endsAt: dt.datetime | None = None
    fingerprint: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class WebhookPayload(BaseModel):
    """Alertmanager's webhook body, version 4 (https://prometheus.io/docs/alerting/latest/configuration/)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    version: Literal["4"]
    status: Literal["firing", "resolved"]
    receiver: Text
    alerts: list[WebhookAlert] = Field(max_length=1000)
    truncatedAlerts: int = 0


@dataclass(frozen=True, slots=True)
class IndicatorAlert:
    """The latest state of one Alertmanager alert, as /indicators shows it."""

    fingerprint: str
    status: str
    labels: dict[str, str]
    summary: str
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    received_at: dt.datetime

    @property
    def la_code(self) -> str | None:
        return self.labels.get("la_code")

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "unnamed alert")


@dataclass(slots=True)
class IndicatorAlerts:
    """At most `capacity` alerts, one per fingerprint; the least recently updated is dropped first."""

    capacity: int = 500
    alerts: OrderedDict[str, IndicatorAlert] = field(default_factory=OrderedDict)

    def receive(self, payload: WebhookPayload, now: dt.datetime) -> int:
        for alert in payload.alerts:
            ends = alert.endsAt if alert.endsAt is not None and alert.endsAt.year > 1 else None
            shown = {k: v for k, v in alert.labels.items() if k in LABELS_SHOWN}
            summary = alert.annotations.get("summary", alert.annotations.get("description", ""))
            self.alerts.pop(alert.fingerprint, None)
            self.alerts[alert.fingerprint] = IndicatorAlert(
                alert.fingerprint, alert.status, shown, summary, alert.startsAt, ends, now
            )
            while len(self.alerts) > self.capacity:
                self.alerts.popitem(last=False)
        return len(payload.alerts)

    def visible_to(self, la_code: str) -> list[IndicatorAlert]:
        """A council's indicator alerts and the platform's (which name no council); firing first, newest first."""
        mine = [a for a in self.alerts.values() if a.la_code in (None, la_code)]
        return sorted(mine, key=lambda a: (a.status != "firing", -a.received_at.timestamp()))
