"""What every request handler needs, built by the entry point (or a test) and passed to the app factory."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from aiohttp import web
from multidict import MultiDictProxy
from prometheus_client import CollectorRegistry

from schemas.audit import MAX_ALERT_IDS_PER_RECORD, AuditRecord, ChildLevelDataViewed
from services.alertdesk.actions import ActionMessage, utc_now
from services.alertdesk.audit import AuditHealth, AuditSink
from services.alertdesk.auth import User, UserDirectory
from services.alertdesk.bychild import OtherAlert
from services.alertdesk.desk import Desk
from services.alertdesk.indicators import IndicatorAlerts
from services.alertdesk.oidc import OidcClient
from services.alertdesk.reveal_budget import RevealBudget
from services.alertdesk.sessions import Session, SessionStore
from services.alertdesk.settings import AlertDeskSettings
from services.alertdesk.signin import SignIn
from services.alertdesk.state import AlertRecord
from services.identity.vault import IdentityVault
from services.ingest.identity import Pseudonymiser
from services.kafka.health import ClusterWatch

ActionPublisher = Callable[[ActionMessage], Awaitable[None]]

# Why each child-level route exists: the audit record's `purpose`, from code, never from the request.
PURPOSES: dict[str, str] = {
    "feed": "live alert feed: triage of new alerts",
    "feed_stream": "live alert feed: updates pushed to an open page",
    "alert": "one alert's detail",
    "action": "recording a decision on an alert",
    "weekly": "weekly review of children with two referrals in six months",
    "weekly_csv": "weekly review list exported for the meeting",
    "search": "search for one child's alerts by the council's child id or pseudonym",
    "history": "history: alerts about past records, kept out of the live feed",
    "bulk_close": "closing history alerts in bulk",
    "timeline": "one child's front-door timeline",
    "dip_sample": "audit dip sample: the sampled children of a quarter's re-referrals",
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
    signin: SignIn = field(default_factory=SignIn.build)
    audit_health: AuditHealth = field(default_factory=AuditHealth)
    live_streams: Counter[str] = field(default_factory=Counter)  # open feed streams per session id
    identity: IdentityVault = field(default_factory=IdentityVault)  # sealed council ids, opened by reveal.py
    indicator_alerts: IndicatorAlerts = field(default_factory=IndicatorAlerts)  # from Alertmanager, by hooks.py
    reveal_budget: RevealBudget = field(default_factory=RevealBudget)  # council ids one person may see an hour
    # Feed event ids are "<epoch>-<seq>": a client resuming across a restart of the desk gets a full snapshot.
    epoch: str = field(default_factory=lambda: secrets.token_hex(4))
    # Computes a pseudonym from the council's child id for search; None without FRONTDOOR_PSEUDONYM_KEY.
    pseudonymiser: Pseudonymiser | None = None
    # Whether Kafka takes the desk's durable writes (actions, audit), as last checked; None: not watched (tests).
    kafka: ClusterWatch | None = None

    async def audit_view(
        self,
        user: User,
        route: str,
        records: Sequence[AlertRecord | OtherAlert],
        child_key: str | None = None,
        sample_id: str | None = None,
    ) -> None:
        """Write the audit records before the response leaves; if they cannot be written, nothing is sent.

        A view of many alerts is split into records of at most MAX_ALERT_IDS_PER_RECORD ids, so no record can
        outgrow the broker's message limit however large the council's feed.
        """
        ids = [r.alert_id for r in records]
        chunks = [ids[i : i + MAX_ALERT_IDS_PER_RECORD] for i in range(0, len(ids), MAX_ALERT_IDS_PER_RECORD)] or [[]]
        now = self.clock()
        for part, chunk in enumerate(chunks, start=1):
            entry = ChildLevelDataViewed(
                occurred_at=now, user=user.username, role=user.role, la_code=user.la_code, route=route,
                purpose=PURPOSES[route], alert_ids=tuple(chunk), part=part, parts=len(chunks), child_key=child_key,
                sample_id=sample_id,
            )  # fmt: skip
            await self.audit_record(entry, route)

    async def audit_record(self, entry: AuditRecord, route: str) -> None:
        """Write one audit record, keeping the audit's health and count; raises when it cannot be kept."""
        try:
            await self.audit.record(entry)
        except Exception:
            self.audit_health.failed()
            raise
        self.audit_health.succeeded()
        self.desk.metrics.audit_records.labels(route=route).inc()


CONTEXT = web.AppKey("desk_context", DeskContext)
SESSION = web.RequestKey("frontdoor_session", Session)  # where the auth middleware puts the live session


def context_of(request: web.Request) -> DeskContext:
    return request.app[CONTEXT]


def session_of(request: web.Request) -> Session:
    return request[SESSION]


async def read_form(request: web.Request) -> MultiDictProxy[str | bytes | bytearray | web.FileField]:
    """The posted form, or 408 when its body does not arrive within the body timeout (a slow client)."""
    try:
        async with asyncio.timeout(context_of(request).settings.body_timeout_seconds):
            return await request.post()
    except TimeoutError:
        raise web.HTTPRequestTimeout(text="the request body was too slow", content_type="text/plain") from None
