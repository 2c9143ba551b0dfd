"""The door for DfE CSC API records: pseudonymise each record, translate it against the child's previous state.

`frontdoor ingest --format dfe-csc-api FILE` reads a JSON array or JSON lines of records (each the payload's
envelope `{"la_code": 886, "Children": {...}}`, or a bare child record with `--la-code`). The receiver calls
`receive_record` too (services/receiver/records.py), one record at a time.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, MutableMapping
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from schemas.csc_api import ITEM_ID, ChildRecord, ChildRecordEnvelope, CscChildState
from services.ingest.annex_a_values import validation_summary
from services.ingest.csc_translate import Translation, translate
from services.ingest.identity import Pseudonymiser
from services.ingest.result import IngestResult, Rejected

# The council reference domain of each item id: a referral is the same `referral_id` whichever door it came through.
REFERENCE_FIELD: dict[str, str] = {
    "social_care_episode_id": "referral_id",
    "child_and_family_assessment_id": "assessment_id",
    "section_47_assessment_id": "s47_id",
    "child_protection_plan_id": "plan_id",
}
# What the door keeps of an episode: what the events need. Names, dates of birth, postcodes, health and placement
# details are dropped here and never reach Kafka.
KEPT_LISTS = ("child_and_family_assessments", "section_47_assessments", "child_protection_plans")
DROPPED_FROM_EPISODE = (
    "care_worker_details",
    "child_in_need_plans",
    "child_looked_after_placements",
    "adoption",
    "care_leavers",
)


class PreviousLookup(Protocol):
    """Where a child's previous state is looked up, by pseudonym (None: never seen)."""

    async def get(self, child_key: str) -> CscChildState | None: ...


class PreviousRecords(PreviousLookup, Protocol):
    """Each child's previous state, by pseudonym; the Kafka one is services/kafka/previous_records.py."""

    async def put(self, states: Iterable[CscChildState]) -> None: ...


class MemoryPreviousRecords:
    """The previous states in a dict (`changed`: those put since it was made), for `ingest` and for tests."""

    def __init__(self, states: MutableMapping[str, CscChildState] | None = None) -> None:
        self.states: MutableMapping[str, CscChildState] = {} if states is None else states
        self.changed: dict[str, CscChildState] = {}

    async def get(self, child_key: str) -> CscChildState | None:
        return self.states.get(child_key)

    async def put(self, states: Iterable[CscChildState]) -> None:
        for state in states:
            self.states[state.child_key] = state
            self.changed[state.child_key] = state


def pseudonymise_record(record: ChildRecord, la_code: str, pseudonymiser: Pseudonymiser) -> ChildRecord:
    """The record as it may pass the door: child id -> pseudonym, every item id -> a council reference pseudonym.

    This is the one place the DfE CSC API door pseudonymises a child id (and so feeds the identity store).
    """
    data = record.model_dump(exclude_unset=True)
    data["la_child_id"] = pseudonymiser.pseudonymise_child(la_code, record.la_child_id).pseudonym
    data["mis_child_id"] = pseudonymiser.reference(la_code, "mis_child_id", record.mis_child_id)
    data.pop("child_details", None)
    data.pop("health_and_wellbeing", None)
    episodes = data.get("social_care_episodes")
    if episodes is not None:
        data["social_care_episodes"] = [_episode_at_the_door(e, la_code, pseudonymiser) for e in episodes]
    return ChildRecord.model_validate(data)


def _episode_at_the_door(episode: dict[str, Any], la_code: str, pseudonymiser: Pseudonymiser) -> dict[str, Any]:
    kept = {name: value for name, value in episode.items() if name not in DROPPED_FROM_EPISODE}
    kept["social_care_episode_id"] = _reference(
        episode["social_care_episode_id"], "social_care_episode_id", la_code, pseudonymiser
    )
    for name in KEPT_LISTS:
        if kept.get(name) is not None:
            id_field = ITEM_ID[name]
            kept[name] = [
                {**item, id_field: _reference(item[id_field], id_field, la_code, pseudonymiser)} for item in kept[name]
            ]
    return kept


def _reference(raw: str, id_field: str, la_code: str, pseudonymiser: Pseudonymiser) -> str:
    return pseudonymiser.reference(la_code, REFERENCE_FIELD[id_field], raw)


async def receive_record(
    record: ChildRecord,
    *,
    la_code: str,
    pseudonymiser: Pseudonymiser,
    previous: PreviousLookup,
    received_at: dt.datetime,
) -> Translation:
    """THE way a record comes in, from a file or the receiver: pseudonymise, look up the child's previous state,
    translate. The caller publishes the events, then stores the state.

    A whole-child purge also puts the child's pseudonyms in `pseudonymiser.erased` (and keeps no identity of it),
    for the caller to erase from the identity store once the retractions are published.
    Raises ValueError (or pydantic's ValidationError) with a reason that never quotes the record.
    """
    door = pseudonymise_record(record, la_code, pseudonymiser)
    state = await previous.get(door.la_child_id)
    key_id = pseudonymiser.key_id(la_code)
    translation = translate(state, door, la_code=la_code, received_at=received_at, pseudonym_key_id=key_id)
    if record.purge:
        pseudonymiser.forget_child(la_code, record.la_child_id)
    return translation


def parse_records(text: str) -> Iterator[tuple[str, Any]]:
    """(location, JSON value) for each record of a JSON array, or of JSON lines; a bad line is (location, error)."""
    stripped = text.lstrip("\ufeff").lstrip()
    if stripped.startswith("["):
        try:
            values = json.loads(stripped)
        except json.JSONDecodeError as exc:
            yield "file", ValueError(f"not a JSON array: {exc.msg} at line {exc.lineno}")
            return
        yield from ((f"record {number}", value) for number, value in enumerate(values, start=1))
        return
    for number, line in enumerate(stripped.splitlines(), start=1):
        if line.strip():
            try:
                yield f"line {number}", json.loads(line)
            except json.JSONDecodeError as exc:
                yield f"line {number}", ValueError(f"not JSON: {exc.msg}")


def validate_record(value: Any, la_code: str | None) -> tuple[str, ChildRecord]:
    """(council, record) from an envelope `{"la_code", "Children"}` or a bare record with the given council.

    Raises ValueError, or pydantic's ValidationError, with the reason; neither quotes the record's values.
    """
    if isinstance(value, dict) and "Children" in value:
        envelope = ChildRecordEnvelope.model_validate(value)
        if la_code is not None and envelope.la_code != la_code:
            raise ValueError(f"la_code {envelope.la_code} is not the council given with --la-code")
        return envelope.la_code, envelope.children
    if la_code is None:
        raise ValueError("a bare child record needs --la-code (or send the envelope with la_code and Children)")
    return la_code, ChildRecord.model_validate(value)


async def translate_file(
    path: Path,
    la_code: str | None,
    pseudonymiser: Pseudonymiser,
    previous: PreviousRecords,
    received_at: dt.datetime,
) -> IngestResult:
    """Every record of a file in order; each child's new state is put to `previous` as soon as it is translated."""
    result = IngestResult()
    for location, value in parse_records(path.read_text(encoding="utf-8")):
        result.read += 1
        try:
            if isinstance(value, ValueError):
                raise value
            council, record = validate_record(value, la_code)
            translation = await receive_record(
                record, la_code=council, pseudonymiser=pseudonymiser, previous=previous, received_at=received_at
            )
        except ValidationError as exc:
            result.rejected.append(Rejected(path.name, location, validation_summary(exc)))
            continue
        except ValueError as exc:
            result.rejected.append(Rejected(path.name, location, str(exc)))
            continue
        result.events.extend(translation.events)
        await previous.put([translation.state])
    return result
