"""`frontdoor demo`: push a synthetic front-door feed through Kafka, a faust worker and the core, and summarise."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Any

from aiokafka.errors import KafkaError

from services.demo.platform import WORKER_DEADLINE_SECONDS, run_demo
from services.settings import Settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="produce synthetic events, process them with a faust worker and the core, print a summary",
        description="Writes synthetic events to the configured broker's topics; runs only with FRONTDOOR_PROFILE=dev.",
    )
    parser.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    settings = Settings()
    if settings.profile != "dev":
        # The demo writes made-up children into the real topics of whatever broker is configured.
        print("frontdoor demo writes synthetic events; it runs only with FRONTDOOR_PROFILE=dev.", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Right after the demo creates its topics the broker answers NotLeaderForPartition for a moment; the
    # idempotent producer retries without loss or reordering, so those warnings are noise here.
    logging.getLogger("aiokafka.producer.sender").setLevel(logging.ERROR)
    try:
        report = asyncio.run(run_demo(settings))
    except TimeoutError:
        print(f"The demo worker did not catch up within {WORKER_DEADLINE_SECONDS:g}s.", file=sys.stderr)
        return 1
    except KafkaError as error:
        print(
            f"Kafka at {settings.bootstrap_servers} failed: {error}. Start the broker with `make kafka-up`.",
            file=sys.stderr,
        )
        return 1
    print("\n".join(report.lines()))
    return 0 if report.survived else 1
