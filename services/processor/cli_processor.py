"""`frontdoor worker` (the live processor) and `frontdoor alerts tail` (alerts in the terminal, for the demo)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer

from schemas.alerts import AlertMessage, AlertRevised, AlertWithdrawn
from schemas.codec import decode_alert
from schemas.topics import ALERTS, COUNCIL_TOTALS, DEADLETTER, EVENTS
from services.core.config import DEFAULT_CONFIG, Rules
from services.council_targets import load_targets
from services.kafka.clients import consumer_kwargs
from services.kafka.topics import TopicPlan, changelog_plan, ensure_topics, plan_topic
from services.metrics.config import MetricsConfig
from services.processor.settings import ProcessorSettings
from services.rules_config import RulesConfigError, load_council_settings
from services.settings import Settings


def register(subparsers: Any) -> None:
    worker = subparsers.add_parser("worker", help=f"run the live processor (a faust worker) on {EVENTS.name}")
    worker.add_argument("--store", help="rocksdb:// (default) or memory://")
    worker.add_argument("--datadir", type=Path, help="where RocksDB keeps the local state")
    worker.add_argument("--instance-id", help="static group membership id, unique per worker (fast restart)")
    worker.add_argument("--metrics-host", help="bind address for /metrics (default 127.0.0.1)")
    worker.add_argument("--metrics-port", type=int, help="port for /metrics")
    worker.add_argument("--loglevel", default="info", choices=("debug", "info", "warning", "error"))
    worker.set_defaults(handler=run_worker_command)

    alerts = subparsers.add_parser("alerts", help="read the alerts topic")
    actions = alerts.add_subparsers(dest="action", required=True)
    tail = actions.add_parser("tail", help="print alerts as they arrive: rule, severity, council, pseudonym, date")
    tail.add_argument("--from-beginning", action="store_true", help="start at the oldest alert still kept")
    tail.add_argument("--limit", type=int, default=None, help="stop after this many messages")
    tail.set_defaults(handler=run_alerts_tail)


def topic_plans(settings: Settings, processor: ProcessorSettings) -> list[TopicPlan]:
    """The worker's topics under its configured names, and its changelogs, compact-only and co-partitioned.

    Every topic gets `topic_partitions` partitions: the events topic and the children changelog must have the
    same count, or faust's assignor would not give a council's partition and its children to one worker.
    """
    from services.processor.app import changelog_names  # noqa: PLC0415  # faust is imported only to run it

    specs = [
        dataclasses.replace(EVENTS, name=processor.events_topic),
        dataclasses.replace(ALERTS, name=processor.alerts_topic),
        dataclasses.replace(DEADLETTER, name=processor.deadletter_topic),
        dataclasses.replace(COUNCIL_TOTALS, name=processor.totals_topic),
    ]
    return [plan_topic(s, settings) for s in specs] + [changelog_plan(n, settings) for n in changelog_names(processor)]


def worker_configuration(settings: Settings, processor: ProcessorSettings) -> tuple[Rules, MetricsConfig]:
    """The council rules file (FRONTDOOR_RULES_CONFIG), read once: its definitions on the worker's retention, and
    the targets and neighbours of the gauges (with the deprecated metrics file's); the defaults without a file.

    `replay`, `report` and `pack` read the same file, so a council's live and offline figures use one definition.
    """
    council = load_council_settings(settings.rules_config, base=DEFAULT_CONFIG) if settings.rules_config else None
    rules = council.rules if council is not None else DEFAULT_CONFIG
    return rules, load_targets(council, processor.metrics_config)


def run_worker_command(args: argparse.Namespace) -> int:
    overrides = {
        "store": args.store,
        "datadir": args.datadir,
        "group_instance_id": args.instance_id,
        "metrics_host": args.metrics_host,
        "metrics_port": args.metrics_port,
    }
    settings = Settings()
    processor = ProcessorSettings(**{k: v for k, v in overrides.items() if v is not None})
    try:
        rules, targets = worker_configuration(settings, processor)
    except RulesConfigError as error:
        print(f"frontdoor worker: {error}", file=sys.stderr)
        return 2
    processor.datadir.mkdir(parents=True, exist_ok=True)  # faust creates only the last path component
    created = asyncio.run(ensure_topics(settings, topic_plans(settings, processor)))
    print(f"frontdoor worker: created topics {created or 'none (all present)'}", file=sys.stderr)
    from services.processor.app import make_app, run_worker  # noqa: PLC0415

    asyncio.set_event_loop(asyncio.new_event_loop())  # asyncio.run closed the previous one; faust needs a loop
    metrics, built = None, None
    if processor.metrics_port is not None:
        metrics = _serve_metrics(
            processor, processor.metrics_port, targets, lambda: built.totals.totals if built else {}
        )
    built = make_app(settings, processor, rules=rules, metrics=metrics)
    run_worker(built, loglevel=args.loglevel)
    return 0


def _serve_metrics(processor: ProcessorSettings, port: int, targets: MetricsConfig, totals: Any) -> Any:
    """The worker's /metrics: processing counters and the indicator gauges read from the council table."""
    import datetime as dt  # noqa: PLC0415

    from prometheus_client import CollectorRegistry, start_http_server  # noqa: PLC0415

    from services.metrics.collector import worker_metrics  # noqa: PLC0415

    registry = CollectorRegistry()
    metrics = worker_metrics(registry, totals=totals, clock=lambda: dt.datetime.now(dt.UTC), config=targets)
    host = processor.metrics_host or "127.0.0.1"
    start_http_server(port, addr=host, registry=registry)
    print(f"frontdoor worker: /metrics on {host}:{port}", file=sys.stderr)
    return metrics


def alert_line(message: AlertMessage) -> str:
    """One terminal line with no child key at all: a terminal is not audited, so it shows only the alert's id.

    Who looks at a child's alerts is audited on the desk; the id leads there, the terminal says nothing more.
    """
    if isinstance(message, AlertWithdrawn):
        return f"withdrawn  {message.rule.value:<30} la={message.la_code} alert={message.alert_id[:12]}"
    revised = isinstance(message, AlertRevised)
    alert = message.alert if isinstance(message, AlertRevised) else message
    day = getattr(alert, "referral_date", None) or getattr(alert, "contact_date", None) or alert.occurred_at.date()
    return (
        f"{'revised' if revised else 'raised':<10} {alert.rule.value:<30} {alert.severity.value:<6} "
        f"la={alert.la_code} alert={alert.alert_id[:12]} date={day}"
    )


async def tail_alerts(settings: Settings, topic: str, from_beginning: bool, limit: int | None) -> None:
    start = {"auto_offset_reset": "earliest" if from_beginning else "latest"}
    consumer = AIOKafkaConsumer(topic, **(consumer_kwargs(settings, group_id=None) | start))
    await consumer.start()
    shown = 0
    try:
        async for record in consumer:
            print(alert_line(decode_alert(record.value)), flush=True)
            shown += 1
            if limit is not None and shown >= limit:
                return
    finally:
        await consumer.stop()


def run_alerts_tail(args: argparse.Namespace) -> int:
    settings = Settings()
    processor = ProcessorSettings()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(tail_alerts(settings, processor.alerts_topic, args.from_beginning, args.limit))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m services.processor.cli_processor worker`, before the lead registers the module in services/cli."""
    parser = argparse.ArgumentParser(prog="frontdoor")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    result: int = args.handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
