"""SSD contacts' states on the real broker, beside the DfE CSC API records: a later extract is compared with them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from schemas.csc_api import ChildRecord
from schemas.events import ContactDecided, EventRetracted
from schemas.topics import CSC_RECORDS
from services.ingest.csc_api import MemoryPreviousRecords, receive_record
from services.ingest.identity import LONDON, Pseudonymiser
from services.ingest.ssd_changes import ContactStates
from services.ingest.ssd_contacts import SsdContactsMapping, read_ssd_contacts
from services.kafka.previous_records import read_contact_states, read_states, write_states
from services.settings import Settings
from tests.integration.conftest import TestTopics

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(90)]
KEY = Pseudonymiser(b"integration-key-not-a-secret-ssd-00")
HEADER = "cont_contact_id,cont_person_id,cont_contact_date,cont_contact_source_code,cont_contact_outcome_json"
NFA = 'C-4242,P-4242,2024-07-01,6,"{""OUTCOME_NFA_FLAG"": ""Y""}"'
REFERRAL = 'C-4242,P-4242,2024-07-01,6,"{""OUTCOME_NEW_REFERRAL_FLAG"": ""Y""}"'


def night(tmp_path: Path, number: int, row: str, contacts: ContactStates) -> list[object]:
    path = tmp_path / f"ssd_contacts_{number}.csv"
    path.write_text(f"{HEADER}\n{row}\n", encoding="utf-8")
    recorded = dt.datetime(2024, 7, number, 22, 0, tzinfo=LONDON)
    result = read_ssd_contacts(path, SsdContactsMapping.shipped(), "886", KEY, recorded_at=recorded, contacts=contacts)
    return list(result.events)


async def test_a_contacts_state_stored_after_one_extract_makes_the_next_retract_a_changed_decision(
    topics: TestTopics, kafka_settings: Settings, service_settings: Callable[[str], Settings], tmp_path: Path
) -> None:
    topic = await topics.create_like(CSC_RECORDS)
    door = service_settings("ingest")  # the ingest principal reads and writes the topic, for both doors
    child = ChildRecord.model_validate({"la_child_id": "LA-1", "mis_child_id": "MIS-1"})
    csc = await receive_record(
        child, la_code="886", pseudonymiser=KEY, previous=MemoryPreviousRecords(), received_at=dt.datetime.now(dt.UTC)
    )
    first_night = ContactStates(await read_contact_states(door, topic))
    first = night(tmp_path, 1, NFA, first_night)
    await write_states(door, [csc.state, *first_night.changed.values()], topic)

    restarted = ContactStates(await read_contact_states(door, topic))  # a new run: the states come from the topic
    second = night(tmp_path, 2, REFERRAL, restarted)

    (old,) = [e for e in first if isinstance(e, ContactDecided)]
    assert [type(e) for e in second] == [EventRetracted, ContactDecided]
    assert isinstance(second[0], EventRetracted) and second[0].retracted_event_id == old.event_id
    assert list(await read_states(kafka_settings, topic)) == [csc.state.child_key]  # each door reads its own kind
    assert list(restarted.states) == list(first_night.changed)
