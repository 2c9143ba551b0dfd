"""A DfE CSC API record that purges a whole child also erases the child from the sealed identity store."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
from pathlib import Path

import pytest

from schemas.csc_api import ChildRecord
from services.cli import main
from services.ingest.csc_api import MemoryPreviousRecords, receive_record
from services.ingest.identity import Pseudonymiser, erasure_keys
from services.pseudonym_keys import PseudonymKey, PseudonymKeyring

NOW = dt.datetime(2026, 5, 12, 21, 30, tzinfo=dt.UTC)
CURRENT = PseudonymKey("886-2026a", secrets.token_bytes(32))
RETIRED = PseudonymKey("886-2025a", secrets.token_bytes(32))
ROTATED = PseudonymKeyring({"886": (CURRENT, RETIRED)})
TEST_KEY = "5e7a9c1b3d5f7e9a2c4b6d8f0a1c3e5b7d9f2a4c6e8b0d1f3a5c7e9b2d4f6a8c"  # 32 random bytes, hex; not a council's
COUNCIL_KEYS = json.dumps({"886": {"id": "886-test-a", "key": TEST_KEY}})
FULL = {
    "la_child_id": "LA-4711",
    "mis_child_id": "MIS-4711",
    "social_care_episodes": [{"social_care_episode_id": "E-1", "referral_date": "2024-09-01", "referral_source": "2A"}],
}
PURGE = {"la_child_id": "LA-4711", "mis_child_id": "MIS-4711", "purge": True}


def receive(record: dict[str, object], pseudonymiser: Pseudonymiser, previous: MemoryPreviousRecords) -> None:
    async def once() -> None:
        translation = await receive_record(
            ChildRecord.model_validate(record),
            la_code="886",
            pseudonymiser=pseudonymiser,
            previous=previous,
            received_at=NOW,
        )
        await previous.put([translation.state])

    asyncio.run(once())


def test_a_whole_child_purge_erases_the_childs_pseudonym_under_every_key_of_the_council() -> None:
    pseudonymiser, previous = Pseudonymiser(ROTATED, keep_identities=True), MemoryPreviousRecords()
    receive(FULL, pseudonymiser, previous)
    assert pseudonymiser.identities and pseudonymiser.erased == set()

    receive(PURGE, pseudonymiser, previous)

    assert pseudonymiser.erased == set(erasure_keys(pseudonymiser, "886", ["LA-4711"], []))
    assert len(pseudonymiser.erased) == 2  # the current key's pseudonym and the retired key's
    assert pseudonymiser.identities == {}  # nothing of the child left to seal


def test_a_child_sent_again_after_its_purge_is_sealed_again_and_not_erased() -> None:
    pseudonymiser, previous = Pseudonymiser(ROTATED, keep_identities=True), MemoryPreviousRecords()
    receive(FULL, pseudonymiser, previous)
    receive(PURGE, pseudonymiser, previous)

    receive(FULL, pseudonymiser, previous)

    current = pseudonymiser.pseudonymise_child("886", "LA-4711").pseudonym
    assert pseudonymiser.identities == {current: ("886", "LA-4711")}
    assert current not in pseudonymiser.erased  # only the retired key's pseudonym is still erased


def test_a_partial_record_or_an_item_purge_erases_nothing() -> None:
    pseudonymiser, previous = Pseudonymiser(ROTATED, keep_identities=True), MemoryPreviousRecords()
    receive(FULL, pseudonymiser, previous)
    withdrawn = {**FULL, "social_care_episodes": [{"social_care_episode_id": "E-1", "purge": True}]}

    receive(withdrawn, pseudonymiser, previous)

    assert pseudonymiser.erased == set()


def test_after_ingest_publishes_a_purge_the_identity_store_cannot_reveal_the_child(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The broker is faked (a dict as the compacted identity topic); tests/integration runs the receiver's on one."""
    import services.identity.store as identity_store  # noqa: PLC0415  # the module whose Kafka calls are replaced
    import services.ingest.cli_ingest as cli  # noqa: PLC0415
    import services.kafka.previous_records as records_store  # noqa: PLC0415

    monkeypatch.setenv("FRONTDOOR_PSEUDONYM_KEYS", COUNCIL_KEYS)
    monkeypatch.setenv("FRONTDOOR_IDENTITY_KEY", secrets.token_hex(32))
    records: dict[str, object] = {}
    identity_topic: dict[str, object] = {}  # pseudonym -> sealed id, tombstones applied
    steps: list[str] = []

    async def read_states(_settings: object, _topic: str = "") -> dict[str, object]:
        return dict(records)

    async def write_states(_settings: object, states: object, _topic: str = "") -> int:
        records.update({s.child_key: s for s in states})  # type: ignore[attr-defined]  # CscChildState
        return len(records)

    async def publish(_settings: object, result: object) -> int:
        steps.append(f"publish {sorted({type(e).__name__ for e in result.events})}")  # type: ignore[attr-defined]
        return len(result.events)  # type: ignore[attr-defined]

    async def publish_identities(_s: object, keyring: object, identities: dict[str, object], *_a: object) -> int:
        steps.append("seal")
        identity_topic.update(identities)
        return len(identities)

    async def publish_erasure(_settings: object, child_keys: list[str], _topic: str) -> None:
        steps.append("erase")
        for key in child_keys:
            identity_topic.pop(key, None)

    monkeypatch.setattr(records_store, "read_states", read_states)
    monkeypatch.setattr(records_store, "write_states", write_states)
    monkeypatch.setattr(identity_store, "publish_identities", publish_identities)
    monkeypatch.setattr(identity_store, "publish_erasure", publish_erasure)
    monkeypatch.setattr(cli, "_publish", publish)
    for number, record in enumerate((FULL, PURGE)):
        source = tmp_path / f"night{number}.jsonl"
        source.write_text(json.dumps({"la_code": 886, "Children": record}) + "\n", encoding="utf-8")
        assert main(["ingest", str(source), "--format", "dfe-csc-api", "--to", "kafka"]) == 0
        if number == 0:
            assert len(identity_topic) == 1  # sealed the first time the child is seen

    assert identity_topic == {}
    assert steps == ["publish ['ReferralOpened']", "seal", "publish ['EventRetracted']", "seal", "erase"]
    assert "LA-4711" not in capsys.readouterr().err
