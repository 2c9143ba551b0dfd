"""The worker's internal merge hand-over messages: versioned, byte-stable, and read back as they were sent."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from services.processor.handover import (
    Forwarded,
    HandedOver,
    Message,
    Requested,
    decode_message,
    encode_message,
    identity,
)
from tests.builders import make_merge, make_referral

MERGE = make_merge(into="child-s", merged="child-x", date="2024-02-01", event_id="merge")


@pytest.mark.parametrize(
    "message",
    [
        Forwarded("child-s", make_referral("2024-03-01", child_key="child-x", event_id="r1")),
        Requested("child-x", "child-s", MERGE),
        HandedOver("child-s", "child-x", MERGE, b'{"v":1}', merged={"earlier": dt.date(2024, 1, 5)}),
        HandedOver("child-s", "child-x", MERGE, None, already=True),
    ],
)
def test_every_hand_over_message_carries_version_1_and_reads_back_as_sent(message: Message) -> None:
    raw = encode_message(message)

    assert json.loads(raw)["v"] == 1
    assert decode_message(raw) == message
    assert encode_message(decode_message(raw)) == raw  # a re-sent message is the same bytes


@pytest.mark.parametrize(
    "raw",
    [None, b"not json", b"[]", b'{"v":2,"kind":"Requested"}', b'{"v":1,"kind":"Requested"}', b'{"v":1,"kind":"?"}'],
)
def test_a_hand_over_message_this_version_cannot_read_is_a_value_error(raw: bytes | None) -> None:
    with pytest.raises(ValueError):
        decode_message(raw)


def test_a_redelivered_message_has_the_identity_of_the_first() -> None:
    first = Forwarded("child-s", make_referral("2024-03-01", event_id="r1"))
    again = Forwarded("child-s", make_referral("2024-03-01", event_id="r1"))

    assert identity(first) == identity(again) == ("event", "r1")
    assert identity(Requested("child-x", "child-s", MERGE)) != identity(HandedOver("child-s", "child-x", MERGE, None))
