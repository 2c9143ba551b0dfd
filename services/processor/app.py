"""The faust app: three topics in, a fetch at a time (bulk.py); two tables; three batch tasks. It only wires."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faust

from services.core.aggregates import AggregateKey
from services.core.config import DEFAULT_CONFIG, RuleConfig
from services.kafka.clients import faust_broker_url, faust_credentials
from services.processor.bulk import Feed, install, run_batches
from services.processor.councils import CouncilTotals, decode_contribution
from services.processor.handlers import Clock, CouncilsHandler, EventsHandler
from services.processor.observe import NoMetrics, ProcessorMetrics
from services.processor.settings import ProcessorSettings
from services.processor.tables import TableWriter, partition_for
from services.settings import Settings

CHILDREN_TABLE = "children"
COUNCILS_TABLE = "councils"
STATE_INTERVAL_SECONDS = 10.0  # state size and consumer lag; counting a RocksDB table reads every key


def changelog_names(processor: ProcessorSettings) -> tuple[str, str]:
    """faust's naming: <app id>-<table>-changelog. `frontdoor worker` creates them compact-only beforehand."""
    return (f"{processor.app_id}-{CHILDREN_TABLE}-changelog", f"{processor.app_id}-{COUNCILS_TABLE}-changelog")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(slots=True)
class ProcessorApp:
    """The app, its tables and handlers; council_totals is the read API the metrics module uses."""

    app: Any
    children: Any
    councils: Any
    events: EventsHandler
    aggregator: CouncilsHandler
    totals: CouncilTotals

    def council_totals(self, la_code: str) -> Counter[AggregateKey]:
        return self.totals.council_totals(la_code)

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
            "handover_messages": counts.handovers,
        }
        if with_councils:
            status["councils"] = {
                la: sorted([*k, n] for k, n in self.totals.totals[la].items()) for la in self.totals.councils()
            }
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
        producer_acks=-1,
        producer_linger=0.01,  # fewer, larger produce requests; each batch ends with a flush, so no added latency
        consumer_auto_offset_reset="earliest",
        consumer_group_instance_id=processor.group_instance_id,
        broker_session_timeout=processor.session_timeout_seconds,
        broker_heartbeat_interval=processor.heartbeat_interval_seconds,
        broker_rebalance_timeout=processor.rebalance_timeout_seconds,
        broker_commit_interval=processor.commit_interval_seconds,
        consumer_max_fetch_size=4 * 1024 * 1024,
        # A fetch hands a Feed at most this many records: unbounded, one fetch held tens of MB of records at once
        # (RSS +40 MiB per 100k children) and the worker ran 30% slower (measured: 3.3-3.4k vs 4.7-5.0k events/s).
        broker_max_poll_records=1_000,
        stream_buffer_maxsize=max(4_096, 2 * processor.max_batch),
        stream_wait_empty=True,  # a rebalance or shutdown lets the batch in hand finish (and ack) first
        stream_recovery_delay=0.0,  # faust waits 3 s after every rebalance by default
        web_enabled=False,
    )


def _raw_schema() -> Any:
    """Bytes in, bytes out. A new Schema each time: faust may update a schema it was given in place."""
    return faust.Schema(key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")


def make_app(
    settings: Settings,
    processor: ProcessorSettings,
    *,
    config: RuleConfig = DEFAULT_CONFIG,
    metrics: ProcessorMetrics | None = None,
    clock: Clock = utc_now,
) -> ProcessorApp:
    """Build the app; nothing connects until a faust worker starts it."""
    app = _faust_app(settings, processor)
    partitions = settings.topic_partitions
    # key_type/value_type bytes is what makes a table's serializers raw (a schema= is not consulted for them).
    raw: dict[str, Any] = {"partitions": partitions, "key_type": bytes, "value_type": bytes}
    children = app.Table(CHILDREN_TABLE, help="la|child -> history document or redirect", **raw)
    councils = app.Table(COUNCILS_TABLE, help="la|child -> latest contribution", **raw)
    totals = CouncilTotals()
    watch = metrics or NoMetrics()
    handler = EventsHandler(app, children, TableWriter(app, children), processor, config, watch, clock, partitions)
    aggregator = CouncilsHandler(councils, TableWriter(app, councils), totals)
    built = ProcessorApp(app, children, councils, handler, aggregator, totals)

    # The two topics are consumed a fetch at a time (bulk.py): faust's per-record delivery cost as much as all
    # of our batch handling. Each batch is acked only after it is done; a failed batch crashes the worker.
    window = processor.batch_window_seconds
    maxsize = app.conf.stream_buffer_maxsize  # the bound faust gives a stream's buffer, set above
    events_feed = Feed(app, processor.events_topic, maxsize)
    handover_feed = Feed(app, processor.handover_topic_name, maxsize)  # merges across partitions
    contributions_feed = Feed(app, processor.contributions_topic, maxsize)
    feeds = (events_feed, handover_feed, contributions_feed)
    for feed in feeds:
        app.topics.add(app.topic(feed.topic, schema=_raw_schema()))  # subscribed, acked and committed by faust
    install(app, feeds)

    async def process_events() -> None:
        await run_batches(app, events_feed, handler.handle, processor.max_batch, window)

    async def process_handovers() -> None:
        await run_batches(app, handover_feed, handler.handle_handovers, processor.max_batch, window)

    async def aggregate_councils() -> None:
        await run_batches(app, contributions_feed, aggregator.handle, processor.max_batch, window)

    app.task(process_events)
    app.task(process_handovers)
    app.task(aggregate_councils)

    async def rebuild_totals() -> None:
        # Only the councils whose partitions this worker now holds; another worker sums the rest.
        changelog = changelog_names(processor)[1]
        mine = {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == changelog}
        entries = (decode_contribution(raw) for raw in councils.values())
        totals.rebuild(e for e in entries if partition_for(e.la_code, partitions) in mine)

    async def observe_state() -> None:
        handler.observe_state()

    councils.on_recover(rebuild_totals)
    app.timer(interval=STATE_INTERVAL_SECONDS)(observe_state)  # faust starts timers after recovery
    if processor.status_path is not None:
        status_path = processor.status_path

        seen: list[tuple[int, int]] = []
        written: list[tuple[int, int]] = []

        async def write_status() -> None:
            # While batches flow, progress only; the council totals (thousands of rows, costly to write) once the
            # worker has been idle for one interval. A reader waiting for totals waits for a quiet moment.
            progress = (handler.counts.batches, aggregator.batches)
            if seen[-1:] != [progress]:
                _write_json(status_path, built.status(with_councils=False))
                seen[:] = [progress]
            elif written[-1:] != [progress]:
                _write_json(status_path, built.status())
                written[:] = [progress]

        app.timer(interval=processor.status_interval_seconds)(write_status)
    return built


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
