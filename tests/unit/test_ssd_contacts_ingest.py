"""The SSD `ssd_contacts` extract with the shipped mapping: each contact received, and decided when its flags say."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from schemas.codes import ContactOutcome, ReferralSource
from schemas.events import ContactDecided, ContactReceived
from services.ingest.identity import LONDON, Pseudonymiser
from services.ingest.result import IngestResult
from services.ingest.ssd_contacts import SsdContactsMapping, read_ssd_contacts

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "ssd_contacts.example.csv"
KEY = Pseudonymiser(b"test-key-not-a-secret-ssd-contacts")
RECORDED = dt.datetime(2024, 6, 1, 9, 0, tzinfo=LONDON)
HEADER = (
    "cont_contact_id,cont_person_id,cont_contact_date,cont_contact_source_code,cont_contact_source_desc,"
    "cont_contact_outcome_json"
)


def write_extract(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "ssd_contacts.csv"
    path.write_text("\n".join((header, *rows)) + "\n", encoding="utf-8")
    return path


def read(path: Path, mapping: SsdContactsMapping | None = None) -> IngestResult:
    return read_ssd_contacts(path, mapping or SsdContactsMapping.shipped(), "886", KEY, recorded_at=RECORDED)


def test_the_shipped_example_extract_loads_every_contact_with_its_decision() -> None:
    result = read(EXAMPLE)
    assert result.rejected == []
    received = [e for e in result.events if isinstance(e, ContactReceived)]
    decided = [e for e in result.events if isinstance(e, ContactDecided)]
    assert len(received) == 5
    assert [d.outcome for d in decided] == [
        ContactOutcome.REFERRAL, ContactOutcome.ADVICE_SIGNPOST, ContactOutcome.STRATEGY_S47, ContactOutcome.EARLY_HELP,
    ]  # fmt: skip


def test_a_contact_is_received_at_its_contact_date_in_england_with_its_source_code(tmp_path: Path) -> None:
    row = 'C1,P1,2024-07-01 09:15,6,,"{""OUTCOME_NFA_FLAG"": ""Y""}"'
    received, decided = read(write_extract(tmp_path, row)).events
    assert isinstance(received, ContactReceived) and isinstance(decided, ContactDecided)
    assert received.received_at == dt.datetime(2024, 7, 1, 9, 15, tzinfo=LONDON)
    assert received.source is ReferralSource.POLICE
    assert decided.outcome is ContactOutcome.NFA and decided.contact_id == received.contact_id


def test_the_first_flag_set_in_the_mappings_order_is_the_decision(tmp_path: Path) -> None:
    row = 'C1,P1,2024-07-01,6,,"{""OUTCOME_NFA_FLAG"": ""Y"", ""OUTCOME_CP_ENQUIRY_FLAG"": ""Y""}"'
    decided = [e for e in read(write_extract(tmp_path, row)).events if isinstance(e, ContactDecided)]
    assert [d.outcome for d in decided] == [ContactOutcome.STRATEGY_S47]


def test_a_contact_with_no_outcome_flag_set_is_received_and_not_yet_decided(tmp_path: Path) -> None:
    row = 'C1,P1,2024-07-01,6,,"{""OUTCOME_NFA_FLAG"": ""N"", ""OUTCOME_ADVICE_FLAG"": null}"'
    assert [type(e) for e in read(write_extract(tmp_path, row)).events] == [ContactReceived]


def test_outcome_flags_as_columns_of_their_own_are_read_too(tmp_path: Path) -> None:
    header = "cont_contact_id,cont_person_id,cont_contact_date,cont_contact_source_code,OUTCOME_EARLY_HELP_FLAG"
    events = read(write_extract(tmp_path, "C1,P1,2024-07-01,3E,Y", header=header)).events
    assert [e.outcome for e in events if isinstance(e, ContactDecided)] == [ContactOutcome.EARLY_HELP]


def test_a_local_source_code_is_translated_by_the_mapping(tmp_path: Path) -> None:
    shipped = SsdContactsMapping.shipped()
    mapping = SsdContactsMapping(shipped.columns, shipped.outcome_flags, shipped.outcome_values, {"POL": "6"})
    (received,) = read(write_extract(tmp_path, "C1,P1,2024-07-01,POL,,"), mapping).events
    assert isinstance(received, ContactReceived) and received.source is ReferralSource.POLICE


def test_rows_without_a_person_a_date_or_a_known_source_are_rejected_with_the_reason_and_no_value(
    tmp_path: Path,
) -> None:
    result = read(
        write_extract(tmp_path, "C1,,2024-07-01,6,,", "C2,P-SECRET,31/31/2024,6,,", "C3,P3,2024-07-01,ZZ,Martians,")
    )
    assert [r.location for r in result.rejected] == ["row 2", "row 3", "row 4"]
    assert "child_id" in result.rejected[0].reason
    assert "contact_date" in result.rejected[1].reason
    assert "source" in result.rejected[2].reason
    assert all("P-SECRET" not in r.reason for r in result.rejected)


def test_the_same_extract_loaded_twice_gives_the_same_event_ids_and_no_raw_id(tmp_path: Path) -> None:
    path = write_extract(tmp_path, 'C-77,P-77,2024-07-01,6,,"{""OUTCOME_NEW_REFERRAL_FLAG"": ""Y""}"')
    first, second = read(path).events, read(path).events
    assert [e.event_id for e in first] == [e.event_id for e in second]
    assert all("P-77" not in e.model_dump_json() and "C-77" not in e.model_dump_json() for e in first)


def test_a_mapping_naming_an_unknown_outcome_is_refused_when_loaded() -> None:
    with pytest.raises(ValueError, match="ssd_contacts mapping"):
        SsdContactsMapping.from_toml({"columns": {}, "outcome_flags": {"X": "maybe"}})
