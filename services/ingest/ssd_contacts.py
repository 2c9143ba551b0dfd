"""The Standard Safeguarding Dataset's `ssd_contacts` extract -> ContactReceived, and ContactDecided when decided.

One row per contact: contact id, person id, contact date, source code and the outcome flags (a JSON object, as
the SSD builds `cont_contact_outcome_json`, or flag columns, or a word). The headings, local source codes and
the outcome flags' priority come from a mapping; the shipped one is `mappings/ssd_contacts.toml`. Each contact is
compared with what the door last published for it (ssd_changes.py): a changed decision retracts the old one.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from schemas.codes import ContactOutcome, ReferralSource
from schemas.events import ContactDecided, ContactReceived, InboundEvent
from services.ingest.annex_a_values import clean_text, parse_contact_outcome, parse_source, validation_summary
from services.ingest.identity import Pseudonymiser
from services.ingest.result import IngestResult, Rejected
from services.ingest.ssd_changes import ContactStates, fresh_id
from services.ingest.tabular import parse_datetime

ROLES = ("contact_id", "child_id", "contact_date", "source_code", "source_desc", "outcome")
REQUIRED = ("contact_id", "child_id", "contact_date")
_SET = frozenset({"y", "yes", "true", "1", "t"})


@dataclass(frozen=True, slots=True)
class SsdContactsMapping:
    """Role -> heading; outcome flag -> decision, in priority order; outcome word -> decision; local -> CIN code."""

    columns: Mapping[str, str]
    outcome_flags: Mapping[str, ContactOutcome] = field(default_factory=dict)
    outcome_values: Mapping[str, ContactOutcome] = field(default_factory=dict)
    source_codes: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.columns) - set(ROLES))
        if unknown:
            raise ValueError(f"mapping names columns an ssd_contacts row has no role for: {', '.join(unknown)}")

    @classmethod
    def shipped(cls) -> SsdContactsMapping:
        """The mapping for the SSD's own headings (`cont_contact_id`, ...), shipped with the package."""
        text = resources.files("services.ingest").joinpath("mappings/ssd_contacts.toml").read_text(encoding="utf-8")
        return cls.from_toml(tomllib.loads(text))

    @classmethod
    def from_file(cls, path: Path) -> SsdContactsMapping:
        return cls.from_toml(tomllib.loads(path.read_text(encoding="utf-8")))

    @classmethod
    def from_toml(cls, data: Mapping[str, Any]) -> SsdContactsMapping:
        try:
            return cls(
                columns={role: str(heading) for role, heading in data.get("columns", {}).items()},
                outcome_flags={k: ContactOutcome(v) for k, v in data.get("outcome_flags", {}).items()},
                outcome_values={
                    k.strip().lower(): ContactOutcome(v) for k, v in data.get("outcome_values", {}).items()
                },
                source_codes={str(k).strip(): str(v).strip() for k, v in data.get("source_codes", {}).items()},
            )
        except ValueError as exc:
            raise ValueError(f"ssd_contacts mapping: {exc}") from None

    def column(self, role: str) -> str:
        return self.columns.get(role, role)


class _Rejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_ssd_contacts(
    path: Path,
    mapping: SsdContactsMapping,
    la_code: str,
    pseudonymiser: Pseudonymiser,
    *,
    recorded_at: dt.datetime | None = None,
    contacts: ContactStates | None = None,
) -> IngestResult:
    """Each row's ContactReceived and, when an outcome is set, its ContactDecided; every bad row with its reason.

    Only what changed since `contacts` (each contact's state as the door left it; by default none, as for a first
    extract): a contact sent again unchanged emits nothing, a changed decision retracts the old one.
    """
    recorded = recorded_at or dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC)
    if contacts is None:
        contacts = ContactStates()
    result = IngestResult()
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = csv.DictReader(handle)
        headings = set(rows.fieldnames or ())
        missing = [mapping.column(role) for role in REQUIRED if mapping.column(role) not in headings]
        if missing:
            reason = f"no column {' or '.join(repr(m) for m in missing)} in the header"
            result.rejected.append(Rejected(path.name, "row 1", reason))
            return result
        flag_columns = [flag for flag in mapping.outcome_flags if flag in headings]
        for number, row in enumerate(rows, start=2):
            if not any(clean_text(v) for v in row.values() if isinstance(v, str)):
                continue
            result.read += 1
            try:
                events = _contact_events(
                    row, mapping, flags=flag_columns, la_code=la_code, pseudonymiser=pseudonymiser,
                    recorded_at=recorded, contacts=contacts,
                )  # fmt: skip
                result.events.extend(events)
            except _Rejected as exc:
                result.rejected.append(Rejected(path.name, f"row {number}", exc.reason))
            except ValidationError as exc:
                result.rejected.append(Rejected(path.name, f"row {number}", validation_summary(exc)))
    return result


def _contact_events(
    row: Mapping[str, str | None],
    mapping: SsdContactsMapping,
    *,
    flags: list[str],
    la_code: str,
    pseudonymiser: Pseudonymiser,
    recorded_at: dt.datetime,
    contacts: ContactStates,
) -> list[InboundEvent]:
    values = {role: clean_text(row.get(mapping.column(role))) for role in ROLES}
    for role in REQUIRED:
        if values[role] is None:
            raise _Rejected(f"no {role} in column '{mapping.column(role)}'")
    try:
        received = parse_datetime(str(values["contact_date"]))
    except ValueError as exc:
        raise _Rejected(f"contact_date (column '{mapping.column('contact_date')}'): {exc}") from None
    source = _source(values["source_code"], values["source_desc"], mapping)
    outcome = _outcome(values["outcome"], {flag: row.get(flag) for flag in flags}, mapping)
    child, key_id = pseudonymiser.pseudonymise_child(la_code, str(values["child_id"]))
    contact = pseudonymiser.reference(la_code, "contact_id", str(values["contact_id"]))
    common: dict[str, object] = {"la_code": la_code, "child_key": child, "pseudonym_key_id": key_id}
    common |= {"contact_id": contact, "occurred_at": received}
    retracted = contacts.retracted(contact) if not pseudonymiser.keeps_raw_ids else frozenset()
    events: list[InboundEvent] = [
        ContactReceived(
            **common,
            event_id=fresh_id(retracted, la_code, "ContactReceived", child, contact),
            recorded_at=recorded_at,
            received_at=received,
            source=source,
        )
    ]
    if outcome is not None:  # the decision's time is not in the extract: taken as the contact's own
        decided_id = fresh_id(retracted, la_code, "ContactDecided", child, contact, outcome.value)
        events.append(ContactDecided(**common, event_id=decided_id, recorded_at=recorded_at, outcome=outcome))
    if pseudonymiser.keeps_raw_ids:  # a council's own ids are never stored as a state: every event, as read
        return events
    return contacts.change(contact, events, recorded_at)


def _source(code: str | None, label: str | None, mapping: SsdContactsMapping) -> ReferralSource:
    for value in (mapping.source_codes.get(code, code) if code else None, label):
        try:
            parsed = parse_source(value)
        except ValueError:
            continue
        if parsed is not None:
            return parsed[0]
    where = f"'{mapping.column('source_code')}' or '{mapping.column('source_desc')}'"
    raise _Rejected(f"no recognised contact source in column {where}")


def _outcome(
    text: str | None, flag_cells: Mapping[str, str | None], mapping: SsdContactsMapping
) -> ContactOutcome | None:
    """The first outcome flag set in the mapping's order; else the outcome column as a word; None: not decided."""
    flags: dict[str, Any] = {k: v for k, v in flag_cells.items() if v}
    if text is not None and text.lstrip().startswith("{"):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            raise _Rejected("the outcome column is not a readable JSON object of flags") from None
        if not isinstance(parsed, dict):
            raise _Rejected("the outcome column is not a JSON object of flags")
        flags |= parsed
        text = None
    for flag, outcome in mapping.outcome_flags.items():
        if str(flags.get(flag, "")).strip().lower() in _SET:
            return outcome
    if text is None:
        return None
    known = mapping.outcome_values.get(text.strip().lower())
    if known is not None:
        return known
    try:
        return parse_contact_outcome(text)
    except ValueError:
        raise _Rejected(f"outcome (column '{mapping.column('outcome')}') is not a word the mapping knows") from None
