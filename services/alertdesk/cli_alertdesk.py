"""`frontdoor alertdesk serve|add-user`: run the duty managers' desk, and manage its local users."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from aiokafka.errors import KafkaError
from pydantic import ValidationError

from services import log_budget
from services.alertdesk.auth import FIRST_RUN_HELP, ROLES, UsersFileError, add_user, load_users, make_user
from services.alertdesk.passwords import MIN_PASSWORD_CHARACTERS, password_problem
from services.alertdesk.settings import AlertDeskSettings
from services.settings import Settings


def register(subparsers: Any) -> None:
    desk = subparsers.add_parser("alertdesk", help="the duty managers' live alert desk (web app)")
    commands = desk.add_subparsers(dest="alertdesk_command", required=True)
    serve = commands.add_parser("serve", help="serve the desk over the alerts and actions topics")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument(
        "--rebuild", action="store_true", help="drop the read model and replay it from the topics (Kafka is the source)"
    )
    serve.set_defaults(handler=run_serve)
    user = commands.add_parser("add-user", help="add or replace a local user (the password is asked for)")
    user.add_argument("--users-file", type=Path, default=None, help="default: FRONTDOOR_ALERTDESK_USERS_FILE")
    user.add_argument("--username", required=True)
    user.add_argument("--role", required=True, choices=ROLES)
    user.add_argument("--la-code", required=True, help="three-digit DfE council code, e.g. 886")
    user.add_argument("--agency", help="partner role only: the agency (Annex A source group, e.g. police)")
    user.add_argument(
        "--password-stdin",
        action="store_true",
        help=f"read the password from standard input (at least {MIN_PASSWORD_CHARACTERS} characters)",
    )
    user.set_defaults(handler=run_add_user)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise UsersFileError("the two passwords differ")
    return first


def run_add_user(args: argparse.Namespace) -> int:
    path = args.users_file or AlertDeskSettings().users_file
    try:
        user = make_user(args.username, args.role, args.la_code, args.agency)
        password = _read_password(args.password_stdin)
        problem = password_problem(password, user.username)
        if problem is not None:
            raise UsersFileError(problem)
        add_user(path, user, password)
    except UsersFileError as error:
        print(f"frontdoor alertdesk add-user: {error}", file=sys.stderr)
        return 2
    print(f"Saved {user.username} ({user.role}, council {user.la_code}) in {path}.")
    return 0


def run_serve(args: argparse.Namespace) -> int:
    try:
        settings, desk_settings = Settings(), AlertDeskSettings()
        users = load_users(desk_settings.users_file)
    except (ValidationError, UsersFileError) as error:
        print(f"frontdoor alertdesk serve: {error}", file=sys.stderr)
        return 2
    if users.empty and not desk_settings.oidc_enabled:
        print(FIRST_RUN_HELP.format(path=desk_settings.users_file), file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log_budget.install()  # an error loop or a flood of refused sign-ins cannot fill the disk
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    try:
        return asyncio.run(_serve(settings, desk_settings, args.host, args.port, users, rebuild=args.rebuild))
    except (KafkaError, OSError) as error:
        print(f"frontdoor alertdesk serve: {error}. Is Kafka at {settings.bootstrap_servers}?", file=sys.stderr)
        return 1


async def _serve(
    settings: Settings, desk_settings: AlertDeskSettings, host: str, port: int, users: Any, *, rebuild: bool
) -> int:
    from services.alertdesk.service import run_desk  # noqa: PLC0415  # the web stack loads only for `serve`

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with run_desk(settings, desk_settings, host, port, users, rebuild=rebuild) as running:
        login = "your council account (OIDC)" if desk_settings.oidc_enabled else f"a user in {desk_settings.users_file}"
        print(f"Alert desk at {running.url}/login  (sign in with {login}; Ctrl-C stops it)", flush=True)
        stopping = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([stopping, *running.tasks], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        failed = [t for t in done if t is not stopping and t.exception() is not None]
        for task in failed:
            print(f"frontdoor alertdesk serve: {task.get_name()} stopped: {task.exception()}", file=sys.stderr)
    return 1 if failed else 0
