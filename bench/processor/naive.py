"""The baseline the batched worker is measured against: a plain faust table agent, one event at a time.

    python -m bench.processor.naive --app-id ID --events TOPIC --outputs TOPIC --status PATH --datadir DIR [--trivial]

Per event it does the same work as the worker (decode, read the child, the core, prune, write the child
through faust's table API, send alerts and the contribution and wait for each acknowledgement), without
batching: one table write and one changelog message per event. With --trivial it only counts events per
child in the table, which is faust's own per-event ceiling for a table agent. Writes {"events": n} to
--status as it goes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

import faust
from pydantic import ValidationError

from schemas.codec import decode_event, encode
from services.core.aggregates import contribution
from services.core.calendar import local_date
from services.core.config import DEFAULT_CONFIG
from services.core.engine import Engine
from services.core.state import dump_json, from_document, to_document
from services.kafka.clients import faust_broker_url
from services.processor.tables import table_key
from services.settings import Settings


def make_app(args: argparse.Namespace) -> tuple[Any, dict[str, int]]:
    settings = Settings(profile="dev")
    app = faust.App(
        args.app_id,
        broker=faust_broker_url(settings),
        env={},
        store="memory://" if args.trivial else "rocksdb://",
        datadir=args.datadir,
        topic_partitions=settings.topic_partitions,
        topic_disable_leader=True,
        key_serializer="raw",
        value_serializer="raw",
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        stream_recovery_delay=0.0,
    )
    raw = {"partitions": settings.topic_partitions, "key_type": bytes, "value_type": bytes}
    table = app.Table("children", **raw) if not args.trivial else app.Table("counts", default=int, key_type=bytes)
    source = app.topic(args.events, schema=faust.Schema(key_type=bytes, value_type=bytes))
    outputs = app.topic(args.outputs, schema=faust.Schema(key_type=bytes, value_type=bytes))
    progress = {"events": 0}

    async def count(stream: Any) -> None:
        async for key, _ in stream.items():
            table[key] += 1
            progress["events"] += 1

    async def process(stream: Any) -> None:
        async for value in stream:
            try:
                event = decode_event(value)
            except ValidationError:
                continue
            child = (event.la_code, event.child_key)
            engine = Engine(DEFAULT_CONFIG)
            stored = table.get(table_key(child))
            if stored is not None:
                engine.children[child] = from_document(stored)
            messages = engine.apply(event)[1]
            history = engine.children[child]
            history.prune(local_date(event.occurred_at), DEFAULT_CONFIG)
            table[table_key(child)] = to_document(history)
            for message in messages:
                await (await outputs.send(key=message.child_key.encode(), value=encode(message)))
            rows = [[*key, n] for key, n in contribution(history, DEFAULT_CONFIG).items()]
            share = dump_json({"child_key": event.child_key, "contribution": rows})
            await (await outputs.send(key=event.la_code.encode(), value=share))
            progress["events"] += 1

    app.agent(source, concurrency=1)(count if args.trivial else process)

    async def write_status() -> None:
        partial = Path(args.status).with_suffix(".partial")
        partial.write_text(json.dumps(progress))
        partial.replace(args.status)

    app.timer(interval=0.2)(write_status)
    return app, progress


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.processor.naive")
    parser.add_argument("--app-id", required=True)
    parser.add_argument("--events", required=True)
    parser.add_argument("--outputs", required=True, help="alerts and each child's council contribution both go here")
    parser.add_argument("--status", required=True)
    parser.add_argument("--datadir", required=True)
    parser.add_argument("--trivial", action="store_true")
    args = parser.parse_args()
    app, _ = make_app(args)
    worker = faust.Worker(app, loglevel="warning")
    # faust's terminal spinner sets the root logger to DEBUG when the level is WARN or above, so every debug
    # call in aiokafka and faust would build a log record: without it the baseline is not slowed by logging.
    worker.spinner = None
    worker.execute_from_commandline()


if __name__ == "__main__":
    asyncio.set_event_loop(asyncio.new_event_loop())
    main()
