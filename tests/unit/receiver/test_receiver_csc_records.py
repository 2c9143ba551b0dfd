"""The receiver's records go through the same DfE CSC API door as `ingest --format dfe-csc-api`."""

from __future__ import annotations

from collections import Counter

from schemas.csc_api import CscChildState
from schemas.events import EventRetracted
from schemas.pseudonyms import is_pseudonym
from services.pseudonym_keys import PseudonymKeyring
from services.receiver.answers import batch_answer
from services.receiver.records import CscRecords
from services.receiver.service import Receiver
from services.receiver.tokens import Caller
from tests.unit.receiver.receiver_builders import KENT, NOW, Harness

KEY = b"a-council-key-of-enough-length-for-tests-0123456789"
KENT_SENDER = Caller("kent-sender", KENT)


def full_record(child: str = "LA-001") -> dict[str, object]:
    return {
        "la_child_id": child,
        "mis_child_id": f"MIS-{child}",
        "child_details": {"first_name": "Sam", "date_of_birth": "2015-03-02", "postcode": "ME1 1AA"},
        "social_care_episodes": [
            {
                "social_care_episode_id": "EP-1",
                "referral_date": "2026-04-01",
                "referral_source": "5A",
                "referral_no_further_action_flag": False,
                "child_and_family_assessments": [
                    {"child_and_family_assessment_id": "A-1", "start_date": "2026-04-02", "purge": False}
                ],
                "purge": False,
            }
        ],
        "purge": False,
    }


def harness_with_door() -> Harness:
    harness = Harness()
    records = CscRecords(PseudonymKeyring.shared(KEY), clock=lambda: NOW)
    harness.receiver = Receiver(harness.outlet, records, harness.metrics, clock=lambda: NOW)
    return harness


async def test_a_full_record_becomes_its_events_under_a_pseudonym_and_its_merged_record_is_stored() -> None:
    harness = harness_with_door()

    status, _body = batch_answer(await harness.receiver.receive(KENT_SENDER, [full_record()]))

    assert status == 200
    assert Counter(e.type for e in harness.outlet.events) == {"ReferralOpened": 1, "AssessmentStarted": 1}  # type: ignore[attr-defined]
    (child_key,) = {e.child_key for e in harness.outlet.events}
    assert is_pseudonym(child_key)
    state = harness.outlet.records[child_key]
    assert isinstance(state, CscChildState)
    stored = state.model_dump_json()
    assert "LA-001" not in stored and "Sam" not in stored and "ME1" not in stored


async def test_the_same_record_sent_again_publishes_nothing_new() -> None:
    harness = harness_with_door()
    await harness.receiver.receive(KENT_SENDER, [full_record()])
    published = len(harness.outlet.events)

    await harness.receiver.receive(KENT_SENDER, [full_record()])

    assert len(harness.outlet.events) == published


async def test_a_purged_child_has_every_event_retracted() -> None:
    harness = harness_with_door()
    await harness.receiver.receive(KENT_SENDER, [full_record()])
    opened = {e.event_id for e in harness.outlet.events}

    purge = {"la_child_id": "LA-001", "mis_child_id": "MIS-LA-001", "purge": True}
    status, _body = batch_answer(await harness.receiver.receive(KENT_SENDER, [purge]))

    assert status == 200
    retracted = {e.retracted_event_id for e in harness.outlet.events if isinstance(e, EventRetracted)}
    assert retracted == opened


async def test_an_invalid_record_is_answered_with_the_field_and_never_its_value() -> None:
    harness = harness_with_door()
    bad = full_record("LA-SECRET-7")
    bad["social_care_episodes"][0]["referral_date"] = "LA-SECRET-7"  # type: ignore[index]

    status, body = batch_answer(await harness.receiver.receive(KENT_SENDER, [bad, full_record("LA-002")]))

    assert status == 400
    assert isinstance(body, dict)
    reason = body["records"][0]["reason"]
    assert "social_care_episodes" in reason and "referral_date" in reason
    assert "SECRET" not in reason
    assert body["records"][1]["status"] == "accepted"
