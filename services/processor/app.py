"""The faust app: the events topic, the children table, one agent, two timers.

It only wires: the agent takes a batch of events (`noack_take`), hands it to the handler a partition at a time,
and acknowledges the events once the handler has sent and written everything they caused.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence, Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faust
from aiokafka.admin import AIOKafkaAdminClient
from faust.types import TP

from services.core.aggregates import AggregateKey
from services.core.config import DEFAULT_CONFIG, Rules
from services.kafka.clients import common_kwargs, consumer_kwargs, faust_broker_url, faust_credentials
from services.kafka.health import ClusterWatch
from services.processor.faust_workarounds import GapReader, InOrder
from services.processor.handlers import Clock, EventsHandler
from services.processor.observe import NoMetrics, ProcessorMetrics
from services.processor.settings import ProcessorSettings
from services.settings import Settings

CHILDREN_TABLE = "children"
STATE_INTERVAL_SECONDS = 10.0  # state size and consumer lag; counting a RocksDB table reads every key


def changelog_names(processor: ProcessorSettings) -> tuple[str]:
    """faust's naming: <app id>-<table>-changelog. `frontdoor worker` creates it compact-only beforehand."""
    return (f"{processor.app_id}-{CHILDREN_TABLE}-changelog",)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(slots=True)
class ProcessorApp:
    """The app, its table and handler; council_totals is the read API the metrics module uses."""

    app: Any
    children: Any
    events: EventsHandler

    @property
    def totals(self) -> Any:
        return self.events.totals

    def council_totals(self, la_code: str) -> Counter[AggregateKey]:
        return self.events.totals.council_totals(la_code)

    def status(self, *, with_councils: bool = True) -> dict[str, Any]:
        counts = self.events.counts
        status: dict[str, Any] = {
            "events": counts.events,
            "dead_letters": counts.dead_letters,
            "alert_messages": counts.alerts,
            "batches": counts.batches,
            "first_batch_started_at": counts.first_batch_started_at,
            "first_batch_at": counts.first_batch_at,
            "last_batch_at": counts.last_batch_at,
            "positions": counts.positions,
        }
        if with_councils:
            totals = self.events.totals
            status["councils"] = {la: sorted([*k, n] for k, n in totals.totals[la].items()) for la in totals.councils()}
        return status


def _faust_app(settings: Settings, processor: ProcessorSettings) -> Any:
    return faust.App(
        processor.app_id,
        broker=faust_broker_url(settings),
        broker_credentials=faust_credentials(settings),
        env={},  # faust's unprefixed variables (BROKER_URL, STORE, ...) must not override our settings
        store=processor.store,
        datadir=str(processor.datadir),
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication_factor,
        topic_disable_leader=True,
        key_serializer="raw",
        value_serializer="raw",
        processing_guarantee="at_least_once",  # exactly_once is unreliable in faust-streaming
        producer_acks=-1,  # acks=all: with min.insync.replicas=2 of 3, a write survives losing any one broker
        # faust enables idempotence only inside transactions (exactly_once); without it, aiokafka still keeps a
        # partition's batches in order (one in flight each), and a retried alert or changelog write repeats the same
        # bytes, which readers fold by alert id or key.
        producer_request_timeout=processor.producer_request_timeout_seconds,
        producer_linger=0.01,  # fewer, larger produce requests; each batch ends with a flush, so no added latency
        consumer_auto_offset_reset="earliest",
        consumer_group_instance_id=processor.group_instance_id,
        broker_session_timeout=processor.session_timeout_seconds,
        broker_heartbeat_interval=processor.heartbeat_interval_seconds,
        broker_rebalance_timeout=processor.rebalance_timeout_seconds,
        broker_commit_interval=processor.commit_interval_seconds,
        consumer_max_fetch_size=4 * 1024 * 1024,
        broker_max_poll_records=1_000,  # a fetch holds at most this many records in memory
        stream_buffer_maxsize=max(4_096, 2 * processor.max_batch),
        stream_wait_empty=True,  # a rebalance or shutdown lets the batch in hand finish (and ack) first
        stream_recovery_delay=0.0,  # faust waits 3 s after every rebalance by default
        web_enabled=False,
    )


def make_app(
    settings: Settings,
    processor: ProcessorSettings,
    *,
    rules: Rules = DEFAULT_CONFIG,
    metrics: ProcessorMetrics | None = None,
    clock: Clock = utc_now,
) -> ProcessorApp:
    """Build the app; nothing connects until a faust worker starts it."""
    app = _faust_app(settings, processor)
    partitions = settings.topic_partitions
    # key_type/value_type bytes is what makes the table's serializers raw.
    children = app.Table(
        CHILDREN_TABLE,
        help="la|child -> history document or redirect",
        partitions=partitions,
        key_type=bytes,
        value_type=bytes,
    )
    events_topic = app.topic(
        processor.events_topic, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )
    handler = EventsHandler(app, children, processor, rules, metrics or NoMetrics(), clock, partitions)
    built = ProcessorApp(app, children, handler)

    # The gap reader reads what faust's own consumer reads (at least once: uncommitted isolation).
    gaps = GapReader(app, consumer_kwargs(settings, group_id=None) | {"isolation_level": "read_uncommitted"})
    in_order = InOrder(CommittedOffsets(app, settings, processor.app_id).get, earliest_offset(app), gaps.read)

    # A batch spans partitions; it is handled a partition at a time (a council's events in offset order), each
    # part's table writes going to its partition. Events of a partition revoked since they were fetched are left
    # unacknowledged and come again; events faust lost (#596) are read aside and come first. A failed part crashes
    # the worker unacknowledged; its events come again after the restart.
    @app.agent(events_topic)  # type: ignore[untyped-decorator]  # faust is untyped
    async def process_events(stream: Any) -> None:
        async for batch in stream.noack_take(processor.max_batch, within=processor.batch_window_seconds):
            for fetched in by_partition(batch, app.consumer.assignment()):
                part = await in_order.admit(fetched, app.consumer_generation_id)
                for handled_before in in_order.take_redelivered():
                    await stream.ack(handled_before)
                if not part:
                    continue
                try:
                    await handler.handle(part)
                except Exception as error:
                    await app.crash(error)
                    raise
                for event in part:
                    await stream.ack(event)

    async def rebuild_totals() -> None:
        # Only the councils whose partitions this worker now holds; another worker sums the rest.
        changelog = changelog_names(processor)[0]
        handler.rebuild_totals({tp.partition for tp in app.assignor.assigned_actives() if tp.topic == changelog})
        await handler.publish_totals()  # every month of those councils, so the totals topic agrees with the table

    async def observe_state() -> None:
        handler.observe_state()

    outputs = (processor.alerts_topic, processor.deadletter_topic, processor.totals_topic)
    topics = [processor.events_topic, *outputs, *changelog_names(processor)]
    kafka = ClusterWatch(settings, topics, processor.kafka_health_interval_seconds, [handler.metrics.kafka_health])

    async def check_kafka() -> None:
        await kafka.check()

    children.on_recover(rebuild_totals)
    app.timer(interval=STATE_INTERVAL_SECONDS)(observe_state)  # faust starts timers after recovery
    app.timer(interval=processor.kafka_health_interval_seconds)(check_kafka)
    if processor.status_path is not None:
        status_path = processor.status_path
        seen: list[int] = []
        written: list[int] = []

        async def write_status() -> None:
            # While batches flow, progress only; the council totals (thousands of rows, costly to write) once the
            # worker has been idle for one interval. A reader waiting for totals waits for a quiet moment.
            progress = handler.counts.batches
            if seen[-1:] != [progress]:
                _write_json(status_path, built.status(with_councils=False))
                seen[:] = [progress]
            elif written[-1:] != [progress]:
                _write_json(status_path, built.status())
                written[:] = [progress]

        app.timer(interval=processor.status_interval_seconds)(write_status)
    return built


@dataclass(slots=True)
class CommittedOffsets:
    """The group's committed offsets, asked of the broker once per rebalance (aiokafka's admin client)."""

    app: Any
    settings: Settings
    group: str
    cached: dict[Any, int] = field(default_factory=dict)
    generation: int | None = None

    async def get(self, tp: Any) -> int | None:
        if self.generation != self.app.consumer_generation_id:
            self.generation = self.app.consumer_generation_id
            admin = AIOKafkaAdminClient(**common_kwargs(self.settings))
            await admin.start()
            try:
                offsets = await admin.list_consumer_group_offsets(self.group)
            finally:
                await admin.close()
            self.cached = {TP(t.topic, t.partition): m.offset for t, m in offsets.items() if m.offset >= 0}
        return self.cached.get(tp)


def earliest_offset(app: Any) -> Callable[[Any], Awaitable[int]]:
    async def earliest(tp: Any) -> int:
        offsets = await app.consumer.earliest_offsets(tp)
        return int(offsets[tp])

    return earliest


def by_partition(batch: Sequence[Any], assigned: Set[Any]) -> list[list[Any]]:
    """A batch's events grouped by partition in arrival order, leaving out partitions no longer assigned."""
    parts: dict[Any, list[Any]] = {}
    for event in batch:
        if event.message.tp in assigned:
            parts.setdefault(event.message.tp, []).append(event)
    return list(parts.values())


def _write_json(path: Path, document: dict[str, Any]) -> None:
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(document))
    partial.replace(path)  # atomic: a reader never sees half a file


def run_worker(built: ProcessorApp, loglevel: str = "info") -> None:
    """Run the faust worker until SIGTERM/SIGINT; it commits offsets and leaves the group on the way out."""
    worker = faust.Worker(built.app, loglevel=loglevel)
    # faust's terminal spinner sets the root logger to DEBUG at loglevel warning and above, so every debug call
    # in aiokafka and faust would build a log record (a few % of the worker's CPU); a service needs no spinner.
    worker.spinner = None
    worker.execute_from_commandline()
