"""Each council's key id travels with its events through the real ingest publisher, Kafka and the codec."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from schemas.codec import decode_event
from services.ingest.identity import Pseudonymiser
from services.ingest.tabular import ColumnMapping, read_csv
from services.kafka.publish import event_publisher
from services.settings import Settings
from tests.integration.test_broker_roundtrip import consume

if TYPE_CHECKING:  # pytest loads the conftest itself; importing it at run time would load a second copy
    from tests.integration.conftest import TestTopics

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(60)]


async def test_two_councils_events_reach_kafka_each_with_its_own_key_id_and_unrelated_pseudonyms(
    kafka_settings: Settings, topics: TestTopics, tmp_path: Path
) -> None:
    plan = await topics.create("events")
    keys = {la: {"id": f"{la}-it-a", "key": secrets.token_hex(32)} for la in ("886", "201")}
    keyring = Settings(profile="production", pseudonym_keys=keys).pseudonym_keyring()
    extract = tmp_path / "extract.csv"
    extract.write_text("type,child_id,referral_id,referral_date,source\nReferralOpened,C-7,R1,2025-05-06,6\n")
    sent = [e for la in ("886", "201") for e in read_csv(extract, ColumnMapping(), la, Pseudonymiser(keyring)).events]

    async with event_publisher(kafka_settings, plan.name) as publisher:
        await publisher.send_batch(sent)
    received = [decode_event(r.value) for r in await consume(kafka_settings, plan.name, count=len(sent))]

    by_council = {e.la_code: e for e in received}
    assert {la: e.pseudonym_key_id for la, e in by_council.items()} == {"886": "886-it-a", "201": "201-it-a"}
    assert by_council["886"].child_key != by_council["201"].child_key
    assert sorted(received, key=lambda e: e.la_code) == sorted(sent, key=lambda e: e.la_code)
