"""Sessions: a random id in an HMAC-signed cookie, kept server-side with absolute and idle expiry and a CSRF token."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from services.alertdesk.auth import User

SESSION_COOKIE = "fd_session"
LOGIN_COOKIE = "fd_login"  # the pre-login CSRF nonce for the login form
OIDC_COOKIE = "fd_oidc"  # binds an OIDC state to the browser that started the login


def sign(secret: bytes, value: str) -> str:
    mac = hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()
    return f"{value}.{mac}"


def unsign(secret: bytes, signed: str | None) -> str | None:
    """The value if the signature is ours, else None (constant-time comparison)."""
    if not signed or "." not in signed:
        return None
    value, mac = signed.rsplit(".", 1)
    expected = hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()
    return value if hmac.compare_digest(mac, expected) else None


def tokens_match(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


@dataclass(slots=True)
class Session:
    session_id: str
    user: User
    csrf_token: str
    created_at: dt.datetime
    last_seen: dt.datetime
    method: str = "local"  # "local" (the users file decides whether it may continue) or "oidc"


@dataclass(slots=True)
class SessionStore:
    """In memory: a restart signs everyone out, which an 8-hour session on a single desk instance can afford.

    Keeping sessions server-side means logout really ends a session, and idle time is tracked without
    re-issuing the cookie on every request.
    """

    secret: bytes
    max_age: dt.timedelta
    idle: dt.timedelta
    _sessions: dict[str, Session] = field(default_factory=dict)

    def create(self, user: User, now: dt.datetime, *, method: str = "local") -> tuple[Session, str]:
        """A new session and its signed cookie value."""
        self._sweep(now)
        session = Session(secrets.token_urlsafe(32), user, secrets.token_urlsafe(32), now, now, method)
        self._sessions[session.session_id] = session
        return session, sign(self.secret, session.session_id)

    def resolve(self, cookie: str | None, now: dt.datetime, *, touch: bool = True) -> Session | None:
        """The live session for a cookie, or None if unsigned, unknown, too old or idle too long."""
        session_id = unsign(self.secret, cookie)
        session = self._sessions.get(session_id) if session_id else None
        if session is None:
            return None
        if not self.alive(session, now):
            self._sessions.pop(session.session_id, None)
            return None
        if touch:
            session.last_seen = now
        return session

    def alive(self, session: Session, now: dt.datetime) -> bool:
        return (
            session.session_id in self._sessions
            and now - session.created_at < self.max_age
            and now - session.last_seen < self.idle
        )

    def end(self, cookie: str | None) -> None:
        session_id = unsign(self.secret, cookie)
        if session_id:
            self._sessions.pop(session_id, None)

    def end_where(self, condition: Callable[[Session], bool]) -> int:
        """End every session for which `condition` holds (a removed or changed user); how many ended."""
        ended = [s.session_id for s in self._sessions.values() if condition(s)]
        for session_id in ended:
            del self._sessions[session_id]
        return len(ended)

    def _sweep(self, now: dt.datetime) -> None:
        for session in [s for s in self._sessions.values() if not self.alive(s, now)]:
            del self._sessions[session.session_id]
