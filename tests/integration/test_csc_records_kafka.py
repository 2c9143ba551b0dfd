"""Each child's previous DfE CSC API record on the real broker: kept across restarts, pseudonymous, compacted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from schemas.csc_api import ChildRecord
from schemas.topics import CSC_RECORDS
from services.ingest.csc_api import receive_record
from services.ingest.identity import Pseudonymiser
from services.kafka.previous_records import previous_records, read_states
from services.settings import Settings
from tests.integration.conftest import TestTopics

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(90)]
KEY = Pseudonymiser(b"integration-key-not-a-secret-csc-00")
NOW = dt.datetime(2025, 2, 1, 3, 0, tzinfo=dt.UTC)
RAW_IDS = ("LA-31337", "MIS-31337", "EP-31337", "Ashley")


def record(**episode: object) -> ChildRecord:
    return ChildRecord.model_validate(
        {
            "la_child_id": "LA-31337",
            "mis_child_id": "MIS-31337",
            "child_details": {"first_name": "Ashley", "purge": False},
            "social_care_episodes": [{"social_care_episode_id": "EP-31337", **episode}],
        }
    )


async def values_on(settings: Settings, topic: str) -> list[bytes]:
    """Every value on the topic, read as a fresh consumer would."""
    from tests.integration.test_identity_store_kafka import read_topic  # noqa: PLC0415  # one reader for both

    return [value for _, value in await read_topic(settings, topic) if value]


async def test_a_partial_record_after_a_restart_merges_into_the_record_stored_before_it(
    topics: TestTopics, kafka_settings: Settings, service_settings: Callable[[str], Settings]
) -> None:
    topic = await topics.create_like(CSC_RECORDS)  # compacted, as `topics create` makes it
    assert (await topics.describe(topic)).configs["cleanup.policy"] == "compact"
    door = service_settings("ingest")  # the ingest principal reads and writes it

    async with previous_records(door, topic) as store:
        first = await receive_record(
            record(referral_date="2024-11-01", referral_source="6"),
            la_code="886", pseudonymiser=KEY, previous=store, received_at=NOW,
        )  # fmt: skip
        assert [type(e).__name__ for e in first.events] == ["ReferralOpened"]
        await store.put([first.state])

    async with previous_records(door, topic) as restarted:  # a new process: everything comes from the topic
        assert await restarted.get(first.state.child_key) == first.state
        delta = ChildRecord.model_validate(
            {"la_child_id": "LA-31337", "mis_child_id": "MIS-31337",
             "social_care_episodes": [{"social_care_episode_id": "EP-31337", "closure_date": "2024-12-01",
                                       "closure_reason": "RC7"}]}
        )  # fmt: skip
        second = await receive_record(delta, la_code="886", pseudonymiser=KEY, previous=restarted, received_at=NOW)
        assert [type(e).__name__ for e in second.events] == ["EpisodeClosed"]
        await restarted.put([second.state])
        again = await receive_record(delta, la_code="886", pseudonymiser=KEY, previous=restarted, received_at=NOW)
        assert again.events == ()

    states = await read_states(kafka_settings, topic)
    assert list(states) == [first.state.child_key]
    stored = states[first.state.child_key].record
    assert stored is not None and stored.social_care_episodes
    assert stored.social_care_episodes[0].referral_date == dt.date(2024, 11, 1)
    on_topic = b"\n".join(await values_on(kafka_settings, topic))
    assert on_topic.count(b"CscChildState") == 2
    for raw in RAW_IDS:
        assert raw.encode() not in on_topic, f"{raw} reached the topic"
