"""On the real broker: a whole-child purge posted to `frontdoor receive` erases the child from the identity store."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from pathlib import Path

import aiohttp
import pytest

from bench.kafka_principals import principal_settings
from bench.processor.harness import read_topic
from schemas.topics import CSC_RECORDS, DEADLETTER, EVENTS, IDENTITY
from services.identity.sealing import Keyring, decode_key
from services.identity.vault import IdentityVault
from services.ingest.identity import Pseudonymiser
from services.receiver.clients import add_client
from services.receiver.serve import run_receiver
from services.receiver.settings import ReceiverSettings
from services.settings import Settings
from tests.integration.conftest import TestTopics

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(90)]
LA = "942"
NOW = dt.datetime(2026, 5, 12, 23, 0, tzinfo=dt.UTC)
FULL = {
    "la_child_id": "LA-77",
    "mis_child_id": "MIS-77",
    "social_care_episodes": [{"social_care_episode_id": "E-1", "referral_date": "2026-04-01", "referral_source": "5A"}],
}
PURGE = {"la_child_id": "LA-77", "mis_child_id": "MIS-77", "purge": True}


async def vault_of(settings: Settings, topic: str, identity_key: str) -> IdentityVault:
    """The desk's view of the identity store: the topic folded from the beginning, tombstones applied."""
    vault = IdentityVault(Keyring(decode_key(identity_key)))
    for message in await read_topic(settings, topic, timeout=20):
        vault.fold(message.key, message.value)
    return vault


async def post(url: str, secret: str, records: list[dict[str, object]]) -> None:
    async with aiohttp.ClientSession() as http:
        form = {"grant_type": "client_credentials", "client_id": "council-sender", "client_secret": secret}
        async with http.post(f"{url}/oauth2/token", data=form) as response:
            token = (await response.json())["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        path = f"{url}/children_social_care_data/{LA}/children"
        async with http.post(path, data=json.dumps(records), headers=headers) as answer:
            assert answer.status == 200, await answer.text()


async def test_after_a_whole_child_purge_the_identity_store_cannot_reveal_the_child(
    kafka_settings: Settings, topics: TestTopics, tmp_path: Path
) -> None:
    clients_file = tmp_path / "clients.json"
    secret = add_client(clients_file, "council-sender", LA)
    receiver_settings = ReceiverSettings(
        clients_file=clients_file,
        token_secret=secrets.token_urlsafe(32),
        events_topic=await topics.create_like(EVENTS),
        deadletter_topic=await topics.create_like(DEADLETTER),
        identity_topic=await topics.create_like(IDENTITY),
        records_topic=await topics.create_like(CSC_RECORDS),
    )
    pseudonym_key, identity_key = secrets.token_hex(32), secrets.token_hex(32)
    settings = principal_settings("ingest", pseudonym_key=pseudonym_key, identity_key=identity_key)
    child_key = Pseudonymiser(settings.pseudonym_keyring()).pseudonymise_child(LA, "LA-77").pseudonym

    async with run_receiver(settings, receiver_settings, "127.0.0.1", 0, clock=lambda: NOW) as running:
        await post(running.url, secret, [FULL])
        before = await vault_of(kafka_settings, receiver_settings.identity_topic, identity_key)
        await post(running.url, secret, [PURGE])
    after = await vault_of(kafka_settings, receiver_settings.identity_topic, identity_key)

    sealed = before.find(child_key, LA)
    assert sealed is not None and before.open_for(sealed) == "LA-77"  # the desk could reveal it before the purge
    assert after.find(child_key, LA) is None
    assert after.sealed == {}
