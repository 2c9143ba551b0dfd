"""DfE CSC API records to events: what each full, partial and purge record changes, read as a specification."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError

from schemas.codes import ClosureReason, ReferralSource
from schemas.csc_api import ChildRecord, ChildRecordEnvelope, CscChildState
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
from services.ingest.csc_api import pseudonymise_record
from services.ingest.csc_translate import Translation, translate
from services.ingest.identity import Pseudonymiser

LA = "886"
KEY = Pseudonymiser(b"test-key-not-a-secret-csc-api-000")
NOW = dt.datetime(2025, 3, 1, 2, 0, tzinfo=dt.UTC)


# --- builders ------------------------------------------------------------------------------------------


def make_episode(episode_id: str = "E1", **overrides: Any) -> dict[str, Any]:
    episode: dict[str, Any] = {
        "social_care_episode_id": episode_id,
        "referral_date": "2024-05-01",
        "referral_source": "6",
        "purge": False,
    }
    return episode | overrides


def make_record(*episodes: dict[str, Any], child_id: str = "LA-001", **overrides: Any) -> ChildRecord:
    record: dict[str, Any] = {
        "la_child_id": child_id,
        "mis_child_id": "MIS-" + child_id,
        "child_details": {"first_name": "Sam", "surname": "Example", "date_of_birth": "2015-02-03", "purge": False},
    }
    if episodes:
        record["social_care_episodes"] = list(episodes)
    return ChildRecord.model_validate(record | overrides)


def send(previous: CscChildState | None, record: ChildRecord, at: dt.datetime = NOW) -> Translation:
    return translate(previous, pseudonymise_record(record, LA, KEY), la_code=LA, received_at=at)


def kinds(events: tuple[InboundEvent, ...]) -> list[str]:
    return [type(e).__name__ for e in events]


# --- a first, full record -----------------------------------------------------------------------------


def test_a_new_episode_opens_a_referral_on_its_referral_date_with_its_source() -> None:
    events = send(None, make_record(make_episode())).events
    assert kinds(events) == ["ReferralOpened"]
    (opened,) = events
    assert isinstance(opened, ReferralOpened)
    assert opened.referral_date == dt.date(2024, 5, 1)
    assert opened.source is ReferralSource.POLICE
    assert opened.la_code == LA
    assert opened.recorded_at == NOW
    assert opened.occurred_at.date() == dt.date(2024, 5, 1)


def test_every_item_of_an_episode_becomes_its_canonical_event() -> None:
    episode = make_episode(
        referral_no_further_action_flag=False,
        closure_date="2024-09-30",
        closure_reason="RC8",
        child_and_family_assessments=[
            {
                "child_and_family_assessment_id": "A1",
                "start_date": "2024-05-02",
                "authorisation_date": "2024-06-01",
                "factors": ["1A", "3C"],
                "purge": False,
            }
        ],
        section_47_assessments=[
            {"section_47_assessment_id": "S1", "start_date": "2024-05-03", "icpc_date": "2024-05-20", "purge": False}
        ],
        child_protection_plans=[
            {"child_protection_plan_id": "P1", "start_date": "2024-05-20", "end_date": "2024-09-01", "purge": False}
        ],
    )
    events = send(None, make_record(episode)).events
    by_kind = {type(e): e for e in events}
    assert set(by_kind) == {
        ReferralOpened,
        EpisodeClosed,
        AssessmentStarted,
        AssessmentAuthorised,
        S47Started,
        ICPCHeld,
        CPPStarted,
        CPPEnded,
    }
    referral_id = by_kind[ReferralOpened].referral_id  # type: ignore[attr-defined]  # narrowed by the dict key
    closed = by_kind[EpisodeClosed]
    assert isinstance(closed, EpisodeClosed) and closed.reason is ClosureReason.CLOSED_AFTER_ASSESSMENT_NFA
    authorised = by_kind[AssessmentAuthorised]
    assert isinstance(authorised, AssessmentAuthorised) and authorised.factors == ("1A", "3C")
    for linked in (AssessmentStarted, S47Started, ICPCHeld, CPPStarted):
        assert getattr(by_kind[linked], "referral_id") == referral_id  # noqa: B009  # each event type names it


def test_a_referral_marked_no_further_action_is_marked_on_its_closure_date() -> None:
    episode = make_episode(referral_no_further_action_flag=True, closure_date="2024-05-04")
    events = send(None, make_record(episode)).events
    nfa = [e for e in events if isinstance(e, ReferralMarkedNFA)]
    assert len(nfa) == 1 and nfa[0].occurred_at.date() == dt.date(2024, 5, 4)


def test_no_child_id_item_id_or_child_detail_passes_the_door() -> None:
    translation = send(None, make_record(make_episode("EP-77"), child_id="LA-555"))
    stored = translation.state.model_dump_json()
    for raw in ("LA-555", "MIS-LA-555", "EP-77", "Sam", "Example", "2015-02-03"):
        assert raw not in stored
        assert all(raw not in e.model_dump_json() for e in translation.events)
    assert is_pseudonym(translation.state.child_key)
    assert translation.state.record is not None and translation.state.record.child_details is None


# --- the same record again, and partial records ---------------------------------------------------------


def test_a_record_sent_twice_changes_nothing() -> None:
    record = make_record(make_episode(closure_date="2024-07-01", closure_reason="RC7"))
    first = send(None, record)
    again = send(first.state, record)
    assert again.events == ()
    assert again.state.record == first.state.record


def test_a_partial_record_with_only_a_closure_adds_the_closure_and_keeps_the_referral() -> None:
    first = send(None, make_record(make_episode()))
    delta = make_record({"social_care_episode_id": "E1", "closure_date": "2024-08-01", "closure_reason": "RC7"})
    second = send(first.state, delta)
    assert kinds(second.events) == ["EpisodeClosed"]
    assert second.state.record is not None
    (episode,) = second.state.record.social_care_episodes or ()
    assert episode.referral_date == dt.date(2024, 5, 1) and episode.closure_date == dt.date(2024, 8, 1)


def test_a_partial_record_without_episodes_changes_nothing() -> None:
    first = send(None, make_record(make_episode()))
    assert send(first.state, make_record()).events == ()


def test_a_changed_referral_date_retracts_the_old_referral_then_opens_the_corrected_one() -> None:
    first = send(None, make_record(make_episode()))
    (old,) = first.events
    second = send(first.state, make_record({"social_care_episode_id": "E1", "referral_date": "2024-05-09"}))
    assert kinds(second.events) == ["EventRetracted", "ReferralOpened"]
    retraction, corrected = second.events
    assert isinstance(retraction, EventRetracted) and retraction.retracted_event_id == old.event_id
    assert isinstance(corrected, ReferralOpened) and corrected.referral_date == dt.date(2024, 5, 9)
    assert second.state.retracted == (old.event_id,)


def test_a_new_item_in_a_partial_record_is_added_beside_the_others() -> None:
    first = send(None, make_record(make_episode()))
    plan = {"child_protection_plan_id": "P2", "start_date": "2024-06-01", "purge": False}
    second = send(first.state, make_record({"social_care_episode_id": "E1", "child_protection_plans": [plan]}))
    assert kinds(second.events) == ["CPPStarted"]
    second_episode = make_episode("E2", referral_date="2024-10-01")
    third = send(second.state, make_record(second_episode))
    assert kinds(third.events) == ["ReferralOpened"]


# --- purges ---------------------------------------------------------------------------------------------


def test_a_purged_item_is_retracted_with_nothing_left_behind() -> None:
    plan = {"child_protection_plan_id": "P1", "start_date": "2024-06-01", "end_date": "2024-12-01", "purge": False}
    first = send(None, make_record(make_episode(child_protection_plans=[plan])))
    plan_events = {e.event_id for e in first.events if isinstance(e, CPPStarted | CPPEnded)}
    purge = {
        "social_care_episode_id": "E1",
        "child_protection_plans": [{"child_protection_plan_id": "P1", "purge": True}],
    }
    second = send(first.state, make_record(purge))
    assert {e.retracted_event_id for e in second.events if isinstance(e, EventRetracted)} == plan_events
    assert kinds(second.events) == ["EventRetracted", "EventRetracted"]


def test_a_purged_episode_retracts_its_referral_and_everything_under_it() -> None:
    assessment = {"child_and_family_assessment_id": "A1", "start_date": "2024-05-02", "purge": False}
    first = send(None, make_record(make_episode(child_and_family_assessments=[assessment])))
    second = send(first.state, make_record({"social_care_episode_id": "E1", "purge": True}))
    assert {e.retracted_event_id for e in second.events if isinstance(e, EventRetracted)} == {
        e.event_id for e in first.events
    }
    assert second.state.record is not None and not second.state.record.social_care_episodes


def test_a_whole_child_purge_retracts_every_event_of_the_child() -> None:
    first = send(None, make_record(make_episode(), make_episode("E2", referral_date="2024-11-11")))
    purge = ChildRecord.model_validate({"la_child_id": "LA-001", "mis_child_id": "MIS-LA-001", "purge": True})
    second = send(first.state, purge)
    assert len(second.events) == 2 and all(isinstance(e, EventRetracted) for e in second.events)
    assert second.state.record is None


def test_an_item_purged_and_sent_again_comes_back_under_a_new_id() -> None:
    first = send(None, make_record(make_episode()))
    purged = send(first.state, make_record({"social_care_episode_id": "E1", "purge": True}))
    back = send(purged.state, make_record(make_episode()))
    assert kinds(back.events) == ["ReferralOpened"]
    assert back.events[0].event_id != first.events[0].event_id
    assert send(back.state, make_record(make_episode())).events == ()


# --- validation -----------------------------------------------------------------------------------------


def test_an_unknown_referral_source_code_is_refused_with_the_field_named() -> None:
    with pytest.raises(ValidationError) as caught:
        make_record(make_episode(referral_source="99"))
    assert "referral_source" in str(caught.value)


def test_the_payload_envelope_reads_la_code_as_a_number_into_three_digits() -> None:
    envelope = ChildRecordEnvelope.model_validate(
        {"la_code": 201, "Children": {"la_child_id": "a", "mis_child_id": "b"}}
    )
    assert envelope.la_code == "201"


def test_translate_refuses_a_record_that_was_not_pseudonymised() -> None:
    with pytest.raises(ValueError, match="pseudonymised"):
        translate(None, make_record(make_episode()), la_code=LA, received_at=NOW)
