"""Any sequence of full and partial DfE CSC API records, sent any number of times, leaves the final record's events."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.csc_api import (
    ITEM_ID,
    ChildAndFamilyAssessment,
    ChildProtectionPlan,
    ChildRecord,
    CscChildState,
    RecordPart,
    Section47Assessment,
    SocialCareEpisode,
)
from schemas.events import EventRetracted, InboundEvent
from services.ingest.csc_api import pseudonymise_record
from services.ingest.csc_translate import translate
from services.ingest.identity import Pseudonymiser

LA = "886"
KEY = Pseudonymiser(b"property-test-key-not-a-secret-0000")
CHILD = {"la_child_id": "LA-9", "mis_child_id": "MIS-9", "child_details": {"first_name": "Alex", "purge": False}}
START = dt.datetime(2025, 1, 1, 2, 0, tzinfo=dt.UTC)

MODELS: dict[str, type[RecordPart]] = {
    "social_care_episodes": SocialCareEpisode,
    "child_and_family_assessments": ChildAndFamilyAssessment,
    "section_47_assessments": Section47Assessment,
    "child_protection_plans": ChildProtectionPlan,
}
# Few ids and few dates, so successive states reuse items and move dates back and forth.
dates = st.dates(dt.date(2024, 1, 1), dt.date(2024, 1, 8)).map(dt.date.isoformat)


def _item(id_field: str, ids: list[str], **fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({id_field: st.sampled_from(ids)}, optional=fields)


assessments = _item(
    "child_and_family_assessment_id",
    ["A1", "A2"],
    start_date=dates,
    authorisation_date=dates,
    factors=st.lists(st.sampled_from(["1A", "2B", "21"]), max_size=2),
)
enquiries = _item("section_47_assessment_id", ["S1", "S2"], start_date=dates, icpc_date=dates)
plans = _item("child_protection_plan_id", ["P1", "P2"], start_date=dates, end_date=dates)


def _unique(items: st.SearchStrategy[dict[str, Any]], id_field: str) -> st.SearchStrategy[list[dict[str, Any]]]:
    return st.lists(items, max_size=2, unique_by=lambda item: item[id_field])


episodes = st.fixed_dictionaries(
    {"social_care_episode_id": st.sampled_from(["E1", "E2", "E3"])},
    optional={
        "referral_date": dates,
        "referral_source": st.sampled_from(["1A", "6", "10"]),
        "referral_no_further_action_flag": st.booleans(),
        "closure_date": dates,
        "closure_reason": st.sampled_from(["RC7", "RC8"]),
        "child_and_family_assessments": _unique(assessments, "child_and_family_assessment_id"),
        "section_47_assessments": _unique(enquiries, "section_47_assessment_id"),
        "child_protection_plans": _unique(plans, "child_protection_plan_id"),
    },
)
# A child's true record at one moment; None: the child has left the cohort (sent as a whole-child purge).
truths = st.one_of(
    st.none(),
    st.lists(episodes, max_size=3, unique_by=lambda e: e["social_care_episode_id"]).map(
        lambda eps: CHILD | {"social_care_episodes": eps}
    ),
)
# Each step: the true record, whether the sender sends it full or as a delta, and how many times it is sent.
steps = st.lists(st.tuples(truths, st.booleans(), st.integers(1, 3)), min_size=1, max_size=6)


def delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What the sender sends: changed fields (a cleared one as null), new items whole, removed ones purged."""
    changed: dict[str, Any] = {}
    for name in before.keys() | after.keys():
        old, new = before.get(name), after.get(name)
        if name in ITEM_ID:
            items = _delta_items(old or [], new or [], ITEM_ID[name])
            if items:
                changed[name] = items
        elif old != new:
            changed[name] = new
    return changed


def _delta_items(before: list[dict[str, Any]], after: list[dict[str, Any]], id_field: str) -> list[dict[str, Any]]:
    old = {item[id_field]: item for item in before}
    new = {item[id_field]: item for item in after}
    items = [{id_field: key, "purge": True} for key in old.keys() - new.keys()]
    for key, item in new.items():
        if key not in old:
            items.append(item)
        elif change := delta(old[key], item):
            items.append({id_field: key} | change)
    return items


def full(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """A full record as the sender's query returns it: every field (null when empty), and purges for what went."""
    return CHILD | {"social_care_episodes": _full_items(before, after, "social_care_episodes")}


def _full_items(before: dict[str, Any], after: dict[str, Any], name: str) -> list[dict[str, Any]]:
    id_field, model = ITEM_ID[name], MODELS[name]
    old = {item[id_field]: item for item in before.get(name, [])}
    items: list[dict[str, Any]] = [
        {id_field: key, "purge": True} for key in old.keys() - {i[id_field] for i in after.get(name, [])}
    ]
    for item in after.get(name, []):
        whole = {field: None for field in model.model_fields if field not in ITEM_ID and field != "purge"} | item
        for nested in ITEM_ID.keys() & model.model_fields.keys() & MODELS.keys():
            whole[nested] = _full_items(old.get(item[id_field], {}), item, nested)
        items.append(whole)
    return items


def messages(plan: list[tuple[dict[str, Any] | None, bool, int]]) -> list[ChildRecord]:
    """The records a sender posts for the planned truths, in order, each repeated as planned."""
    sent: list[ChildRecord] = []
    before: dict[str, Any] = {}
    for truth, whole, times in plan:
        if truth is None:
            body: dict[str, Any] = {"la_child_id": CHILD["la_child_id"], "mis_child_id": CHILD["mis_child_id"]}
            body["purge"] = True
            before = {}
        else:
            body = full(before, truth) if whole else CHILD | delta(before, truth)
            before = truth
        sent.extend([ChildRecord.model_validate(body)] * times)
    return sent


def applied(events: list[InboundEvent]) -> dict[str, InboundEvent]:
    """Events as the core keeps them: by id, a retracted id a tombstone for good, a redelivered id a no-op."""
    kept: dict[str, InboundEvent] = {}
    seen: set[str] = set()
    for event in events:
        if event.event_id in seen:
            continue
        seen.add(event.event_id)
        if isinstance(event, EventRetracted):
            seen.add(event.retracted_event_id)
            kept.pop(event.retracted_event_id, None)
        else:
            kept[event.event_id] = event
    return kept


def facts(events: dict[str, InboundEvent]) -> Counter[str]:
    """Each event's type and content, without its id and arrival time (a re-added item has a fresh id)."""
    return Counter(e.model_dump_json(exclude={"event_id", "recorded_at"}) for e in events.values())


def final_record(plan: list[tuple[dict[str, Any] | None, bool, int]]) -> dict[str, Any] | None:
    return plan[-1][0]


@settings(max_examples=300, deadline=None)
@given(steps)
def test_any_sequence_of_full_and_partial_records_leaves_the_events_of_the_final_record(
    plan: list[tuple[dict[str, Any] | None, bool, int]],
) -> None:
    state: CscChildState | None = None
    published: list[InboundEvent] = []
    for number, record in enumerate(messages(plan)):
        at = START + dt.timedelta(hours=number)
        translation = translate(state, pseudonymise_record(record, LA, KEY), la_code=LA, received_at=at)
        published.extend(translation.events)
        state = translation.state
    final = final_record(plan)
    expected: dict[str, InboundEvent] = {}
    if final is not None:
        door = pseudonymise_record(ChildRecord.model_validate(final), LA, KEY)
        expected = applied(list(translate(None, door, la_code=LA, received_at=START).events))
    assert facts(applied(published)) == facts(expected)


@settings(max_examples=200, deadline=None)
@given(steps)
def test_sending_any_record_again_straight_away_changes_nothing(
    plan: list[tuple[dict[str, Any] | None, bool, int]],
) -> None:
    state: CscChildState | None = None
    for record in messages(plan):
        door = pseudonymise_record(record, LA, KEY)
        first = translate(state, door, la_code=LA, received_at=START)
        again = translate(first.state, door, la_code=LA, received_at=START + dt.timedelta(days=1))
        assert again.events == ()
        assert again.state.record == first.state.record
        state = first.state


@settings(max_examples=200, deadline=None)
@given(steps)
def test_nothing_is_left_behind_from_a_withdrawn_item(plan: list[tuple[dict[str, Any] | None, bool, int]]) -> None:
    state: CscChildState | None = None
    published: list[InboundEvent] = []
    for record in messages(plan):
        translation = translate(state, pseudonymise_record(record, LA, KEY), la_code=LA, received_at=START)
        published.extend(translation.events)
        state = translation.state
    final = final_record(plan)
    live_items = set()
    for episode in (final or {}).get("social_care_episodes", []):
        live_items.add(KEY.reference(LA, "referral_id", episode["social_care_episode_id"]))
        for name, field in (("child_and_family_assessments", "assessment_id"), ("child_protection_plans", "plan_id")):
            id_field = ITEM_ID[name]
            live_items |= {KEY.reference(LA, field, item[id_field]) for item in episode.get(name, [])}
        live_items |= {
            KEY.reference(LA, "s47_id", item["section_47_assessment_id"])
            for item in episode.get("section_47_assessments", [])
        }
    for event in applied(published).values():
        refs = {getattr(event, name, None) for name in ("referral_id", "assessment_id", "s47_id", "plan_id")}
        assert refs - {None} <= live_items
