"""The `frontdoor` command: one entry point, subcommands registered by each service's cli_* module."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Each module exposes register(subparsers); its handlers read Settings once and pass them down.
SUBCOMMAND_MODULES: tuple[str, ...] = (
    "services.cli_core",
    "services.kafka.cli_topics",
    "services.ingest.cli_ingest",
    "services.identity.cli_identity",
    "services.cli_demo",
    "services.simulator.cli_simulate",
    "services.alertdesk.cli_alertdesk",
    "services.metrics.cli_dashboards",
    "services.processor.cli_processor",
    "services.reports.cli_pack",
    "services.receiver.cli_receive",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="frontdoor", description="Front Door Monitor")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
