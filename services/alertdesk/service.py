"""Wires the running desk: topics, the rebuilding consumer, the durable producer, the notifier and the web server."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CollectorRegistry

from schemas.topics import ALERT_ACTIONS, ALERTS, AUDIT, COUNCIL_TOTALS, EVENTS, IDENTITY
from services.alertdesk.app import create_app
from services.alertdesk.auth import UserDirectory, load_users
from services.alertdesk.connections import ConnectionLimits, guarded
from services.alertdesk.context import DeskContext
from services.alertdesk.database import Database
from services.alertdesk.desk import Desk
from services.alertdesk.indicators import IndicatorAlerts
from services.alertdesk.kafka import consume, start_publisher
from services.alertdesk.metrics import desk_metrics
from services.alertdesk.notify import Notifier
from services.alertdesk.oidc import OidcClient, OidcConfig
from services.alertdesk.readmodel import ReadModel
from services.alertdesk.reveal_budget import RevealBudget
from services.alertdesk.revocation import UsersWatcher
from services.alertdesk.sessions import SessionStore
from services.alertdesk.settings import AlertDeskSettings
from services.alertdesk.signin import SignIn, ThrottlePolicy
from services.identity.sealing import Keyring
from services.identity.store import follow_identities
from services.identity.vault import IdentityVault
from services.ingest.identity import Pseudonymiser
from services.kafka.health import ClusterWatch
from services.kafka.topics import ensure_topics, plan_topic
from services.metrics.metrics import KafkaHealthMetrics
from services.settings import MissingPseudonymKeyError, Settings

SHUTDOWN_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class RunningDesk:
    url: str
    desk: Desk
    context: DeskContext
    tasks: tuple[asyncio.Task[None], ...]


def oidc_client(desk_settings: AlertDeskSettings) -> OidcClient | None:
    s = desk_settings
    if not s.oidc_issuer:
        return None
    assert s.oidc_client_id and s.oidc_redirect_url  # guaranteed by the settings validator
    secret = s.oidc_client_secret.get_secret_value() if s.oidc_client_secret else None
    config = OidcConfig(
        s.oidc_issuer, s.oidc_client_id, s.oidc_redirect_url, secret, s.oidc_role_claim, s.oidc_la_code_claim,
        s.oidc_agency_claim,
    )  # fmt: skip
    return OidcClient(config)


def session_store(desk_settings: AlertDeskSettings) -> SessionStore:
    secret = desk_settings.session_secret
    key = secret.get_secret_value().encode() if secret else secrets.token_bytes(32)
    return SessionStore(
        key,
        dt.timedelta(seconds=desk_settings.session_max_age_seconds),
        dt.timedelta(seconds=desk_settings.session_idle_seconds),
    )


def sign_in_defences(desk_settings: AlertDeskSettings) -> SignIn:
    s = desk_settings
    return SignIn.build(
        user_policy=ThrottlePolicy(
            s.signin_user_free_failures, s.signin_user_lockout_failures, s.signin_lockout_seconds
        ),
        address_policy=ThrottlePolicy(
            s.signin_address_free_failures, s.signin_address_lockout_failures, s.signin_lockout_seconds
        ),
        max_concurrent_hashes=s.max_concurrent_password_hashes,
        max_waiting_hashes=s.max_waiting_password_hashes,
    )


def open_read_model(desk_settings: AlertDeskSettings, rebuild: bool = False) -> ReadModel:
    """Open (and create) the database; `rebuild` drops the projection so it is replayed from the topics."""
    db = Database(desk_settings.database_url)
    if rebuild:
        db.drop_schema()
    db.create_schema()
    return ReadModel(db)


def child_id_search(settings: Settings) -> Pseudonymiser | None:
    """The ingest pseudonymiser, so a search by the council's child id becomes a search by pseudonym."""
    try:
        return Pseudonymiser(settings.pseudonym_keyring(council_files=False))
    except MissingPseudonymKeyError:
        return None


@contextlib.asynccontextmanager
async def run_desk(
    settings: Settings,
    desk_settings: AlertDeskSettings,
    host: str,
    port: int,
    users: UserDirectory | None = None,
    *,
    rebuild: bool = False,
) -> AsyncIterator[RunningDesk]:
    """Start everything, yield once the server listens, and stop it all on exit."""
    topics = [
        dataclasses.replace(ALERTS, name=desk_settings.alerts_topic),
        dataclasses.replace(ALERT_ACTIONS, name=desk_settings.actions_topic),
        dataclasses.replace(AUDIT, name=desk_settings.audit_topic),
        *([dataclasses.replace(EVENTS, name=desk_settings.events_topic)] if desk_settings.events_topic else []),
        *([dataclasses.replace(COUNCIL_TOTALS, name=desk_settings.totals_topic)] if desk_settings.totals_topic else []),
        dataclasses.replace(IDENTITY, name=desk_settings.identity_topic),
    ]
    await ensure_topics(settings, [plan_topic(spec, settings) for spec in topics])
    registry = CollectorRegistry()
    model = open_read_model(desk_settings, rebuild)
    desk = Desk(
        metrics=desk_metrics(registry, lambda: desk.state), state=model,
        history_after_days=desk_settings.history_after_days,
    )  # fmt: skip
    notifier = Notifier(desk_settings, desk.metrics)
    if notifier.enabled:
        desk.new_alert_listeners.append(notifier.count)
    publisher = await start_publisher(settings, desk_settings)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(consume(desk, settings, desk_settings, stop), name="alertdesk-consumer")]
    identity = IdentityVault(Keyring.from_secrets(settings.identity_key, settings.identity_keys))
    tasks.append(
        asyncio.create_task(
            follow_identities(identity, settings, desk_settings.identity_topic, stop), name="alertdesk-identities"
        )
    )
    if notifier.enabled:
        tasks.append(asyncio.create_task(notifier.run(stop), name="alertdesk-notifier"))
    context = DeskContext(
        settings=desk_settings,
        desk=desk,
        users=users if users is not None else load_users(desk_settings.users_file),
        sessions=session_store(desk_settings),
        audit=publisher,
        publish_action=publisher.publish_action,
        registry=registry,
        oidc=oidc_client(desk_settings),
        signin=sign_in_defences(desk_settings),
        pseudonymiser=child_id_search(settings),
        identity=identity,
        indicator_alerts=IndicatorAlerts(desk_settings.alertmanager_max_alerts),
        reveal_budget=RevealBudget(desk_settings.reveals_per_user_per_hour),
    )
    kafka_metrics = KafkaHealthMetrics(registry)
    written = [desk_settings.actions_topic, desk_settings.audit_topic]
    interval = desk_settings.kafka_health_interval_seconds
    context.kafka = ClusterWatch(settings, written, interval, [kafka_metrics.observe])
    tasks.append(asyncio.create_task(context.kafka.run(stop), name="alertdesk-kafka-health"))
    watcher = UsersWatcher(context, desk_settings.users_file)
    tasks.append(asyncio.create_task(watcher.run(stop), name="alertdesk-users-watcher"))
    app = create_app(context)

    async def _close_feeds(_app: web.Application) -> None:
        desk.hub.close()

    app.on_shutdown.append(_close_feeds)
    try:
        async with serve_app(app, desk_settings, host, port) as bound_port:
            yield RunningDesk(f"http://{host}:{bound_port}", desk, context, tuple(tasks))
    finally:
        stop.set()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=10)
        await publisher.stop()
        context.signin.checker.close()
        model.db.close()


@contextlib.asynccontextmanager
async def serve_app(app: web.Application, desk_settings: AlertDeskSettings, host: str, port: int) -> AsyncIterator[int]:
    """Serve `app` behind the connection limits; yields the bound port, and stops the server on exit."""
    runner = web.AppRunner(
        app,
        shutdown_timeout=SHUTDOWN_SECONDS,
        access_log=None,
        keepalive_timeout=desk_settings.keepalive_timeout_seconds,
    )
    await runner.setup()
    assert runner.server is not None  # set by setup()
    limits = ConnectionLimits(
        per_address=desk_settings.max_connections_per_address,
        total=desk_settings.max_connections,
        header_timeout_seconds=desk_settings.header_timeout_seconds,
    )
    server = await asyncio.get_running_loop().create_server(guarded(runner.server, limits), host, port)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        await runner.cleanup()
