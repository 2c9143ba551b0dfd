"""DfE CSC API records -> canonical events, pure: the events of a child are a function of the merged record alone.

`translate` merges the incoming (full or partial) record into the previous one, computes the events the merged
record stands for, and diffs them with the events the previous record stood for: ids only in the old set are
retracted, ids only in the new set are emitted. Every event id hashes the council, the pseudonym, the item and the
event's whole content, so a record sent twice changes nothing, and a changed date (or source, or reason) retracts
the old event and emits the corrected one. An id once retracted is never used again for this child (the core keeps
retractions as tombstones), so an item withdrawn and later restored gets a fresh id, the same on every resend.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from schemas.codes import ReferralSource
from schemas.csc_api import ITEM_ID, ChildRecord, CscChildState, SocialCareEpisode
from schemas.events import (
    AssessmentAuthorised,
    AssessmentStarted,
    CPPEnded,
    CPPStarted,
    EpisodeClosed,
    EventRetracted,
    ICPCHeld,
    InboundEvent,
    ReferralMarkedNFA,
    ReferralOpened,
    S47Started,
)
from schemas.pseudonyms import is_pseudonym
from services.ingest.identity import event_id, retraction, start_of_day

ID_SOURCE = "dfe-csc-api"  # the id namespace: ids from this door never collide with another adapter's


@dataclass(frozen=True, slots=True)
class Translation:
    """What one record changed: the state to store for the child, and the events to publish, retractions first.

    Publish `events` durably first, then store `state`: if the process dies in between, the record is sent again,
    translated against the old state, and gives the same events with the same ids, which the core ignores.
    """

    state: CscChildState
    events: tuple[InboundEvent, ...]

    @property
    def retracted(self) -> int:
        return sum(isinstance(e, EventRetracted) for e in self.events)


def translate(
    previous: CscChildState | None,
    incoming: ChildRecord,
    *,
    la_code: str,
    received_at: dt.datetime,
    pseudonym_key_id: str | None = None,
) -> Translation:
    """The events `incoming` changes for its child, given the child's `previous` state (None: never seen).

    `incoming` must already be pseudonymised at the door (services/ingest/csc_api.py): its `la_child_id` is the
    child's pseudonym, made with the key `pseudonym_key_id` names (recorded on every event; not part of any event
    id, so a rotation alone changes no event). `received_at` (timezone-aware) is the events' `recorded_at` and the
    retractions' time.
    """
    child_key = incoming.la_child_id
    if not is_pseudonym(child_key):
        raise ValueError("translate takes a record pseudonymised at the door, not a council's child id")
    if previous is not None and (previous.child_key, previous.la_code) != (child_key, la_code):
        raise ValueError("the previous state belongs to another child")
    retracted = previous.retracted if previous is not None else ()
    old_record = previous.record if previous is not None else None
    merged = merge_record(old_record, incoming)
    before = events_of(old_record, la_code, retracted, received_at, pseudonym_key_id)
    after = events_of(merged, la_code, retracted, received_at, pseudonym_key_id)
    withdrawn = [eid for eid in before if eid not in after]
    events: list[InboundEvent] = [
        retraction(ID_SOURCE, eid, la_code=la_code, child_key=child_key, at=received_at, key_id=pseudonym_key_id)
        for eid in withdrawn
    ]
    events.extend(event for eid, event in after.items() if eid not in before)
    state = CscChildState(
        la_code=la_code, child_key=child_key, record=merged, retracted=(*retracted, *withdrawn), updated_at=received_at
    )
    return Translation(state, tuple(events))


def merge_record(previous: ChildRecord | None, incoming: ChildRecord) -> ChildRecord | None:
    """The record after `incoming`, as the sender builds deltas: absent fields unchanged, items matched by id.

    An item (or a single block such as `adoption`) with `purge: true` is removed with everything under it; a
    record with `purge: true` withdraws the whole child (None). A list or block sent as null changes nothing.
    """
    if incoming.purge:
        return None
    base = previous.model_dump(exclude_unset=True) if previous is not None else {}
    merged = _merge_fields(base, incoming.model_dump(exclude_unset=True))
    merged.pop("purge", None)
    return ChildRecord.model_validate(merged)


def _merge_fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(old)
    for name, value in new.items():
        if name in ITEM_ID and value is not None:
            merged[name] = _merge_items(old.get(name) or (), value, ITEM_ID[name])
        elif isinstance(value, Mapping):
            block = _merge_fields(old.get(name) or {}, value)
            if block.pop("purge", False):
                merged.pop(name, None)
            else:
                merged[name] = block
        elif value is not None or name not in ITEM_ID:
            merged[name] = value
    return merged


def _merge_items(old: Any, new: Any, id_field: str) -> list[dict[str, Any]]:
    items = {item[id_field]: item for item in old}
    for item in new:
        key = item[id_field]
        if item.get("purge"):
            items.pop(key, None)
            continue
        merged = _merge_fields(items.get(key, {}), item)
        merged.pop("purge", None)
        items[key] = merged
    return list(items.values())


def events_of(
    record: ChildRecord | None,
    la_code: str,
    retracted: tuple[str, ...],
    recorded_at: dt.datetime,
    pseudonym_key_id: str | None = None,
) -> dict[str, InboundEvent]:
    """Every event a merged record stands for, by id; an id in `retracted` is skipped to the item's next one."""
    if record is None:
        return {}
    child = _Child(la_code, record.la_child_id, recorded_at, frozenset(retracted), pseudonym_key_id)
    events: dict[str, InboundEvent] = {}
    for episode in record.social_care_episodes or ():
        for kind, ref, fields in _episode_facts(episode):
            event = child.event(kind, ref, fields)
            events[event.event_id] = event
    return events


_Fact = tuple[type[InboundEvent], str, dict[str, Any]]


def _episode_facts(episode: SocialCareEpisode) -> Iterator[_Fact]:
    """(event type, item id, the event's own fields) for each fact one episode records."""
    ref = episode.social_care_episode_id
    if episode.referral_date is not None:
        source = episode.referral_source or ReferralSource.UNKNOWN
        yield ReferralOpened, ref, {"referral_id": ref, "referral_date": episode.referral_date, "source": source}
        if episode.referral_no_further_action_flag:
            day = episode.closure_date or episode.referral_date
            yield ReferralMarkedNFA, ref, {"referral_id": ref, "occurred_at": start_of_day(day)}
    if episode.closure_date is not None and episode.closure_reason is not None:
        closed = {"referral_id": ref, "closure_date": episode.closure_date, "reason": episode.closure_reason}
        yield EpisodeClosed, ref, closed
    for assessment in episode.child_and_family_assessments or ():
        aid = assessment.child_and_family_assessment_id
        if assessment.start_date is not None:
            yield (
                AssessmentStarted,
                aid,
                {"assessment_id": aid, "referral_id": ref, "start_date": assessment.start_date},
            )
        if assessment.authorisation_date is not None:
            factors = assessment.factors or ()
            authorised = {"assessment_id": aid, "authorised_date": assessment.authorisation_date, "factors": factors}
            yield AssessmentAuthorised, aid, {**authorised, "child_in_need": None}
    for enquiry in episode.section_47_assessments or ():
        sid = enquiry.section_47_assessment_id
        if enquiry.start_date is not None:
            yield S47Started, sid, {"s47_id": sid, "start_date": enquiry.start_date, "referral_id": ref}
        if enquiry.icpc_date is not None:
            yield ICPCHeld, sid, {"s47_id": sid, "referral_id": ref, "icpc_date": enquiry.icpc_date}
    for plan in episode.child_protection_plans or ():
        pid = plan.child_protection_plan_id
        if plan.start_date is not None:
            yield CPPStarted, pid, {"plan_id": pid, "start_date": plan.start_date, "referral_id": ref}
        if plan.end_date is not None:
            yield CPPEnded, pid, {"plan_id": pid, "end_date": plan.end_date}


# The date each event happened on, for occurred_at (local midnight, as for every dated source).
_OWN_DATE = ("referral_date", "closure_date", "start_date", "authorised_date", "icpc_date", "end_date")


@dataclass(frozen=True, slots=True)
class _Child:
    la_code: str
    child_key: str
    recorded_at: dt.datetime
    retracted: frozenset[str]
    pseudonym_key_id: str | None

    def event(self, kind: type[InboundEvent], ref: str, fields: dict[str, Any]) -> InboundEvent:
        if "occurred_at" not in fields:
            fields["occurred_at"] = start_of_day(next(fields[name] for name in _OWN_DATE if name in fields))
        content = sorted((name, str(value)) for name, value in fields.items())
        generation = 0
        while (eid := self._event_id(kind, ref, content, generation)) in self.retracted:
            generation += 1  # this exact fact was withdrawn before: it comes back under its next id
        own = {"event_id": eid, "la_code": self.la_code, "child_key": self.child_key, "recorded_at": self.recorded_at}
        return kind.model_validate(fields | own | {"pseudonym_key_id": self.pseudonym_key_id})

    def _event_id(self, kind: type[InboundEvent], ref: str, content: list[tuple[str, str]], generation: int) -> str:
        return event_id(ID_SOURCE, self.la_code, self.child_key, kind.__name__, ref, content, generation)
