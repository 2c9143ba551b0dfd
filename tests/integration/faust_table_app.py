"""A tiny faust app that counts events per key in a table, run as a worker subprocess by the restore test.

    python -m tests.integration.faust_table_app worker --app-id ID --broker kafka://HOST:PORT \
        --topic NAME --partitions 6 --snapshot PATH --datadir DIR

Every few hundred milliseconds (once table recovery has finished) the worker writes a JSON snapshot:
{"counts": {key: n}, "processed_by_this_process": m}. A restarted worker whose table already holds the
totals while it has processed nothing itself can only have got them from the changelog topic.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faust

from services.kafka.clients import faust_credentials
from services.settings import Settings

SNAPSHOT_INTERVAL_SECONDS = 0.2


@dataclass(slots=True)
class CountingApp:
    """The faust app, its table, and how many events this process itself has counted."""

    app: Any
    counts: Any
    processed: dict[str, int] = field(default_factory=lambda: {"by_this_process": 0})

    def snapshot(self) -> dict[str, Any]:
        return {"counts": dict(self.counts.items()), "processed_by_this_process": self.processed["by_this_process"]}


def make_app(app_id: str, broker_url: str, topic_name: str, partitions: int, datadir: str | None = None) -> CountingApp:
    """Build the app; nothing is opened until a worker starts it."""
    app = faust.App(
        app_id,
        broker=broker_url,
        # A test's own faust app, not a service: it connects as the environment says (the admin on the secured
        # CI broker, which creates its changelog; nothing on a PLAINTEXT dev broker).
        broker_credentials=faust_credentials(Settings(profile="dev")),
        store="memory://",
        # faust reads unprefixed variables (BROKER_URL, STORE, WEB_PORT, ...) from os.environ by default,
        # and they win over these arguments; an empty mapping makes this call the only source of config.
        env={},
        datadir=datadir or f"{app_id}-data",
        topic_partitions=partitions,
        topic_replication_factor=1,
        topic_disable_leader=True,  # no extra __assignor-__leader topic per app id
        web_enabled=False,
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
        # A stopped worker leaves its group at once, so these only matter if a worker is killed.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=1.0,
        broker_rebalance_timeout=10.0,
        broker_commit_interval=0.5,
        stream_wait_empty=False,
    )
    source = app.topic(topic_name, key_type=str, value_type=bytes, value_serializer="raw", partitions=partitions)
    counts = app.Table("counts", default=int, partitions=partitions, key_type=str, value_type=int)
    counting = CountingApp(app, counts)

    @app.agent(source)
    async def count_events(stream: Any) -> None:
        async for key, _value in stream.items():
            counts[key] += 1
            counting.processed["by_this_process"] += 1

    return counting


def write_snapshot(counting: CountingApp, path: Path) -> None:
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(counting.snapshot()))
    partial.replace(path)  # atomic: readers never see a half-written file


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="faust_table_app")
    parser.add_argument("command", choices=["worker"])
    parser.add_argument("--app-id", required=True)
    parser.add_argument("--broker", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--partitions", type=int, required=True)
    parser.add_argument("--snapshot", type=Path, required=True)
    parser.add_argument("--datadir", required=True)
    args = parser.parse_args(argv)

    counting = make_app(args.app_id, args.broker, args.topic, args.partitions, args.datadir)

    # faust starts timers only after table recovery has finished, so no snapshot shows a half-restored table.
    @counting.app.timer(interval=SNAPSHOT_INTERVAL_SECONDS)
    async def snapshot() -> None:
        write_snapshot(counting, args.snapshot)

    # The worker installs SIGTERM/SIGINT handlers that stop the app cleanly (offsets committed, group left).
    faust.Worker(counting.app, loglevel="info").execute_from_commandline()


if __name__ == "__main__":
    main()
