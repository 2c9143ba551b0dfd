"""`frontdoor receive [add-client]`: serve the endpoint councils' DfE CSC API senders post to, and register senders."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from typing import Any

from aiokafka.errors import KafkaError
from pydantic import ValidationError

from services import log_budget
from services.settings import MissingPseudonymKeyError, Settings


def register(subparsers: Any) -> None:
    receive = subparsers.add_parser(
        "receive", help="receive the DfE CSC API records a council's sender posts (HTTP, OAuth2 client credentials)"
    )
    receive.add_argument("--host", default=None, help="address to listen on (default: FRONTDOOR_RECEIVER_HOST)")
    receive.add_argument("--port", type=int, default=None, help="default: FRONTDOOR_RECEIVER_PORT (8090)")
    receive.set_defaults(handler=run_receive)
    commands = receive.add_subparsers(dest="receive_command")
    client = commands.add_parser("add-client", help="register (or re-key) a council's sender; prints its secret once")
    client.add_argument("client_id")
    client.add_argument("--la-code", required=True, help="three-digit DfE council code, e.g. 886")
    client.set_defaults(handler=run_add_client)


def run_add_client(args: argparse.Namespace) -> int:
    from services.receiver.clients import ClientsFileError, add_client  # noqa: PLC0415
    from services.receiver.settings import ReceiverSettings  # noqa: PLC0415

    path = ReceiverSettings().clients_file
    try:
        secret = add_client(path, args.client_id, args.la_code)
    except ClientsFileError as error:
        print(f"frontdoor receive add-client: {error}", file=sys.stderr)
        return 2
    print(f"Client {args.client_id} may now send council {args.la_code}'s records (stored in {path}).")
    print("Its secret, shown once (give it to the council's sender as CLIENT_SECRET):")
    print(secret)
    return 0


def run_receive(args: argparse.Namespace) -> int:
    from services.receiver.settings import ReceiverSettings  # noqa: PLC0415

    try:
        settings, receiver_settings = Settings(), ReceiverSettings()
        settings.pseudonym_key_for_council_files()
    except (ValidationError, MissingPseudonymKeyError) as error:
        print(f"frontdoor receive: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log_budget.install()  # a flood of refused requests cannot fill the disk
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    host = args.host or receiver_settings.host
    port = receiver_settings.port if args.port is None else args.port
    try:
        return asyncio.run(_serve(settings, receiver_settings, host, port))
    except (KafkaError, OSError) as error:
        print(f"frontdoor receive: {error}. Is Kafka at {settings.bootstrap_servers}?", file=sys.stderr)
        return 1


async def _serve(settings: Settings, receiver_settings: Any, host: str, port: int) -> int:
    from services.receiver.serve import run_receiver  # noqa: PLC0415  # the web stack loads only to serve

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with run_receiver(settings, receiver_settings, host, port) as running:
        path = "/children_social_care_data/{la_code}/children"
        print(f"Receiver at {running.url}: token {running.url}/oauth2/token, records {running.url}{path}", flush=True)
        await stop.wait()
    return 0
