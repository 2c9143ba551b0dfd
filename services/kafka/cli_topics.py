"""`frontdoor topics create|plan`: explicit topic creation with planned partitions, replication and cleanup."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from services.kafka.topics import all_plans, ensure_topics
from services.settings import Settings


def register(subparsers: Any) -> None:
    topics = subparsers.add_parser("topics", help="create the project's Kafka topics explicitly")
    actions = topics.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create the missing topics (existing ones are left alone)")
    create.set_defaults(handler=run_create)
    plan = actions.add_parser("plan", help="print what would be created")
    plan.set_defaults(handler=run_plan)


def run_plan(args: argparse.Namespace) -> int:
    for plan in all_plans(Settings()):
        print(f"{plan.name}: {plan.partitions} partitions, replication {plan.replication_factor}, {plan.configs}")
    return 0


def run_create(args: argparse.Namespace) -> int:
    settings = Settings()
    created = asyncio.run(ensure_topics(settings, all_plans(settings)))
    print(f"created {len(created)} topic(s): {', '.join(created) or 'none missing'} on {settings.bootstrap_servers}")
    return 0
