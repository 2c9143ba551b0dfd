"""The identity store on the secured broker: only ingest writes it and only the desk reads it.

Another service reading the store would get sealed values only, but it would learn which pseudonyms a council
holds ids for, and a forged value could offer a wrong id to the desk: so both are refused outright.
"""

from __future__ import annotations

import pytest
from aiokafka.errors import ClusterAuthorizationFailedError, TopicAuthorizationFailedError

from schemas.topics import IDENTITY
from tests.security.conftest import SecureBroker
from tests.security.test_kafka_acl_attempts import broker, records_read, send_one

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(240)]
__all__ = ["broker"]  # the session fixture that creates the project's topics with the admin principal


async def test_ingest_writes_the_identity_store_and_the_desk_reads_it(broker: SecureBroker) -> None:
    await send_one(broker.settings("ingest"), IDENTITY.name)

    assert await records_read(broker.settings("desk"), IDENTITY.name)


@pytest.mark.parametrize("service", ["worker", "desk", "receiver"])
async def test_no_other_service_writes_the_identity_store(broker: SecureBroker, service: str) -> None:
    with pytest.raises((TopicAuthorizationFailedError, ClusterAuthorizationFailedError)):
        await send_one(broker.settings(service), IDENTITY.name)


@pytest.mark.parametrize("service", ["ingest", "worker", "receiver"])
async def test_no_other_service_reads_the_identity_store(broker: SecureBroker, service: str) -> None:
    await send_one(broker.settings("ingest"), IDENTITY.name)  # something there to read
    try:
        records = await records_read(broker.settings(service), IDENTITY.name)
    except TopicAuthorizationFailedError:
        records = []
    assert records == []
