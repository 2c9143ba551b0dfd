"""Issue 17, item 2 replayed: pseudonyms that a configuration slip or a raw id can no longer undo."""

from __future__ import annotations

import csv
import datetime as dt
import json
import secrets
from pathlib import Path

import pytest
from aiokafka import ConsumerRecord
from prometheus_client import CollectorRegistry

from schemas.codec import encode
from schemas.events import ContactReceived, EpisodeClosed, ReferralOpened
from services.alertdesk.desk import Desk
from services.alertdesk.kafka import read_record
from services.alertdesk.metrics import desk_metrics
from services.alertdesk.projection import Batch
from services.alertdesk.settings import AlertDeskSettings
from services.cli import main
from services.ingest.identity import Pseudonymiser
from services.ingest.tabular import ColumnMapping, read_csv
from services.processor.deadletter import REASONS, ReasonCode, Rejection, admit
from services.settings import DEV_PSEUDONYM_KEY, MissingPseudonymKeyError, Settings
from tests.builders import CHILD_A, make_merge, make_referral
from tests.unit.alertdesk.desk_builders import make_rereferral

STRONG_KEY = secrets.token_hex(32)
NOW = dt.datetime(2024, 6, 3, 12, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "key",
    [
        "x",  # the one-character key production used to accept
        secrets.token_hex(16),  # 16 random bytes: too few
        "a" * 64,  # long, but one repeated character
        "0123456789abcdef" * 4,  # long hex, but a repeated pattern
        DEV_PSEUDONYM_KEY,  # the public dev key, configured by hand
    ],
)
def test_production_refuses_a_short_weak_or_public_pseudonym_key_with_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    monkeypatch.setenv("FRONTDOOR_PROFILE", "production")
    monkeypatch.setenv("FRONTDOOR_PSEUDONYM_KEY", key)
    with pytest.raises(MissingPseudonymKeyError, match="FRONTDOOR_PSEUDONYM_KEY is too weak") as refused:
        Settings().pseudonym_key_bytes()
    assert len(key) < 8 or key not in str(refused.value)  # the error says why, never the key


@pytest.mark.parametrize("key", [secrets.token_hex(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48)])
def test_production_accepts_32_random_bytes_as_hex_or_base64(monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    monkeypatch.setenv("FRONTDOOR_PROFILE", "production")
    monkeypatch.setenv("FRONTDOOR_PSEUDONYM_KEY", key)
    assert Settings().pseudonym_key_bytes() == key.encode()


def test_the_dev_key_pseudonymises_no_council_file_even_in_the_dev_profile(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FRONTDOOR_PROFILE", "dev")
    monkeypatch.delenv("FRONTDOOR_PSEUDONYM_KEY", raising=False)
    extract = tmp_path / "census.jsonl"
    extract.write_text(json.dumps({"child_id": "C123"}) + "\n")
    out = tmp_path / "out.jsonl"

    assert main(["ingest", str(extract), "--to", "jsonl", "--out", str(out)]) == 2
    assert "built-in dev key" in capsys.readouterr().err
    assert not out.exists()
    assert Settings().pseudonym_key_bytes() == DEV_PSEUDONYM_KEY.encode()  # simulate and demo still have it


def test_a_raw_id_sent_as_the_child_key_is_refused_at_ingest(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = make_referral(child_key="RAW-CHILD-1234567")
    monkeypatch.setenv("FRONTDOOR_PSEUDONYM_KEYS", json.dumps({raw.la_code: {"id": "test-a", "key": STRONG_KEY}}))
    extract = tmp_path / "events.jsonl"
    extract.write_bytes(encode(raw) + b"\n" + encode(make_referral(child_key=CHILD_A, event_id="ok")) + b"\n")
    out = tmp_path / "out.jsonl"

    assert main(["ingest", str(extract), "--to", "jsonl", "--out", str(out)]) == 0

    assert [json.loads(line)["child_key"] for line in out.read_text().splitlines()] == [CHILD_A]
    err = capsys.readouterr().err
    assert "child_key is not a pseudonym" in err and "RAW-CHILD-1234567" not in err


@pytest.mark.parametrize(
    "event",
    [make_referral(child_key="RAW-CHILD-1234567"), make_merge(into=CHILD_A, merged="RAW-CHILD-1234567")],
    ids=["child_key", "merged_child_key"],
)
def test_the_worker_dead_letters_a_child_key_that_is_not_a_pseudonym_without_quoting_it(event: object) -> None:
    rejected = admit(encode(event), NOW, dt.timedelta(days=1))  # type: ignore[arg-type]  # any event model
    assert isinstance(rejected, Rejection) and rejected.code is ReasonCode.CHILD_KEY_NOT_PSEUDONYM
    assert "RAW-CHILD" not in rejected.detail and ReasonCode.CHILD_KEY_NOT_PSEUDONYM in REASONS


def test_the_worker_admits_a_pseudonymous_child_key() -> None:
    assert isinstance(admit(encode(make_referral(child_key=CHILD_A)), NOW, dt.timedelta(days=1)), ReferralOpened)


def _record(value: bytes, topic: str) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(topic, 0, 7, 0, 0, None, value, None, 0, len(value), ())


def test_the_desk_shows_no_alert_and_stores_no_event_whose_child_key_is_a_raw_id() -> None:
    settings = AlertDeskSettings()
    registry = CollectorRegistry()
    desk = Desk(metrics=desk_metrics(registry, lambda: desk.state), caught_up=True)
    batch = Batch()

    read_record(
        batch, desk, settings, _record(encode(make_rereferral(child_key="RAW-CHILD-1234567")), settings.alerts_topic)
    )
    read_record(batch, desk, settings, _record(encode(make_rereferral(child_key=CHILD_A)), settings.alerts_topic))
    read_record(
        batch, desk, settings, _record(encode(make_referral(child_key="RAW-CHILD-1234567")), settings.events_topic)
    )
    read_record(batch, desk, settings, _record(encode(make_referral(child_key=CHILD_A)), settings.events_topic))
    desk.fold_batch(batch)

    assert [r.alert.child_key for r in desk.state.select("886")] == [CHILD_A]
    stored = desk.state.db.query("SELECT child_key FROM desk_alerts UNION ALL SELECT child_key FROM desk_timeline")
    assert sorted(row[0] for row in stored) == [CHILD_A, CHILD_A]
    bodies = desk.state.db.query("SELECT body FROM desk_alerts UNION ALL SELECT body FROM desk_timeline")
    dump = "\n".join(row[0] for row in bodies)
    assert "RAW-CHILD" not in dump
    assert registry.get_sample_value("frontdoor_alertdesk_rejected_messages_total", {"topic": "alerts"}) == 1
    assert registry.get_sample_value("frontdoor_alertdesk_rejected_messages_total", {"topic": "events"}) == 1


def _csv(tmp_path: Path, rows: list[dict[str, str]]) -> Path:
    path = tmp_path / "extract.csv"
    headings = sorted({k for row in rows for k in row})
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=headings)
        writer.writeheader()
        writer.writerows(rows)
    return path


ROWS = [
    {"type": "ContactReceived", "child_id": "C1", "contact_id": "CON-88123", "received_at": "2024-03-01",
     "source": "6"},
    {"type": "ReferralOpened", "child_id": "C1", "referral_id": "REF-55021", "contact_id": "CON-88123",
     "referral_date": "2024-03-05", "source": "6"},
    {"type": "EpisodeClosed", "child_id": "C1", "referral_id": "REF-55021", "closure_date": "2024-05-01",
     "reason": "RC8", "closing_worker": "Jane Smith"},
]  # fmt: skip


def test_csv_ingest_pseudonymises_the_councils_referral_and_contact_references_consistently(tmp_path: Path) -> None:
    result = read_csv(_csv(tmp_path, ROWS), ColumnMapping(), "886", Pseudonymiser(STRONG_KEY.encode()))
    contact, referral, closure = result.events
    assert isinstance(contact, ContactReceived) and isinstance(referral, ReferralOpened)
    assert isinstance(closure, EpisodeClosed)
    text = b"".join(encode(e) for e in result.events).decode()
    assert "REF-55021" not in text and "CON-88123" not in text and 'C1"' not in text
    assert referral.referral_id == closure.referral_id and referral.contact_id == contact.contact_id


@pytest.mark.parametrize(("policy", "expected"), [("drop", None), ("keep", "Jane Smith")])
def test_worker_names_are_dropped_unless_the_councils_configuration_keeps_them(
    tmp_path: Path, policy: str, expected: str | None
) -> None:
    pseudonymiser = Pseudonymiser(STRONG_KEY.encode(), worker_names=policy)  # type: ignore[arg-type]
    closure = read_csv(_csv(tmp_path, ROWS), ColumnMapping(), "886", pseudonymiser).events[-1]
    assert isinstance(closure, EpisodeClosed) and closure.closing_worker == expected


def test_a_pseudonymised_worker_name_is_stable_and_does_not_contain_the_name(tmp_path: Path) -> None:
    pseudonymiser = Pseudonymiser(STRONG_KEY.encode(), worker_names="pseudonymise")
    first = read_csv(_csv(tmp_path, ROWS), ColumnMapping(), "886", pseudonymiser).events[-1]
    again = read_csv(_csv(tmp_path, ROWS), ColumnMapping(), "886", pseudonymiser).events[-1]
    assert isinstance(first, EpisodeClosed) and isinstance(again, EpisodeClosed)
    assert first.closing_worker == again.closing_worker and "Jane" not in (first.closing_worker or "")


def test_the_worker_names_setting_is_read_from_the_councils_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().worker_names == "drop"
    monkeypatch.setenv("FRONTDOOR_WORKER_NAMES", "pseudonymise")
    assert Settings().worker_names == "pseudonymise"
