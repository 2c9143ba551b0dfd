"""The identity store's topic on the secured broker: only ingest writes it and only the desk reads it."""

from __future__ import annotations

from schemas.topics import ALL_TOPICS, IDENTITY
from tests.deploy.test_kafka_security import security


def test_the_acl_table_names_the_identity_topic_the_code_uses_and_it_is_compacted() -> None:
    assert IDENTITY.name == security.IDENTITY
    assert IDENTITY in ALL_TOPICS
    assert (IDENTITY.cleanup_policy, IDENTITY.key) == ("compact", "child_key")


def test_only_ingest_writes_and_only_the_desk_reads_the_identity_store() -> None:
    bindings = {(acl.service, acl.operation, acl.permission) for acl in security.ACLS if acl.name == IDENTITY.name}

    assert bindings == {("ingest", "WRITE", "ALLOW"), ("desk", "READ", "ALLOW")}
