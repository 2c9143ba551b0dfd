"""What cannot be applied goes to the dead-letter topic with its reason and original bytes; the rest goes on."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import pytest

from schemas.codec import encode
from services.kafka.topics import partition_for
from services.processor.deadletter import ORIGINAL_MAX_BYTES, ReasonCode, Rejection, admit, envelope
from tests.builders import CHILD_B, make_referral, pseudonym
from tests.component.processor_fakes import NOW, PARTITIONS, Worker, make_worker


@pytest.fixture
def worker(tmp_path: Path) -> Worker:
    return make_worker(tmp_path)


def good() -> bytes:
    return encode(make_referral("2024-01-10", child_key=pseudonym("child-secret-42"), event_id="r1"))


def edited(**changes: object) -> bytes:
    return json.dumps(json.loads(good()) | changes).encode()


BAD = {
    "undecodable": b"\xff\xfe not json at all",
    "schema_invalid (a JSON list)": b"[1, 2, 3]",
    "schema_invalid (a field missing)": json.dumps(
        {k: v for k, v in json.loads(good()).items() if k != "la_code"}
    ).encode(),
    "schema_invalid (a wrong field)": edited(la_code="ABCD"),
    "unknown_type": edited(type="ChildMovedHouse"),
    "future_dated": edited(occurred_at=(NOW + dt.timedelta(days=2)).isoformat()),
}


@pytest.mark.parametrize("name", list(BAD))
async def test_a_bad_message_is_dead_lettered_with_its_reason_where_it_was_and_its_original_bytes(
    worker: Worker, name: str
) -> None:
    partition = partition_for("886", PARTITIONS)
    bad = worker.record(BAD[name], b"886")
    after = worker.record(encode(make_referral("2024-02-10", child_key=CHILD_B, event_id="b1")), b"886")

    await worker.events.handle([bad, after])

    (letter,) = worker.dead_letters()
    assert letter["reason_code"] == name.split(" ", maxsplit=1)[0]
    assert (letter["topic"], letter["partition"], letter["offset"]) == (worker.settings.events_topic, partition, 0)
    assert base64.b64decode(letter["original_value_b64"]) == BAD[name]
    assert base64.b64decode(letter["original_key_b64"]) == b"886"
    assert "secret" not in letter["detail"]  # the detail names fields and problems, never the payload's values
    assert worker.metrics.named("dead_letter") == [(letter["reason_code"],)]
    assert worker.metrics.named("events_consumed")[0] == ("unknown", "dead_letter")
    assert worker.state(CHILD_B) is not None  # processing went on


async def test_a_dead_letter_is_acknowledged_before_any_state_is_written(worker: Worker) -> None:
    bad = worker.record(BAD["undecodable"], b"886")
    after = worker.record(encode(make_referral("2024-02-10", child_key=CHILD_B, event_id="b1")), b"886")

    await worker.events.handle([bad, after])

    log = worker.producer.log
    first_write = log.index(("sent", worker.children.changelog_topic.get_topic_name()))
    assert ("acknowledged", worker.settings.deadletter_topic) in log[:first_write]


async def test_a_batch_whose_dead_letter_cannot_be_delivered_fails_without_writing_any_state(worker: Worker) -> None:
    worker.producer.fail_topic = worker.settings.deadletter_topic
    bad = worker.record(BAD["undecodable"], b"886")
    after = worker.record(encode(make_referral("2024-02-10", child_key=CHILD_B, event_id="b1")), b"886")

    with pytest.raises(RuntimeError, match="broker refused"):
        await worker.events.handle([bad, after])

    assert worker.state(CHILD_B) is None
    assert worker.changelog() == []


async def test_a_batch_of_only_bad_messages_sends_its_dead_letters_and_writes_nothing(worker: Worker) -> None:
    await worker.events.handle([worker.record(BAD["unknown_type"], b"886"), worker.record(b"[]", b"886")])

    assert [letter["reason_code"] for letter in worker.dead_letters()] == ["unknown_type", "schema_invalid"]
    assert worker.changelog() == []
    assert worker.events.counts.dead_letters == 2


def test_an_event_exactly_at_the_future_tolerance_is_accepted_and_one_second_beyond_is_not() -> None:
    tolerance = dt.timedelta(days=1)
    at_limit = make_referral("2025-06-02", occurred_at=NOW + tolerance)
    beyond = make_referral("2025-06-02", occurred_at=NOW + tolerance + dt.timedelta(seconds=1))

    assert not isinstance(admit(encode(at_limit), NOW, tolerance), Rejection)
    rejected = admit(encode(beyond), NOW, tolerance)
    assert isinstance(rejected, Rejection) and rejected.code is ReasonCode.FUTURE_DATED


def test_a_message_without_a_value_is_undecodable() -> None:
    rejected = admit(None, NOW, dt.timedelta(days=1))
    assert isinstance(rejected, Rejection) and rejected.code is ReasonCode.UNDECODABLE


def test_an_oversized_original_is_cut_so_that_the_dead_letter_still_fits_a_kafka_message() -> None:
    huge = b"x" * (ORIGINAL_MAX_BYTES + 10)
    document = json.loads(
        envelope(Rejection(ReasonCode.UNDECODABLE, "x"), topic="t", partition=0, offset=1, key=None, value=huge)
    )
    assert document["original_value_truncated"] is True
    assert document["original_value_bytes"] == len(huge)
    assert len(base64.b64decode(document["original_value_b64"])) == ORIGINAL_MAX_BYTES
    assert document["original_key_b64"] is None
