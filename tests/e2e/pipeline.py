"""The live path of issue #7 for the browser tests and the latency script: events -> `frontdoor worker` -> desk.

A real worker subprocess (memory store, as in the processor integration tests) and a real desk in a thread, on
private topics that are created up front and deleted afterwards, changelogs included.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.kafka_principals import principal_settings
from bench.processor.harness import Names, WorkerProcess, create_topics, delete_topics, read_topic
from schemas.events import InboundEvent
from schemas.topics import ALERT_ACTIONS, AUDIT, IDENTITY
from services.alertdesk.auth import UserDirectory
from services.alertdesk.settings import AlertDeskSettings
from services.kafka.topics import ensure_topics, plan_topic
from services.settings import Settings
from tests.e2e.desk_runner import DeskThread

WORKER_READY_SECONDS = 90.0  # a cold faust worker on a busy 2-core machine


@dataclass(frozen=True, slots=True)
class Pipeline:
    """A worker and a desk wired together: what is produced to `events_topic` reaches the desk's feed."""

    settings: Settings
    names: Names
    worker: WorkerProcess
    desk: DeskThread

    @property
    def events_topic(self) -> str:
        return self.names.processor_settings().events_topic

    def produce_events(self, *events: InboundEvent) -> None:
        """Inbound events, keyed by child as the ingest adapters key them, each acknowledged by the broker."""
        self.desk.produce_events(*events, topic=self.events_topic)

    def wait_for_alerts(self, alert_ids: Iterable[str], timeout_seconds: float = 60.0) -> None:
        """Until the desk holds every one of `alert_ids`; fails early, with the worker's log, if the worker dies."""
        wanted = set(alert_ids)
        deadline = time.monotonic() + timeout_seconds
        while not wanted <= self.desk.alert_ids():
            if not self.worker.alive():
                raise RuntimeError(f"the worker exited:\n{self.worker.log_tail()}")
            if time.monotonic() > deadline:
                missing = sorted(wanted - self.desk.alert_ids())
                raise TimeoutError(f"alerts {missing} not on the desk after {timeout_seconds}s:\n{self.diagnosis()}")
            time.sleep(0.05)

    def dead_letters(self) -> list[dict[str, Any]]:
        """Every envelope the worker wrote to its dead-letter topic."""
        topic = self.names.processor_settings().deadletter_topic
        return [json.loads(r.value or b"{}") for r in asyncio.run(read_topic(self.settings, topic))]

    def diagnosis(self) -> str:
        return f"worker status {self.worker.status()}\nworker log:\n{self.worker.log_tail()}"


def wait_until_running(worker: WorkerProcess, timeout_seconds: float = WORKER_READY_SECONDS) -> None:
    """The worker writes its status file from a faust timer, and faust starts timers once its tables recovered."""
    deadline = time.monotonic() + timeout_seconds
    while worker.status() is None:
        if not worker.alive():
            raise RuntimeError(f"the worker exited while starting:\n{worker.log_tail()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the worker did not start within {timeout_seconds}s:\n{worker.log_tail()}")
        time.sleep(0.1)


@contextlib.contextmanager
def live_pipeline(
    settings: Settings,
    workdir: Path,
    users: UserDirectory,
    purpose: str,
    *,
    timeline: bool = False,
    **desk_overrides: Any,
) -> Iterator[Pipeline]:
    """Start the worker, wait until it runs, start a desk over its alerts topic; stop both and delete every topic.

    With `timeline` the desk also projects the worker's events topic, for the child timeline.
    """
    names = Names.unique(purpose)
    desk_config = AlertDeskSettings(
        alerts_topic=names.processor_settings().alerts_topic,
        actions_topic=names.topic(ALERT_ACTIONS.name),
        audit_topic=names.topic(AUDIT.name),
        # The desk's timelines read the worker's events topic only when asked: on the secured broker that needs the
        # desk principal's READ on the events topic (deploy/kafka/kafka_security.py).
        events_topic=names.processor_settings().events_topic if timeline else "",
        identity_topic=names.topic(IDENTITY.name),
        totals_topic=names.processor_settings().totals_topic,  # the worker's council totals, for the partner portal
        **({"database_url": "sqlite:///:memory:", "history_after_days": 100_000} | desk_overrides),
    )
    # Every topic up front (by `settings`, the admin on the secured broker): the desk's principal may not create any.
    asyncio.run(create_topics(settings, names))
    desk_topics = [dataclasses.replace(spec, name=names.topic(spec.name)) for spec in (ALERT_ACTIONS, AUDIT, IDENTITY)]
    asyncio.run(ensure_topics(settings, [plan_topic(spec, settings) for spec in desk_topics]))
    # The worker connects as its own principal by itself (WorkerProcess); the desk as the desk.
    worker = WorkerProcess("worker", workdir, names.env(), store="memory://")
    desk: DeskThread | None = None
    try:
        worker.start()
        wait_until_running(worker)
        desk = DeskThread(settings, desk_config, users, desk_kafka=principal_settings("desk")).start()
        yield Pipeline(settings, names, worker, desk)
    finally:
        if desk is not None:
            desk.stop()
        worker.stop()
        doomed = [*names.all_topics(), desk_config.actions_topic, desk_config.audit_topic, desk_config.identity_topic]
        asyncio.run(delete_topics(settings, doomed))
