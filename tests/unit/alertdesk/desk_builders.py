"""Alert and action builders with keyword overrides, and an in-process desk with a fixed clock and memory sinks."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from schemas.alerts import (
    AlertRevised,
    AlertWithdrawn,
    Enrichment,
    RaisedAlert,
    RepeatedContactsDetected,
    RereferralDetected,
    TwoReferralsInSixMonths,
    alert_id,
)
from schemas.codes import ClosureReason, Rule, Severity
from services.alertdesk.actions import (
    ActionMessage,
    AlertAcknowledged,
    AlertAssigned,
    AlertClosed,
    AlertNoteAdded,
    AlertOutcome,
)
from services.alertdesk.app import create_app
from services.alertdesk.audit import MemoryAuditSink
from services.alertdesk.auth import LocalUser, User, UserDirectory, hash_password
from services.alertdesk.context import DeskContext
from services.alertdesk.desk import Desk
from services.alertdesk.metrics import desk_metrics
from services.alertdesk.sessions import SessionStore
from services.alertdesk.settings import AlertDeskSettings

NOW = dt.datetime(2024, 6, 5, 9, 30, tzinfo=dt.UTC)
PASSWORD = "correct horse battery staple"


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def make_rereferral(
    *, la_code: str = "886", child_key: str = "child-a", referral_date: str = "2024-06-03", **overrides: Any
) -> RereferralDetected:
    d = day(referral_date)
    fields: dict[str, Any] = {
        "alert_id": alert_id(Rule.REREFERRAL, la_code, child_key, f"ref-{child_key}-{d}"),
        "rule": Rule.REREFERRAL,
        "severity": Severity.HIGH,
        "la_code": la_code,
        "child_key": child_key,
        "occurred_at": dt.datetime.combine(d, dt.time(10), tzinfo=dt.UTC),
        "trigger_event_id": f"e-{child_key}-{d}",
        "team": "Assessment Team North",
        "enrichment": Enrichment(
            days_since_previous_referral=94,
            referrals_in_12_months=2,
            previous_referral_date=d - dt.timedelta(days=94),
            previous_closure_date=d - dt.timedelta(days=40),
            previous_closure_reason=ClosureReason.CLOSED_AFTER_ASSESSMENT_NFA,
            previous_closing_team="Family Support East",
            same_primary_need_as_previous=True,
            contacts_in_90_days=3,
        ),
        "referral_id": f"ref-{child_key}-{d}",
        "referral_date": d,
        "previous_referral_id": f"ref-{child_key}-prev",
        "previous_referral_date": d - dt.timedelta(days=94),
    }
    return RereferralDetected(**(fields | overrides))


def make_two_referrals(
    *, la_code: str = "886", child_key: str = "child-a", referral_date: str = "2024-06-03", **overrides: Any
) -> TwoReferralsInSixMonths:
    base = make_rereferral(la_code=la_code, child_key=child_key, referral_date=referral_date)
    fields = base.model_dump(exclude={"type", "previous_referral_id", "primary_need"}) | {
        "alert_id": alert_id(Rule.TWO_REFERRALS_IN_SIX_MONTHS, la_code, child_key, base.referral_id),
        "rule": Rule.TWO_REFERRALS_IN_SIX_MONTHS,
        "severity": Severity.MEDIUM,
    }
    return TwoReferralsInSixMonths(**(fields | overrides))


def make_contacts_alert(*, la_code: str = "886", child_key: str = "child-b", **overrides: Any) -> RaisedAlert:
    fields: dict[str, Any] = {
        "alert_id": alert_id(Rule.REPEATED_CONTACTS, la_code, child_key, "c-1"),
        "rule": Rule.REPEATED_CONTACTS,
        "severity": Severity.LOW,
        "la_code": la_code,
        "child_key": child_key,
        "occurred_at": NOW,
        "trigger_event_id": "e-c-1",
        "team": "MASH",
        "contact_id": "c-1",
        "contact_date": NOW.date(),
        "contact_count": 3,
        "window_days": 90,
    }
    return RepeatedContactsDetected(**(fields | overrides))


def revised(alert: RaisedAlert, **changes: Any) -> AlertRevised:
    new = alert.model_copy(update=changes)
    return AlertRevised(alert_id=alert.alert_id, la_code=alert.la_code, child_key=alert.child_key, alert=new)


def withdrawn(alert: RaisedAlert, reason: str = "referral retracted") -> AlertWithdrawn:
    return AlertWithdrawn(
        alert_id=alert.alert_id, la_code=alert.la_code, child_key=alert.child_key, rule=alert.rule, reason=reason
    )


def _action_base(alert: RaisedAlert, actor: str, at: dt.datetime | None) -> dict[str, Any]:
    return {"alert_id": alert.alert_id, "la_code": alert.la_code, "actor": actor, "at": at or NOW}


def acknowledged(alert: RaisedAlert, actor: str = "dm.kent", at: dt.datetime | None = None) -> AlertAcknowledged:
    return AlertAcknowledged(**_action_base(alert, actor, at))


def assigned(alert: RaisedAlert, assignee: str = "Assessment Team South", kind: str = "team") -> AlertAssigned:
    return AlertAssigned(**_action_base(alert, "dm.kent", None), assignee_kind=kind, assignee=assignee)


def noted(alert: RaisedAlert, text: str = "Called the school.") -> AlertNoteAdded:
    return AlertNoteAdded(**_action_base(alert, "dm.kent", None), text=text)


def closed(alert: RaisedAlert, outcome: AlertOutcome = AlertOutcome.ASSESSMENT) -> AlertClosed:
    return AlertClosed(**_action_base(alert, "dm.kent", None), outcome=outcome)


USERS = {
    "dm.kent": User("dm.kent", "duty_manager", "886"),
    "tm.kent": User("tm.kent", "team_manager", "886"),
    "dm.oldham": User("dm.oldham", "duty_manager", "353"),
    "perf.kent": User("perf.kent", "performance", "886"),
    "police.kent": User("police.kent", "partner", "886", agency="police"),
    "hos.kent": User("hos.kent", "head_of_service", "886"),
    "hos.oldham": User("hos.oldham", "head_of_service", "353"),
    "admin.kent": User("admin.kent", "council_admin", "886"),
    "police.oldham": User("police.oldham", "partner", "353", agency="police"),
    "schools.kent": User("schools.kent", "partner", "886", agency="schools"),
}


@functools.cache
def _password_hash() -> str:
    return hash_password(PASSWORD)  # scrypt is deliberately slow: hash once per test run


def directory(*names: str) -> UserDirectory:
    chosen = names or tuple(USERS)
    return UserDirectory({n: LocalUser(USERS[n], _password_hash()) for n in chosen})


@dataclass(slots=True)
class Clock:
    now: dt.datetime = NOW

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@dataclass(slots=True)
class Harness:
    """A desk with memory sinks: what was audited and published can be read back."""

    settings: AlertDeskSettings = field(default_factory=lambda: AlertDeskSettings(cookie_secure=True))
    users: UserDirectory = field(default_factory=directory)
    clock: Clock = field(default_factory=Clock)
    audit: MemoryAuditSink = field(default_factory=MemoryAuditSink)
    published: list[ActionMessage] = field(default_factory=list)
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    context: DeskContext = field(init=False)

    def __post_init__(self) -> None:
        desk = Desk(metrics=desk_metrics(self.registry, lambda: desk.state), caught_up=True)
        sessions = SessionStore(b"k" * 32, dt.timedelta(hours=8), dt.timedelta(minutes=30))
        self.context = DeskContext(
            settings=self.settings,
            desk=desk,
            users=self.users,
            sessions=sessions,
            audit=self.audit,
            publish_action=self._publish,
            registry=self.registry,
            clock=self.clock,
            epoch="e1",
        )

    async def _publish(self, action: ActionMessage) -> None:
        self.published.append(action)

    @property
    def desk(self) -> Desk:
        return self.context.desk

    def fold(self, *messages: Any) -> None:
        """Alerts and actions, as if they had just been read from their topics."""
        for message in messages:
            if isinstance(message, AlertAcknowledged | AlertAssigned | AlertNoteAdded | AlertClosed):
                self.desk.fold_action(message)
            else:
                self.desk.fold_alert(message)


@contextlib.asynccontextmanager
async def browser(harness: Harness, username: str | None = None) -> AsyncIterator[TestClient[Any, Any]]:
    """A test client with its own cookie jar (Secure cookies allowed on 127.0.0.1), signed in as `username`."""
    server = TestServer(create_app(harness.context), host="127.0.0.1")
    await server.start_server()
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=str(server.make_url("/")))
    client = TestClient(server, cookie_jar=jar, timeout=aiohttp.ClientTimeout(total=10))
    await client.start_server()
    try:
        if username is not None:
            response = await sign_in(client, username)
            assert response.status == 200, await response.text()
        yield client
    finally:
        await client.close()


def login_nonce(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the login form carries a CSRF nonce"
    return match[1]


async def sign_in(client: TestClient[Any, Any], username: str, password: str = PASSWORD) -> aiohttp.ClientResponse:
    form = await client.get("/login")
    nonce = login_nonce(await form.text())
    return await client.post("/login", data={"username": username, "password": password, "csrf_token": nonce})


async def csrf_token(client: TestClient[Any, Any]) -> str:
    page = await client.get("/feed", headers={"Accept": "text/html"})
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', await page.text())
    assert match
    return match[1]


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    event: str
    data: dict[str, Any]
    id: str | None


async def read_events(
    response: aiohttp.ClientResponse, count: int, timeout_seconds: float = 5.0
) -> list[ServerSentEvent]:
    """Read `count` events (comments and retry lines skipped) from an open event stream, or fail on timeout."""
    events: list[ServerSentEvent] = []
    fields: dict[str, str] = {}
    async with asyncio.timeout(timeout_seconds):
        while len(events) < count:
            line = (await response.content.readline()).decode().rstrip("\n")
            if line == "":
                if "event" in fields:
                    events.append(ServerSentEvent(fields["event"], json.loads(fields["data"]), fields.get("id")))
                fields = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(": ")
                fields[name] = value
    return events
