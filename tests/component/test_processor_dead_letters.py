"""What cannot be applied goes to the dead-letter topic with its reason and original bytes; the rest goes on."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import pytest

from schemas.codec import encode
from services.processor.batch import table_key
from services.processor.deadletter import ORIGINAL_MAX_BYTES, ReasonCode, Rejection, admit, envelope
from tests.builders import make_referral
from tests.component.processor_fakes import NOW, Worker, make_worker


@pytest.fixture
def worker(tmp_path: Path) -> Worker:
    return make_worker(tmp_path)


def good() -> bytes:
    return encode(make_referral("2024-01-10", child_key="child-secret-42", event_id="r1"))


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
    bad = worker.record(BAD[name], b"child-secret-42", partition=3)
    after = worker.record(encode(make_referral("2024-02-10", child_key="child-b", event_id="b1")), b"child-b")

    await worker.events.handle([bad, after])

    (letter,) = worker.dead_letters()
    assert letter["reason_code"] == name.split(" ", maxsplit=1)[0]
    assert (letter["topic"], letter["partition"], letter["offset"]) == (worker.settings.events_topic, 3, 0)
    assert base64.b64decode(letter["original_value_b64"]) == BAD[name]
    assert base64.b64decode(letter["original_key_b64"]) == b"child-secret-42"
    assert "secret" not in letter["detail"]  # the detail names fields and problems, never the payload's values
    assert worker.metrics.named("dead_letter") == [(letter["reason_code"],)]
    assert worker.children.get(table_key(("886", "child-b"))) is not None  # processing went on


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
