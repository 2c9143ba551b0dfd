"""`frontdoor receive` wiring: the Kafka outlet, the translation, the token issuer and the app, served until stopped."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry

from services.alertdesk.passwords import PasswordChecker
from services.identity.sealing import Keyring
from services.kafka.previous_records import previous_records
from services.kafka.publish import event_publisher
from services.metrics.metrics import ReceiverMetrics
from services.receiver.app import ReceiverContext, create_app
from services.receiver.clients import ClientRegistry
from services.receiver.jwks import ProviderTokens
from services.receiver.outlet import KafkaOutlet
from services.receiver.records import CscRecords
from services.receiver.service import Receiver
from services.receiver.settings import ReceiverSettings
from services.receiver.tokens import TokenIssuer
from services.settings import Settings

log = logging.getLogger(__name__)
SHUTDOWN_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class RunningReceiver:
    url: str
    context: ReceiverContext


def token_issuer(receiver_settings: ReceiverSettings) -> TokenIssuer:
    secret = receiver_settings.token_secret
    issuer, ttl = receiver_settings.token_issuer, receiver_settings.token_ttl_seconds
    if secret is None:
        log.warning("no FRONTDOOR_RECEIVER_TOKEN_SECRET: tokens are signed with a random key until this process ends")
        return TokenIssuer.random(issuer, ttl)
    return TokenIssuer(secret.get_secret_value().encode(), issuer, ttl)


def identity_keyring(settings: Settings) -> Keyring | None:
    keyring = Keyring.from_secrets(settings.identity_key, settings.identity_keys)
    if keyring.empty:
        log.warning("no FRONTDOOR_IDENTITY_KEY(S): children's council ids are not kept, so the desk cannot reveal them")
        return None
    return keyring


@contextlib.asynccontextmanager
async def run_receiver(
    settings: Settings,
    receiver_settings: ReceiverSettings,
    host: str,
    port: int,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> AsyncIterator[RunningReceiver]:
    """The receiver, loaded (every child's previous record read) and listening; yields its URL.

    `clock` is when records are received (the events' recorded_at): a simulated sender's night in tests.
    """
    keys = settings.pseudonym_keyring(council_files=True)  # each council's own; never the public dev key
    keyring = identity_keyring(settings)
    clients = ClientRegistry.load(receiver_settings.clients_file)
    registry = CollectorRegistry()
    metrics = ReceiverMetrics(registry, sorted({c.la_code for c, _hash in clients.clients.values()}))
    checker = PasswordChecker(
        receiver_settings.max_concurrent_secret_checks, receiver_settings.max_waiting_secret_checks
    )
    async with (
        event_publisher(settings, receiver_settings.events_topic) as publisher,
        previous_records(settings, receiver_settings.records_topic) as store,
        aiohttp.ClientSession() as http,
    ):
        outlet = KafkaOutlet(
            publisher, store, keyring, receiver_settings.identity_topic, receiver_settings.deadletter_topic, clock
        )
        context = ReceiverContext(
            receiver=Receiver(outlet, CscRecords(keys, clock), metrics, clock),
            clients=clients,
            issuer=token_issuer(receiver_settings),
            metrics=metrics,
            registry=registry,
            max_body_bytes=receiver_settings.max_body_bytes,
            max_records_per_batch=receiver_settings.max_records_per_batch,
            checker=checker,
        )
        if receiver_settings.oidc_issuer:
            provider = ProviderTokens.for_issuer(
                receiver_settings.oidc_issuer, receiver_settings.oidc_audience, receiver_settings.oidc_la_code_claim
            )
            provider.oidc.http = http
            context.external = provider
        runner = web.AppRunner(
            create_app(context),
            shutdown_timeout=SHUTDOWN_SECONDS,
            keepalive_timeout=receiver_settings.keepalive_timeout_seconds,
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        try:
            bound = runner.addresses[0][1]
            yield RunningReceiver(f"http://{host}:{bound}", context)
        finally:
            await runner.cleanup()
            checker.close()
