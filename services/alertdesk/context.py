"""What every request handler needs, built by the entry point (or a test) and passed to the app factory."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import CollectorRegistry

from services.alertdesk.actions import ActionMessage, utc_now
from services.alertdesk.audit import AuditSink, ChildLevelDataViewed
from services.alertdesk.auth import User, UserDirectory
from services.alertdesk.desk import Desk
from services.alertdesk.oidc import OidcClient
from services.alertdesk.sessions import Session, SessionStore
from services.alertdesk.settings import AlertDeskSettings
from services.alertdesk.state import AlertRecord

ActionPublisher = Callable[[ActionMessage], Awaitable[None]]

# Why each child-level route exists: the audit record's `purpose`, from code, never from the request.
PURPOSES: dict[str, str] = {
    "feed": "live alert feed: triage of new alerts",
    "feed_stream": "live alert feed: updates pushed to an open page",
    "alert": "one alert's detail",
    "action": "recording a decision on an alert",
    "weekly": "weekly review of children with two referrals in six months",
    "weekly_csv": "weekly review list exported for the meeting",
}


@dataclass(slots=True)
class DeskContext:
    settings: AlertDeskSettings
    desk: Desk
    users: UserDirectory
    sessions: SessionStore
    audit: AuditSink
    publish_action: ActionPublisher
    registry: CollectorRegistry
    oidc: OidcClient | None = None
    clock: Callable[[], dt.datetime] = utc_now
    # Feed event ids are "<epoch>-<seq>": a client resuming across a restart of the desk gets a full snapshot.
    epoch: str = field(default_factory=lambda: secrets.token_hex(4))

    async def audit_view(self, user: User, route: str, records: list[AlertRecord]) -> None:
        """Write the audit record before the response leaves; if it cannot be written, nothing is sent."""
        await self.audit.record(
            ChildLevelDataViewed(
                occurred_at=self.clock(),
                user=user.username,
                role=user.role,
                la_code=user.la_code,
                route=route,
                purpose=PURPOSES[route],
                alert_ids=tuple(r.alert_id for r in records),
            )
        )
        self.desk.metrics.audit_records.labels(route=route).inc()


CONTEXT = web.AppKey("desk_context", DeskContext)
SESSION = web.RequestKey("frontdoor_session", Session)  # where the auth middleware puts the live session


def context_of(request: web.Request) -> DeskContext:
    return request.app[CONTEXT]


def session_of(request: web.Request) -> Session:
    return request[SESSION]
