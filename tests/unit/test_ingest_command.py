"""`frontdoor ingest`: formats by extension, pseudonymised output, no key outside dev, same ids on re-ingest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.cli import main
from tests.reference import reference_file

CIN = ("cin-census-xml", "d2i_CIN_Census_2024.xml")
TEST_KEY = "3f9c1e7a5b2d4c6e8a0f1b3d5c7e9a2b4d6f8e0c1a3b5d7f9e2c4a6b8d0f1e3a"  # 32 random bytes, hex; not a council's
# The census file is council 201's: its own key, with the key id every event must carry.
COUNCIL_KEYS = json.dumps({"201": {"id": "201-test-a", "key": TEST_KEY}})


def ingest_to_jsonl(tmp_path: Path, *args: str, name: str = "out.jsonl") -> list[dict[str, object]]:
    out = tmp_path / name
    assert main(["ingest", *args, "--to", "jsonl", "--out", str(out)]) == 0
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_ingest_refuses_to_run_without_a_key_outside_the_dev_profile(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("FRONTDOOR_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("FRONTDOOR_PSEUDONYM_KEYS", raising=False)
    monkeypatch.setenv("FRONTDOOR_PROFILE", "production")
    assert main(["ingest", str(reference_file(*CIN)), "--to", "jsonl", "--out", str(tmp_path / "x")]) == 2
    assert "FRONTDOOR_PSEUDONYM_KEY" in capsys.readouterr().err


def test_ingested_census_events_carry_only_the_pseudonymous_child_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FRONTDOOR_PSEUDONYM_KEYS", COUNCIL_KEYS)
    events = ingest_to_jsonl(tmp_path, str(reference_file(*CIN)))
    raw_ids = {"DfEX0000001", "child_fails_assessments"}
    assert events and {e["type"] for e in events} >= {"ReferralOpened", "EpisodeClosed"}
    assert not any(raw in json.dumps(e) for e in events for raw in raw_ids)
    assert all(len(str(e["child_key"])) == 32 for e in events)
    assert {e["pseudonym_key_id"] for e in events} == {"201-test-a"}


def test_production_ingest_refuses_the_single_shared_key_and_a_council_without_its_own_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FRONTDOOR_PROFILE", "production")
    monkeypatch.setenv("FRONTDOOR_PSEUDONYM_KEY", TEST_KEY)
    monkeypatch.delenv("FRONTDOOR_PSEUDONYM_KEYS", raising=False)
    census = str(reference_file(*CIN))
    assert main(["ingest", census, "--to", "jsonl", "--out", str(tmp_path / "x")]) == 2
    assert "dev profile only" in capsys.readouterr().err
    other = json.dumps({"886": {"id": "886-test-a", "key": TEST_KEY}})
    monkeypatch.setenv("FRONTDOOR_PSEUDONYM_KEYS", other)
    assert main(["ingest", census, "--to", "jsonl", "--out", str(tmp_path / "y")]) == 2
    assert "no pseudonymisation key for council 201" in capsys.readouterr().err
    assert not (tmp_path / "y").exists() or not (tmp_path / "y").read_text()


def test_reingesting_the_same_file_gives_the_same_event_ids(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FRONTDOOR_PSEUDONYM_KEYS", COUNCIL_KEYS)
    first = ingest_to_jsonl(tmp_path, str(reference_file(*CIN)), name="a.jsonl")
    second = ingest_to_jsonl(tmp_path, str(reference_file(*CIN)), name="b.jsonl")
    assert [e["event_id"] for e in first] == [e["event_id"] for e in second]


def test_annex_a_needs_a_council_code_and_reports_rejected_rows_with_sheet_and_row(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FRONTDOOR_PROFILE", "dev")
    monkeypatch.setenv("FRONTDOOR_PSEUDONYM_KEY", TEST_KEY)  # real files never take the public dev key
    workbook = str(reference_file("annex-a", "liia_Annex_A_2024_Jan.xlsx"))
    with pytest.raises(SystemExit, match="--la-code"):
        main(["ingest", workbook, "--to", "jsonl", "--out", str(tmp_path / "x")])
    events = ingest_to_jsonl(tmp_path, workbook, "--la-code", "886")
    err = capsys.readouterr().err
    assert len(events) == 36
    assert "rejected liia_Annex_A_2024_Jan.xlsx List 4 row 2:" in err
    assert "ingest: read 33, published 36, rejected 5" in err


def test_an_unknown_extension_asks_for_the_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_PROFILE", "dev")
    monkeypatch.setenv("FRONTDOOR_PSEUDONYM_KEY", TEST_KEY)
    odd = tmp_path / "extract.dat"
    odd.write_text("x")
    with pytest.raises(SystemExit, match="--format"):
        main(["ingest", str(odd), "--to", "jsonl"])
