"""The worker's own settings (FRONTDOOR_PROCESSOR_*), read once by the entry point next to the shared Settings."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.topics import ALERTS, COUNCIL_TOTALS, DEADLETTER, EVENTS

APP_ID = "frontdoor-processor"


class ProcessorSettings(BaseSettings):
    """Batching, tolerance, state store and restart tuning of `frontdoor worker`."""

    model_config = SettingsConfigDict(env_prefix="FRONTDOOR_PROCESSOR_", extra="ignore", frozen=True)

    app_id: str = APP_ID  # the consumer group, and the prefix of the changelog topics
    events_topic: str = EVENTS.name
    alerts_topic: str = ALERTS.name
    deadletter_topic: str = DEADLETTER.name
    totals_topic: str = COUNCIL_TOTALS.name  # whole council-month snapshots of the totals, for the partner portal

    # One state write per child per batch: bigger batches amortise the per-event cost.
    max_batch: int = Field(default=1_000, ge=1, le=100_000)
    batch_window_seconds: float = Field(default=0.05, gt=0, le=10)
    # Events dated further ahead of the worker's clock than this are dead-lettered, not applied.
    future_tolerance_seconds: float = Field(default=86_400.0, ge=0)

    store: str = "rocksdb://"  # memory:// in tests; rocksdb:// keeps state on local disk between restarts
    datadir: Path = Path(".frontdoor/processor")
    # Static group membership: a restarted worker with the same id gets its partitions back without waiting
    # for the broker to notice the old process is gone. Each worker needs its own id (e.g. the pod name).
    group_instance_id: str | None = None
    session_timeout_seconds: float = Field(default=10.0, ge=6, le=300)  # the broker's minimum is 6 s
    heartbeat_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    rebalance_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    commit_interval_seconds: float = Field(default=0.5, gt=0, le=60)
    # How long a produce (alerts, changelog) is retried before the worker fails with an error: long enough to ride
    # out a leader election or a rolling restart, far shorter than faust's 20 minutes of silent retries.
    producer_request_timeout_seconds: float = Field(default=120.0, ge=10, le=1_200)
    # How often the worker checks that its topics can take durable writes (log, /metrics; docs/runbook.md).
    kafka_health_interval_seconds: float = Field(default=10.0, gt=0, le=600)

    # Expired children: how often (seconds of the worker's clock) each partition is swept.
    expiry_sweep_seconds: float = Field(default=3_600.0, gt=0)

    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = Field(default=None, ge=1, le=65_535)
    # Deprecated: the old per-council targets and neighbours file, still read for one release with a warning.
    # Targets now live in the rules file's [councils.<la_code>.targets] (docs/platform.md).
    metrics_config: Path | None = None
    # If set, the worker rewrites this JSON file every status_interval_seconds: positions, counts, council
    # totals. Tests and benchmarks watch it; nothing reads it back.
    status_path: Path | None = None
    status_interval_seconds: float = Field(default=0.5, gt=0)
