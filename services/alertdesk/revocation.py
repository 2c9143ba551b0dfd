"""Revocation without a restart: the users file is re-read when it changes, and sessions it no longer allows end."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

from services.alertdesk.auth import UserDirectory, UsersFileError, load_users
from services.alertdesk.context import DeskContext
from services.alertdesk.sessions import Session

log = logging.getLogger(__name__)
CHECK_SECONDS = 2.0


def apply_users(context: DeskContext, users: UserDirectory) -> int:
    """Use `users` from now on and end the sessions of local users removed, disabled or changed. How many ended."""
    context.users = users

    def revoked(session: Session) -> bool:
        entry = users.users.get(session.user.username)
        return session.method == "local" and (entry is None or entry.disabled or entry.user != session.user)

    ended = context.sessions.end_where(revoked)
    if ended:
        log.warning("users changed: ended %d session(s) of removed, disabled or changed users", ended)
        context.desk.hub.notify()  # open live feeds see their session gone and close now
    return ended


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_mtime_ns, stat.st_size, stat.st_ino


@dataclass(slots=True)
class UsersWatcher:
    """Polls the file's size, time and inode (cheap, and works on every filesystem the desk may run on)."""

    context: DeskContext
    path: Path
    seen: tuple[int, int, int] | None = field(default=None)

    def __post_init__(self) -> None:
        self.seen = _signature(self.path)

    def check(self) -> int:
        """Reload if the file changed; end the sessions of removed or changed local users. How many ended."""
        now = _signature(self.path)
        if now == self.seen:
            return 0
        self.seen = now
        try:
            users = load_users(self.path)
        except UsersFileError as error:  # half-edited or broken: keep the users we had, and say so
            log.error("users file changed but cannot be read, keeping the previous users: %s", error)
            return 0
        return apply_users(self.context, users)

    async def run(self, stop: asyncio.Event, interval_seconds: float = CHECK_SECONDS) -> None:
        while not stop.is_set():
            self.check()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_seconds)
