"""`frontdoor identity erase`: remove children from the identity store (retention, erasure) with tombstones."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from schemas.topics import IDENTITY
from services.ingest.identity import Pseudonymiser, erasure_keys
from services.pseudonym_keys import UnknownCouncilKeyError
from services.settings import MissingPseudonymKeyError, Settings


def register(subparsers: Any) -> None:
    identity = subparsers.add_parser("identity", help="the sealed identity store (pseudonym -> LA child id)")
    commands = identity.add_subparsers(dest="identity_command", required=True)
    erase = commands.add_parser("erase", help="erase children's mappings: the desk can no longer reveal them")
    erase.add_argument("--la-code", required=True, help="three-digit DfE council code")
    erase.add_argument("--child-id", action="append", default=[], help="the council's own child id (repeatable)")
    erase.add_argument("--child-key", action="append", default=[], help="a pseudonym as the desk shows it")
    erase.add_argument("--topic", default=IDENTITY.name, help=argparse.SUPPRESS)
    erase.set_defaults(handler=run_erase)


def run_erase(args: argparse.Namespace) -> int:
    from services.identity.store import publish_erasure  # noqa: PLC0415  # Kafka only when it runs

    settings = Settings()
    if not (args.child_id or args.child_key):
        print("frontdoor identity erase: give --child-id or --child-key", file=sys.stderr)
        return 2
    try:
        pseudonymiser = Pseudonymiser(settings.pseudonym_keyring(council_files=True))
        keys = erasure_keys(pseudonymiser, args.la_code, args.child_id, args.child_key)
    except (MissingPseudonymKeyError, UnknownCouncilKeyError, ValueError) as error:
        print(f"frontdoor identity erase: {error}", file=sys.stderr)
        return 2
    asyncio.run(publish_erasure(settings, keys, args.topic))
    print(f"erased {len(keys)} child{'ren' if len(keys) != 1 else ''} from {args.topic}")
    return 0
