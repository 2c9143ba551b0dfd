"""Councils' own extracts -> canonical events: JSONL of canonical events, or CSV read through a column mapping.

The format is documented for councils in docs/ingest-csv.md; keep the two in step.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from schemas.events import EVENT_TYPES, InboundEvent
from services.ingest.annex_a_values import (
    clean_text,
    parse_closure_reason,
    parse_contact_outcome,
    parse_date,
    parse_primary_need,
    parse_source,
    parse_yes_no,
    validation_summary,
)
from services.ingest.identity import LONDON, ChildPseudonym, Pseudonymiser, event_id, start_of_day
from services.ingest.result import IngestResult, Rejected

MODELS: dict[str, type[InboundEvent]] = {cls.__name__: cls for cls in EVENT_TYPES}
_DERIVED = frozenset({"type", "schema_version", "la_code", "child_key", "merged_child_key", "pseudonym_key_id"})
# Columns a mapping may name: every event field a council can supply, plus raw child ids to pseudonymise.
CSV_FIELDS: frozenset[str] = frozenset(
    {"type", "child_id", "merged_child_id"} | {f for cls in EVENT_TYPES for f in cls.model_fields} - _DERIVED
)
# When an extract has no event_id, it is derived from what identifies the fact, so re-ingesting is idempotent.
NATURAL_KEY: dict[str, tuple[str, ...]] = {
    "ContactReceived": ("contact_id",),
    "ContactDecided": ("contact_id",),
    "ReferralOpened": ("referral_id",),
    "ReferralMarkedNFA": ("referral_id",),
    "AssessmentStarted": ("assessment_id",),
    "AssessmentAuthorised": ("assessment_id",),
    "S47Started": ("s47_id",),
    "ICPCHeld": ("s47_id", "icpc_date"),
    "CPPStarted": ("plan_id",),
    "CPPEnded": ("plan_id",),
    "EpisodeClosed": ("referral_id", "closure_date"),
    "EventRetracted": ("retracted_event_id",),
    "ChildRecordsMerged": ("merged_child_key",),
}
# The council's own references: pseudonymised at the door like the child id, since they lead back to a case file.
REFERENCE_FIELDS = frozenset({"referral_id", "contact_id", "assessment_id", "s47_id", "plan_id"})
# The event's own date, used for occurred_at when the extract has none.
OWN_DATE: dict[str, str] = {
    "ContactReceived": "received_at",
    "ReferralOpened": "referral_date",
    "AssessmentStarted": "start_date",
    "AssessmentAuthorised": "authorised_date",
    "S47Started": "start_date",
    "ICPCHeld": "icpc_date",
    "CPPStarted": "start_date",
    "CPPEnded": "end_date",
    "EpisodeClosed": "closure_date",
}


def _source_code(value: object) -> object:
    parsed = parse_source(value)  # codes ("6") and Ofsted labels ("q) 6: Police", "Police") alike
    return None if parsed is None else parsed[0]


_DATETIMES = frozenset({"occurred_at", "recorded_at", "received_at"})
_DATES = frozenset({"referral_date", "start_date", "authorised_date", "icpc_date", "end_date", "closure_date"})
_PARSERS: dict[str, Callable[[object], object]] = {  # fields the council may write in more than one way
    **dict.fromkeys(_DATES, parse_date),
    **dict.fromkeys(("child_in_need", "plan_started"), parse_yes_no),
    "source": _source_code,
    "primary_need": parse_primary_need,
    "reason": parse_closure_reason,
    "outcome": parse_contact_outcome,
    "factors": lambda v: tuple(f.strip() for f in re.split(r"[;,|]", str(v)) if f.strip()),
}


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    """Canonical field -> the council's column heading; unmapped fields are looked for under their own name."""

    columns: Mapping[str, str] = field(default_factory=dict)
    event_types: Mapping[str, str] = field(default_factory=dict)  # council's value -> canonical type name

    def __post_init__(self) -> None:
        unknown = sorted(set(self.columns) - CSV_FIELDS)
        if unknown:
            raise ValueError(f"mapping names fields no event has: {', '.join(unknown)}")
        bad_types = sorted(set(self.event_types.values()) - MODELS.keys())
        if bad_types:
            raise ValueError(f"mapping names unknown event types: {', '.join(bad_types)}")

    @classmethod
    def from_file(cls, path: Path) -> ColumnMapping:
        """A `.toml` or `.json` file with a `columns` table and an optional `event_types` table."""
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
        return cls(columns=dict(data.get("columns", {})), event_types=dict(data.get("event_types", {})))

    def column(self, name: str) -> str:
        return self.columns.get(name, name)

    def event_type(self, value: str) -> str | None:
        by_council = {k.strip().lower(): v for k, v in self.event_types.items()}
        by_name = {name.lower(): name for name in MODELS}
        key = value.strip().lower()
        return by_council.get(key) or by_name.get(key)


class _Rejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_csv(
    path: Path,
    mapping: ColumnMapping,
    la_code: str,
    pseudonymiser: Pseudonymiser,
    *,
    recorded_at: dt.datetime | None = None,
) -> IngestResult:
    """One event per row. `recorded_at` (when no column gives it) defaults to the file's modification time."""
    builder = _RowBuilder(mapping, la_code, pseudonymiser, recorded_at or _file_time(path))
    result = IngestResult()
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = csv.DictReader(handle)
        headings = set(rows.fieldnames or ())
        missing = [mapping.column(f) for f in ("type", "child_id") if mapping.column(f) not in headings]
        if missing:
            reason = f"no column {' or '.join(repr(m) for m in missing)} in the header"
            result.rejected.append(Rejected(path.name, "row 1", reason))
            return result
        for number, row in enumerate(rows, start=2):  # the header is row 1, as a spreadsheet shows it
            if not any(clean_text(v) for v in row.values() if isinstance(v, str)):
                continue
            result.read += 1
            try:
                result.events.append(builder.build(row))
            except _Rejected as exc:
                result.rejected.append(Rejected(path.name, f"row {number}", exc.reason))
            except ValidationError as exc:
                result.rejected.append(Rejected(path.name, f"row {number}", validation_summary(exc)))
    return result


def _file_time(path: Path) -> dt.datetime:
    return dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC)


@dataclass(frozen=True, slots=True)
class _RowBuilder:
    mapping: ColumnMapping
    la_code: str
    pseudonymiser: Pseudonymiser
    recorded_at: dt.datetime

    def build(self, row: Mapping[str, str | None]) -> InboundEvent:
        kind = self._kind(row)
        model = MODELS[kind]
        child, key_id = self._child_key(row, "child_id")
        values: dict[str, Any] = {"type": kind, "la_code": self.la_code, "child_key": child, "pseudonym_key_id": key_id}
        if kind == "ChildRecordsMerged":
            values["merged_child_key"] = self._child_key(row, "merged_child_id").pseudonym
        for name in model.model_fields.keys() - _DERIVED:
            text = clean_text(row.get(self.mapping.column(name)))
            if text is not None:
                values[name] = self._convert(name, text)
        if "occurred_at" not in values:
            values["occurred_at"] = self._own_time(kind, values)
        values.setdefault("recorded_at", self.recorded_at)
        if "event_id" not in values:
            key = (values.get(k) for k in NATURAL_KEY[kind])
            values["event_id"] = event_id("csv", self.la_code, kind, child, *key)
        return model.model_validate(values)

    def _kind(self, row: Mapping[str, str | None]) -> str:
        text = clean_text(row.get(self.mapping.column("type")))
        if text is None:
            raise _Rejected(f"no event type in column '{self.mapping.column('type')}'")
        kind = self.mapping.event_type(text)
        if kind is None:
            raise _Rejected(f"event type in column '{self.mapping.column('type')}' is not one the mapping knows")
        return kind

    def _child_key(self, row: Mapping[str, str | None], name: str) -> ChildPseudonym:
        raw = clean_text(row.get(self.mapping.column(name)))
        if raw is None:
            raise _Rejected(f"no {name} in column '{self.mapping.column(name)}'")
        return self.pseudonymiser.pseudonymise_child(self.la_code, raw)

    def _convert(self, name: str, text: str) -> object:
        if name in REFERENCE_FIELDS:
            return self.pseudonymiser.reference(self.la_code, name, text)
        if name == "closing_worker":  # None when dropped, which the model takes as "not recorded"
            return self.pseudonymiser.worker_name(self.la_code, text)
        try:
            if name in _DATETIMES:
                return parse_datetime(text)
            parse = _PARSERS.get(name)
            return text if parse is None else parse(text)
        except ValueError as exc:
            raise _Rejected(f"{name} (column '{self.mapping.column(name)}'): {exc}") from None

    @staticmethod
    def _own_time(kind: str, values: Mapping[str, Any]) -> dt.datetime:
        own = values.get(OWN_DATE.get(kind, ""))
        if isinstance(own, dt.datetime):
            return own
        if isinstance(own, dt.date):
            return start_of_day(own)
        raise _Rejected(f"no occurred_at, and {kind} has no date of its own to take it from")


def parse_datetime(text: str) -> dt.datetime:
    """ISO 8601 (naive means England's local time), or a date (ISO or DD/MM/YYYY) meaning local midnight."""
    moment: dt.datetime | None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        moment = _dmy_time(text)
    if moment is None:
        day = parse_date(text)
        if day is None:
            raise ValueError("not a readable date or time")
        return start_of_day(day)
    if len(text) <= 10:  # a bare ISO date parses as midnight too; say so explicitly in local time
        return start_of_day(moment.date())
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=LONDON)


def _dmy_time(text: str) -> dt.datetime | None:
    match = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?", text.strip())
    if match is None:
        return None
    day, month, year, hour, minute = (int(g) for g in match.groups()[:5])
    return dt.datetime(year, month, day, hour, minute, int(match.group(6) or 0))
