"""Councils' own CSV and JSONL extracts: the documented format loads, ids are stable, every reject is explained."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import tomllib
from collections import Counter
from pathlib import Path

import pytest

from schemas.codec import encode
from schemas.codes import ContactOutcome, ReferralSource
from schemas.events import (
    EVENT_TYPES,
    AssessmentAuthorised,
    ChildRecordsMerged,
    ContactDecided,
    ContactReceived,
    ReferralOpened,
)
from services.ingest.identity import LONDON, Pseudonymiser
from services.ingest.jsonl import read_jsonl
from services.ingest.result import IngestResult
from services.ingest.tabular import CSV_FIELDS, ColumnMapping, read_csv

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "ingest-csv.md"
EXAMPLE_MAPPING = ROOT / "docs" / "examples" / "csv-mapping.example.toml"
EXAMPLE_EXTRACT = ROOT / "docs" / "examples" / "extract.example.csv"
KEY = Pseudonymiser(b"test-key-not-a-secret")
RAW = Pseudonymiser(None)
RECORDED = dt.datetime(2024, 6, 1, 9, 0, tzinfo=LONDON)
HEADINGS = ["type", "child_id", "referral_id", "referral_date", "source", "occurred_at", "contact_id", "outcome"]


# --- builders ------------------------------------------------------------------------------------------


def write_csv(tmp_path: Path, rows: list[dict[str, str]], headings: list[str] = HEADINGS, name: str = "x.csv") -> Path:
    path = tmp_path / name
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=headings, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def referral(**overrides: str) -> dict[str, str]:
    row = {
        "type": "ReferralOpened",
        "child_id": "C1",
        "referral_id": "R1",
        "referral_date": "2024-03-05",
        "source": "6",
    }
    return row | overrides


def load(path: Path, mapping: ColumnMapping | None = None, pseudonymiser: Pseudonymiser = RAW) -> IngestResult:
    return read_csv(path, mapping or ColumnMapping(), "886", pseudonymiser, recorded_at=RECORDED)


def event_json(**overrides: object) -> str:
    event: dict[str, object] = {
        "type": "ReferralOpened",
        "event_id": "E1",
        "occurred_at": "2024-03-05T00:00:00+00:00",
        "recorded_at": "2024-03-05T09:00:00+00:00",
        "la_code": "886",
        "child_key": "k1",
        "referral_id": "R1",
        "referral_date": "2024-03-05",
        "source": "6",
    }
    event.update(overrides)
    return json.dumps({k: v for k, v in event.items() if v is not None})


def write_jsonl(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- the documented example -----------------------------------------------------------------------------


def test_the_documented_example_extract_ingests_every_row() -> None:
    result = load(EXAMPLE_EXTRACT, ColumnMapping.from_file(EXAMPLE_MAPPING), KEY)
    assert result.rejected == []
    assert result.read == 15
    assert result.counts_by_type() == Counter(
        {
            "ContactReceived": 2,
            "ContactDecided": 2,
            "ReferralOpened": 2,
            "ReferralMarkedNFA": 1,
            "AssessmentStarted": 1,
            "AssessmentAuthorised": 1,
            "S47Started": 1,
            "ICPCHeld": 1,
            "CPPStarted": 1,
            "EpisodeClosed": 1,
            "EventRetracted": 1,
            "ChildRecordsMerged": 1,
        }
    )
    authorised = next(e for e in result.events if isinstance(e, AssessmentAuthorised))
    assert (authorised.factors, authorised.child_in_need) == (("2B", "3A"), True)


def test_the_mapping_in_the_guide_is_the_example_mapping_file() -> None:
    block = re.search(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert block is not None
    in_guide = tomllib.loads(block.group(1))
    example = ColumnMapping.from_file(EXAMPLE_MAPPING)
    assert in_guide["columns"] == dict(example.columns)
    assert in_guide["event_types"] == dict(example.event_types)


def test_every_event_type_and_field_is_documented_in_the_guide() -> None:
    guide = DOC.read_text(encoding="utf-8")
    for cls in EVENT_TYPES:
        assert f"| `{cls.__name__}` |" in guide, cls.__name__
    for name in CSV_FIELDS:
        assert f"`{name}`" in guide, name


# --- CSV ------------------------------------------------------------------------------------------------


def test_csv_dates_in_iso_and_dd_mm_yyyy_read_as_the_same_date(tmp_path: Path) -> None:
    rows = [
        referral(referral_id=f"R{i}", referral_date=d) for i, d in enumerate(["2024-03-05", "05/03/2024", "5/3/2024"])
    ]
    result = load(write_csv(tmp_path, rows))
    assert result.rejected == []
    assert {e.referral_date for e in result.events if isinstance(e, ReferralOpened)} == {dt.date(2024, 3, 5)}
    assert {e.occurred_at for e in result.events} == {dt.datetime(2024, 3, 5, tzinfo=LONDON)}


def test_csv_occurred_at_comes_from_the_events_own_date_when_absent(tmp_path: Path) -> None:
    given = referral(referral_id="R2", occurred_at="2024-03-05T14:30:00")
    result = load(write_csv(tmp_path, [referral(), given]))
    times = [e.occurred_at for e in result.events]
    assert times == [dt.datetime(2024, 3, 5, tzinfo=LONDON), dt.datetime(2024, 3, 5, 14, 30, tzinfo=LONDON)]


def test_csv_events_without_a_date_of_their_own_need_occurred_at(tmp_path: Path) -> None:
    row = {"type": "ContactDecided", "child_id": "C1", "contact_id": "K1", "outcome": "nfa"}
    result = load(write_csv(tmp_path, [row, row | {"occurred_at": "05/03/2024 16:00"}]))
    assert [(r.location, r.reason) for r in result.rejected] == [
        ("row 2", "no occurred_at, and ContactDecided has no date of its own to take it from")
    ]
    [decided] = result.events
    assert decided.occurred_at == dt.datetime(2024, 3, 5, 16, 0, tzinfo=LONDON)


def test_csv_event_id_is_derived_deterministically_when_absent(tmp_path: Path) -> None:
    rows = [referral(), referral(child_id="C2", referral_id="R2")]
    first = load(write_csv(tmp_path, rows))
    reordered = read_csv(
        write_csv(tmp_path, rows[::-1], name="y.csv"),
        ColumnMapping(),
        "886",
        RAW,
        recorded_at=RECORDED + dt.timedelta(days=9),
    )
    assert {e.event_id for e in first.events} == {e.event_id for e in reordered.events}
    assert len({e.event_id for e in first.events}) == 2


def test_csv_event_id_from_the_extract_is_kept(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [referral(event_id="EXT-1")], headings=[*HEADINGS, "event_id"])
    assert [e.event_id for e in load(path).events] == ["EXT-1"]


def test_csv_child_ids_are_pseudonymised_including_merged_records(tmp_path: Path) -> None:
    merged = {"type": "ChildRecordsMerged", "child_id": "C1", "merged_child_id": "C9", "occurred_at": "2024-03-05"}
    path = write_csv(tmp_path, [referral(), merged], headings=[*HEADINGS, "merged_child_id"])
    result = load(path, pseudonymiser=KEY)
    assert {e.child_key for e in result.events} == {KEY.pseudonymise_child("886", "C1").pseudonym}
    [merge] = [e for e in result.events if isinstance(e, ChildRecordsMerged)]
    assert merge.merged_child_key == KEY.pseudonymise_child("886", "C9").pseudonym


def test_csv_source_codes_and_ofsted_labels_are_both_accepted(tmp_path: Path) -> None:
    labels = ["6", "q) 6: Police", "Police", "g) Police"]
    rows = [referral(referral_id=f"R{i}", source=s) for i, s in enumerate(labels)]
    result = load(write_csv(tmp_path, rows))
    assert {e.source for e in result.events if isinstance(e, ReferralOpened)} == {ReferralSource.POLICE}


def test_csv_rejections_name_the_row_the_field_and_the_column_but_not_the_value(tmp_path: Path) -> None:
    mapping = ColumnMapping(columns={"referral_date": "Ref Date", "child_id": "Person"})
    headings = ["type", "Person", "referral_id", "Ref Date", "source"]
    rows = [
        {"type": "ReferralOpened", "Person": "ZX98765", "referral_id": "R1", "Ref Date": "Tuesday", "source": "6"},
        {"type": "ReferralOpened", "Person": "ZX98765", "referral_id": "R2", "Ref Date": "2024-03-05"},
        {"type": "Referral", "Person": "ZX98765", "referral_id": "R3", "Ref Date": "2024-03-05", "source": "6"},
        {"type": "ReferralOpened", "Person": "", "referral_id": "R4", "Ref Date": "2024-03-05", "source": "6"},
    ]
    result = load(write_csv(tmp_path, rows, headings=headings), mapping)
    assert [(r.location, r.reason) for r in result.rejected] == [
        ("row 2", "referral_date (column 'Ref Date'): not a readable date"),
        ("row 3", "source: Field required"),
        ("row 4", "event type in column 'type' is not one the mapping knows"),
        ("row 5", "no child_id in column 'Person'"),
    ]
    assert all(r.source == "x.csv" for r in result.rejected)
    assert not any("ZX98765" in r.reason or "Tuesday" in r.reason for r in result.rejected)


def test_csv_without_a_type_or_child_column_is_rejected_as_a_whole(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [referral()], headings=["type", "referral_id", "referral_date", "source"])
    result = load(path)
    assert [(r.location, r.reason) for r in result.rejected] == [("row 1", "no column 'child_id' in the header")]
    assert result.events == []


def test_csv_blank_rows_are_skipped_and_a_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_text(
        "\ufefftype,child_id,referral_id,referral_date,source\n,,,,\nReferralOpened,C1,R1,05/03/2024,6\n\n",
        encoding="utf-8",
    )
    result = load(path)
    assert (result.read, len(result.events), result.rejected) == (1, 1, [])


def test_csv_event_types_use_the_councils_words_from_the_mapping(tmp_path: Path) -> None:
    mapping = ColumnMapping(event_types={"Contact": "ContactReceived", "MASH decision": "ContactDecided"})
    rows = [
        {
            "type": "contact",
            "child_id": "C1",
            "contact_id": "K1",
            "received_at": "05/03/2024 09:10",
            "source": "Schools",
        },
        {
            "type": "MASH Decision",
            "child_id": "C1",
            "contact_id": "K1",
            "outcome": "Refer to early help",
            "occurred_at": "2024-03-05T12:00",
        },
    ]
    path = write_csv(
        tmp_path, rows, headings=["type", "child_id", "contact_id", "received_at", "source", "outcome", "occurred_at"]
    )
    received, decided = load(path, mapping).events
    assert isinstance(received, ContactReceived)
    assert isinstance(decided, ContactDecided)
    assert received.received_at == dt.datetime(2024, 3, 5, 9, 10, tzinfo=LONDON)
    assert (received.source, decided.outcome) == (ReferralSource.SCHOOLS, ContactOutcome.EARLY_HELP)


def test_a_mapping_naming_an_unknown_field_or_event_type_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="referal_date"):
        ColumnMapping(columns={"referal_date": "Date"})
    with pytest.raises(ValueError, match="ReferralClosed"):
        ColumnMapping(event_types={"Closed": "ReferralClosed"})


def test_a_mapping_can_be_json(tmp_path: Path) -> None:
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps({"columns": {"child_id": "Person"}, "event_types": {"Ref": "ReferralOpened"}}))
    mapping = ColumnMapping.from_file(path)
    assert (mapping.column("child_id"), mapping.column("referral_date")) == ("Person", "referral_date")
    assert mapping.event_type(" ref ") == "ReferralOpened"


# --- JSONL ----------------------------------------------------------------------------------------------


def test_jsonl_lines_become_events_and_bad_lines_name_their_line_and_reason(tmp_path: Path) -> None:
    lines = [
        event_json(),
        "",
        "{not json",
        "[1, 2]",
        event_json(event_id="E2", source=None),
        event_json(event_id="E3", type="ReferralReopened"),
        event_json(event_id="E4", la_code="ZX98765"),
    ]
    result = read_jsonl(write_jsonl(tmp_path, lines), None)
    assert [e.event_id for e in result.events] == ["E1"]
    assert result.read == 6
    reasons = {r.location: r.reason for r in result.rejected}
    assert set(reasons) == {"line 3", "line 4", "line 5", "line 6", "line 7"}
    assert reasons["line 3"].startswith("not JSON")
    assert reasons["line 4"] == "not a JSON object"
    assert reasons["line 5"] == "ReferralOpened.source: Field required"
    assert reasons["line 6"] == "type: not a known event type"
    assert reasons["line 7"].startswith("ReferralOpened.la_code: String should match pattern")
    assert not any("ZX98765" in r for r in reasons.values())


def test_jsonl_child_id_is_pseudonymised_with_the_lines_la_code(tmp_path: Path) -> None:
    line = event_json(child_key=None, child_id="C1")
    [event] = read_jsonl(write_jsonl(tmp_path, [line]), KEY).events
    assert event.child_key == KEY.pseudonymise_child("886", "C1").pseudonym


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (
            event_json(child_key=None, child_id="C1"),
            "child_id given but no pseudonymisation key to replace it with child_key",
        ),
        (event_json(child_id="C1"), "both child_id and child_key given"),
    ],
)
def test_jsonl_raw_child_ids_are_never_passed_on(tmp_path: Path, line: str, reason: str) -> None:
    result = read_jsonl(write_jsonl(tmp_path, [line]), None)
    assert [r.reason for r in result.rejected] == [reason]


def test_encoded_events_read_back_from_jsonl_unchanged(tmp_path: Path) -> None:
    extract = load(EXAMPLE_EXTRACT, ColumnMapping.from_file(EXAMPLE_MAPPING), KEY)
    path = write_jsonl(tmp_path, [encode(e).decode() for e in extract.events])
    again = read_jsonl(path, None)
    assert again.rejected == []
    assert again.events == extract.events
