"""The audit records' contract in schemas/: old records still read, every type is in the topic's schema, no drift."""

from __future__ import annotations

import json
from pathlib import Path
from typing import get_args

import pytest
from pydantic import ValidationError

from schemas.audit import AuditMessage, AuditRecord, DipSampleDrawn
from schemas.codec import decode_audit, encode
from schemas.generate import OUT_DIR, rendered
from schemas.topics import AUDIT

# Written by the desk's and the dip-sample command's own code before the models moved into schemas/ (one of each
# type, optional fields both set and left out).
WRITTEN_BEFORE = Path(__file__).parent / "data" / "audit_records_v1.jsonl"
LINES = WRITTEN_BEFORE.read_bytes().splitlines()
SCHEMA_FILE = f"{AUDIT.name}.json"


def record_types(union: object) -> set[str]:
    """The `type` discriminators of a union of record models."""
    return {member.model_fields["type"].default for member in get_args(union)}


@pytest.mark.parametrize("line", LINES, ids=[json.loads(line)["type"] for line in LINES])
def test_an_audit_record_written_before_the_move_decodes_and_encodes_to_the_same_bytes(line: bytes) -> None:
    record = decode_audit(line)
    assert type(record).__name__ == json.loads(line)["type"]
    assert encode(record) == line


def test_the_records_written_before_the_move_cover_every_audit_type() -> None:
    assert {json.loads(line)["type"] for line in LINES} == record_types(get_args(AuditMessage)[0])


def test_every_record_the_desk_writes_and_the_dip_sample_command_writes_is_in_the_audit_topic_contract() -> None:
    on_the_topic = record_types(get_args(AuditMessage)[0])
    assert record_types(AuditRecord) | {"DipSampleDrawn"} == on_the_topic
    committed = json.loads((OUT_DIR / SCHEMA_FILE).read_text())
    assert set(committed["discriminator"]["mapping"]) == on_the_topic


def test_the_committed_audit_json_schema_is_what_the_models_generate() -> None:
    assert (OUT_DIR / SCHEMA_FILE).read_text() == rendered()[SCHEMA_FILE]


def test_an_audit_record_with_a_field_the_contract_does_not_know_is_refused() -> None:
    written = json.loads(LINES[0])
    with pytest.raises(ValidationError, match="extra_forbidden"):
        decode_audit(json.dumps({**written, "child_name": "anything"}))


def test_an_audit_record_of_an_unknown_type_is_refused() -> None:
    written = json.loads(LINES[0])
    with pytest.raises(ValidationError, match="union_tag_invalid"):
        decode_audit(json.dumps({**written, "type": "ChildLevelDataPrinted"}))


def test_a_dip_sample_drawn_line_from_the_local_audit_file_reads_as_the_same_record_as_on_the_topic() -> None:
    (line,) = [line for line in LINES if b'"DipSampleDrawn"' in line]
    assert decode_audit(line) == DipSampleDrawn.model_validate_json(line)
