"""`frontdoor ingest --to kafka` seals every child's council id for the identity store, or says why it did not."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from schemas.topics import IDENTITY
from services.cli import main
from services.identity import store
from services.identity.sealing import Keyring
from services.ingest import cli_ingest
from services.settings import Settings

TEST_KEY = secrets.token_hex(32)
HEADINGS = "type,child_id,referral_id,referral_date,source\n"


def extract(tmp_path: Path) -> Path:
    path = tmp_path / "extract.csv"
    rows = ["ReferralOpened,LA-1,R1,2024-01-10,6", "ReferralOpened,LA-1,R2,2024-05-20,6"]
    rows.append("ReferralOpened,LA-2,R3,2024-02-01,6")
    path.write_text(HEADINGS + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def no_broker(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Events and identities are captured instead of published: what ingest would send, without a broker."""
    sent: list[dict[str, Any]] = []

    async def publish_events(settings: Settings, result: Any) -> int:
        return len(result.events)

    async def publish_identities(
        settings: Settings, keyring: Keyring, identities: Mapping[str, tuple[str, str]], topic: str, now: dt.datetime
    ) -> int:
        sealed = [keyring.seal(la, key, raw, now) for key, (la, raw) in identities.items()]
        sent.append({"topic": topic, "sealed": sealed, "identities": dict(identities)})
        return len(identities)

    monkeypatch.setattr(cli_ingest, "_publish", publish_events)
    monkeypatch.setattr(store, "publish_identities", publish_identities)
    monkeypatch.setenv("FRONTDOOR_PROFILE", "dev")
    monkeypatch.setenv("FRONTDOOR_PSEUDONYM_KEY", TEST_KEY)
    return sent


def test_ingest_to_kafka_seals_each_childs_council_id_once_with_the_councils_key(
    no_broker: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    identity_key = secrets.token_bytes(32)
    monkeypatch.setenv("FRONTDOOR_IDENTITY_KEYS", f'{{"886": "{identity_key.hex()}"}}')

    assert main(["ingest", str(extract(tmp_path)), "--la-code", "886", "--to", "kafka"]) == 0

    (sent,) = no_broker
    assert sent["topic"] == IDENTITY.name
    assert sorted(sent["identities"].values()) == [("886", "LA-1"), ("886", "LA-2")]
    opened = {s.child_key: Keyring(None, {"886": identity_key}).unseal(s) for s in sent["sealed"]}
    assert opened == {key: raw for key, (_la, raw) in sent["identities"].items()}
    assert "identity store: 2 children sealed" in capsys.readouterr().err


def test_without_an_identity_key_ingest_publishes_the_events_and_says_the_store_was_not_written(
    no_broker: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("FRONTDOOR_IDENTITY_KEY", raising=False)
    monkeypatch.delenv("FRONTDOOR_IDENTITY_KEYS", raising=False)

    assert main(["ingest", str(extract(tmp_path)), "--la-code", "886", "--to", "kafka"]) == 0

    assert no_broker == []
    assert "identity store was not written" in capsys.readouterr().err


def test_no_identity_store_flag_and_jsonl_output_seal_nothing(
    no_broker: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FRONTDOOR_IDENTITY_KEY", secrets.token_hex(32))
    source = str(extract(tmp_path))

    assert main(["ingest", source, "--la-code", "886", "--to", "kafka", "--no-identity-store"]) == 0
    assert main(["ingest", source, "--la-code", "886", "--to", "jsonl", "--out", str(tmp_path / "e.jsonl")]) == 0
    assert no_broker == []
