"""`frontdoor ingest --format dfe-csc-api`: a file of records in order, bad records rejected with a reason only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.cli import main

TEST_KEY = "5e7a9c1b3d5f7e9a2c4b6d8f0a1c3e5b7d9f2a4c6e8b0d1f3a5c7e9b2d4f6a8c"  # 32 random bytes, hex; not a council's
OTHER_KEY = "b41d7e2a9c05f3186e4ab7c2d9f0136a8e5c42b71f9d06e3a8c5b2f7140d9e6c"  # another council's, as random
# Each council its own key, as production requires (docs/platform.md); the key id travels with every event.
COUNCIL_KEYS = json.dumps({"886": {"id": "886-test-a", "key": TEST_KEY}, "201": {"id": "201-test-a", "key": OTHER_KEY}})


def envelope(record: dict[str, object], la_code: object = 886) -> dict[str, object]:
    return {"la_code": la_code, "Children": record}


FULL = {
    "la_child_id": "LA-4711",
    "mis_child_id": "MIS-4711",
    "child_details": {"first_name": "Robin", "date_of_birth": "2016-03-04", "purge": False},
    "social_care_episodes": [
        {"social_care_episode_id": "E-1", "referral_date": "2024-09-01", "referral_source": "2A", "purge": False}
    ],
}
CLOSED = {
    "la_child_id": "LA-4711",
    "mis_child_id": "MIS-4711",
    "social_care_episodes": [{"social_care_episode_id": "E-1", "closure_date": "2024-10-01", "closure_reason": "RC7"}],
}
BAD_SOURCE = {
    "la_child_id": "LA-9999",
    "mis_child_id": "MIS-9999",
    "social_care_episodes": [{"social_care_episode_id": "E-9", "referral_date": "2024-09-01", "referral_source": "ZZ"}],
}


def ingest(tmp_path: Path, text: str, *extra: str) -> list[dict[str, object]]:
    source, out = tmp_path / "records.json", tmp_path / "events.jsonl"
    source.write_text(text, encoding="utf-8")
    assert main(["ingest", str(source), "--format", "dfe-csc-api", *extra, "--to", "jsonl", "--out", str(out)]) == 0
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_a_json_array_of_records_is_translated_in_order_and_pseudonymised(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FRONTDOOR_PSEUDONYM_KEYS", COUNCIL_KEYS)
    events = ingest(tmp_path, json.dumps([envelope(FULL), envelope(CLOSED), envelope(FULL)]))
    assert [e["type"] for e in events] == ["ReferralOpened", "EpisodeClosed"]  # the full record again: nothing new
    text = json.dumps(events)
    assert all(raw not in text for raw in ("LA-4711", "MIS-4711", "E-1", "Robin"))
    assert {e["pseudonym_key_id"] for e in events} == {"886-test-a"}


def test_json_lines_of_bare_records_take_the_council_from_the_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FRONTDOOR_PSEUDONYM_KEYS", COUNCIL_KEYS)
    events = ingest(tmp_path, json.dumps(FULL) + "\n" + json.dumps(CLOSED) + "\n", "--la-code", "201")
    assert {e["la_code"] for e in events} == {"201"}
    assert {e["pseudonym_key_id"] for e in events} == {"201-test-a"}  # the council's own key, not Kent's


def test_a_bad_record_is_rejected_with_its_place_and_reason_and_never_its_values(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FRONTDOOR_PSEUDONYM_KEYS", COUNCIL_KEYS)
    lines = [json.dumps(envelope(BAD_SOURCE)), "{not json", json.dumps(FULL), json.dumps(envelope(FULL, la_code=1234))]
    events = ingest(tmp_path, "\n".join(lines))
    err = capsys.readouterr().err
    assert events == []
    assert "line 1: Children.social_care_episodes.0.referral_source" in err
    assert "line 2: not JSON" in err
    assert "line 3: a bare child record needs --la-code" in err
    assert "line 4: la_code" in err
    assert "LA-9999" not in err and "LA-4711" not in err


def test_with_kafka_the_previous_records_are_read_first_and_stored_only_after_the_events_are_published(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The broker itself is faked here; tests/integration/test_csc_records_kafka.py runs the store on a real one."""
    import services.ingest.cli_ingest as cli  # noqa: PLC0415  # the module whose Kafka calls are replaced
    import services.kafka.previous_records as store  # noqa: PLC0415

    monkeypatch.setenv("FRONTDOOR_PSEUDONYM_KEYS", COUNCIL_KEYS)
    topic: dict[str, object] = {}  # child_key -> state: the compacted topic
    steps: list[str] = []

    async def read_states(_settings: object, _topic: str = "") -> dict[str, object]:
        steps.append("read states")
        return dict(topic)

    async def write_states(_settings: object, states: object, _topic: str = "") -> int:
        steps.append("write states")
        topic.update({s.child_key: s for s in states})  # type: ignore[attr-defined]  # CscChildState
        return len(topic)

    async def publish(_settings: object, result: object) -> int:
        steps.append(f"publish {[type(e).__name__ for e in result.events]}")  # type: ignore[attr-defined]
        return len(result.events)  # type: ignore[attr-defined]

    monkeypatch.setattr(store, "read_states", read_states)
    monkeypatch.setattr(store, "write_states", write_states)
    monkeypatch.setattr(cli, "_publish", publish)
    for number, record in enumerate((FULL, CLOSED)):
        source = tmp_path / f"day{number}.jsonl"
        source.write_text(json.dumps(envelope(record)) + "\n", encoding="utf-8")
        command = ["ingest", str(source), "--format", "dfe-csc-api", "--to", "kafka", "--no-identity-store"]
        assert main(command) == 0
    assert steps == [
        "read states", "publish ['ReferralOpened']", "write states",
        "read states", "publish ['EpisodeClosed']", "write states",
    ]  # fmt: skip
