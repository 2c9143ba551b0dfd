"""A tiny faust app that seeks its one partition back once, mid-stream, run as a subprocess by the #596 test.

    python -m tests.integration.faust_seek_app --app-id ID --broker kafka://HOST:PORT --topic NAME \
        --seek-to OFFSET --result PATH

Its agent is slow, so faust's stream buffer is full and its fetcher waits part-way through a fetched batch, as in
the worker under backpressure. Once the agent has seen 100 events it seeks the partition back to `--seek-to`
with faust's public `seek_wait`, as the worker's #596 workaround used to. Every few hundred milliseconds it writes
{"before": offsets delivered before the seek, "after": offsets delivered after it} as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

import faust

from services.kafka.clients import faust_credentials
from services.settings import Settings

SEEK_AFTER_EVENTS = 100
RESULT_INTERVAL_SECONDS = 0.2


def make_app(app_id: str, broker_url: str, topic_name: str, seek_to: int) -> tuple[Any, dict[str, list[int]]]:
    """Build the app and the offsets it records; nothing is opened until a worker starts it."""
    app = faust.App(
        app_id,
        broker=broker_url,
        broker_credentials=faust_credentials(Settings(profile="dev")),  # as the environment says (admin on CI)
        store="memory://",
        env={},  # faust's unprefixed variables must not override this call
        topic_partitions=1,
        topic_replication_factor=1,
        topic_disable_leader=True,
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        broker_max_poll_records=500,  # a fetch the fetcher hands over record by record
        stream_buffer_maxsize=50,  # full almost at once: backpressure
        stream_recovery_delay=0.0,
    )
    source = app.topic(topic_name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
    seen: dict[str, list[int]] = {"before": [], "after": []}

    @app.agent(source)
    async def slow(stream: Any) -> None:
        async for batch in stream.noack_take(10, within=0.05):
            sought = len(seen["before"]) >= SEEK_AFTER_EVENTS
            seen["after" if sought else "before"].extend(event.message.offset for event in batch)
            await asyncio.sleep(0.02)  # slow: faust's fetcher waits part-way through its batch
            if not sought and len(seen["before"]) >= SEEK_AFTER_EVENTS:
                await app.consumer.seek_wait({batch[0].message.tp: seek_to})
            for event in batch:
                await stream.ack(event)

    return app, seen


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="faust_seek_app")
    parser.add_argument("--app-id", required=True)
    parser.add_argument("--broker", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--seek-to", type=int, required=True)
    parser.add_argument("--result", type=Path, required=True)
    args = parser.parse_args(argv)
    app, seen = make_app(args.app_id, args.broker, args.topic, args.seek_to)

    @app.timer(interval=RESULT_INTERVAL_SECONDS)
    async def write_result() -> None:
        partial = args.result.with_suffix(".partial")
        partial.write_text(json.dumps(seen))
        partial.replace(args.result)

    faust.Worker(app, loglevel="warning").execute_from_commandline()


if __name__ == "__main__":
    main()
