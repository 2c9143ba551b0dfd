"""Each record of a batch gets its own answer, so a council's sender retries only what failed."""

from __future__ import annotations

import re

import pytest

from services.receiver.answers import batch_answer
from services.receiver.intake import clean_reason
from services.receiver.service import PublishFailed
from services.receiver.tokens import Caller
from tests.unit.receiver.receiver_builders import KENT, WIRRAL, Harness, make_record, pseudonym

RECEIPT = re.compile(r"\d{4}-\d{2}-\d{2}_\d{2}:\d{2}:\d{2}\.\d{6}_[0-9a-f-]{36}")
KENT_SENDER = Caller("kent-sender", KENT)


async def test_a_batch_of_good_records_is_answered_200_with_one_receipt_per_record_in_the_senders_format() -> None:
    harness = Harness()
    answers = await harness.receiver.receive(KENT_SENDER, [make_record("C1"), make_record("C2")])

    status, body = batch_answer(answers)

    assert status == 200
    assert isinstance(body, list) and len(body) == 2
    assert all(RECEIPT.fullmatch(receipt) for receipt in body)
    # The pilot's sender splits each receipt on "_" into date, time and a uuid.
    date, time, _uuid = body[0].split("_")
    assert (date, time[:2]) == ("2026-05-12", "21")
    assert len(harness.outlet.events) == 2


async def test_one_bad_record_is_rejected_with_its_reason_while_the_others_in_the_batch_are_accepted() -> None:
    harness = Harness()
    batch = [make_record("C1"), {"mis_child_id": "M-9", "child_details": {}}, make_record("C3")]

    status, body = batch_answer(await harness.receiver.receive(KENT_SENDER, batch))

    assert status == 400
    assert isinstance(body, dict)
    assert (body["accepted"], body["rejected"]) == (2, 1)
    assert [r["status"] for r in body["records"]] == ["accepted", "rejected", "accepted"]
    assert body["records"][1]["reason"] == "la_child_id: Field required"
    assert body["errors"] == ["[1] la_child_id: Field required"]
    assert {e.child_key for e in harness.outlet.events} == {pseudonym("C1"), pseudonym("C3")}


async def test_a_rejected_record_becomes_a_dead_letter_with_its_reason_and_nothing_of_the_record() -> None:
    harness = Harness()

    await harness.receiver.receive(KENT_SENDER, [make_record("C1"), {"mis_child_id": "SECRET-42"}])

    assert harness.outlet.letters == [(KENT, 1, "la_child_id: Field required")]
    assert "SECRET-42" not in repr(harness.outlet.letters)


async def test_a_record_naming_another_council_is_refused_and_the_rest_of_the_batch_goes_through() -> None:
    harness = Harness()
    batch = [make_record("C1"), {"la_code": int(WIRRAL), "Children": make_record("W1")}]

    status, body = batch_answer(await harness.receiver.receive(KENT_SENDER, batch))

    assert status == 400
    assert isinstance(body, dict)
    assert body["errors"] == ["[1] this record is for council 344, and the token is for council 886"]
    assert [e.child_key for e in harness.outlet.events] == [pseudonym("C1")]


async def test_a_record_sent_again_is_accepted_again_and_changes_nothing() -> None:
    harness = Harness()
    await harness.receiver.receive(KENT_SENDER, [make_record("C1")])

    status, _body = batch_answer(await harness.receiver.receive(KENT_SENDER, [make_record("C1")]))

    assert status == 200
    assert len(harness.outlet.events) == 1


async def test_a_child_twice_in_one_batch_is_translated_against_its_record_as_the_first_entry_left_it() -> None:
    harness = Harness()

    await harness.receiver.receive(KENT_SENDER, [make_record("C1"), make_record("C1")])

    assert len(harness.outlet.events) == 1
    assert harness.outlet.records[pseudonym("C1")] == {"sends": 2}


async def test_when_the_broker_does_not_take_a_batch_no_record_is_answered_accepted() -> None:
    harness = Harness()
    harness.outlet.fail = True

    with pytest.raises(PublishFailed):
        await harness.receiver.receive(KENT_SENDER, [make_record("C1"), make_record("C2")])

    assert harness.outlet.records == {}
    assert harness.sample("frontdoor_receiver_records_total", la_code=KENT, outcome="failed") == 2


async def test_the_metrics_count_records_by_council_and_outcome_only() -> None:
    harness = Harness()

    await harness.receiver.receive(KENT_SENDER, [make_record("C1"), {"x": 1}, make_record("C2")])

    assert harness.sample("frontdoor_receiver_records_total", la_code=KENT, outcome="accepted") == 2
    assert harness.sample("frontdoor_receiver_records_total", la_code=KENT, outcome="rejected") == 1
    assert harness.sample("frontdoor_receiver_events_published_total", la_code=KENT) == 2


def test_a_reason_is_one_bounded_line_without_brackets_the_sender_would_read_as_indexes() -> None:
    reason = clean_reason("social_care_episodes[0].referral_date:\n  invalid date " + "x" * 400)

    assert "\n" not in reason and "[" not in reason and "]" not in reason
    assert reason.startswith("social_care_episodes(0).referral_date: invalid date")
    assert len(reason) == 300
