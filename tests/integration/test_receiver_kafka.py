"""A simulated council sender posts a cohort and 30 days of deltas and purges to `frontdoor receive`; a worker
raises the alerts; they equal `replay` over the events of the final records, and purged referrals' alerts are gone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bench.kafka_principals import principal_settings
from bench.processor.harness import (
    Names,
    WorkerProcess,
    alerts_by_child,
    offline,
    private_topics,
    read_topic,
    wait_caught_up,
)
from schemas.alerts import AlertMessage, AlertRevised, AlertWithdrawn
from schemas.csc_api import ChildRecord
from schemas.events import InboundEvent
from schemas.topics import CSC_RECORDS, IDENTITY
from services.ingest.csc_api import pseudonymise_record
from services.ingest.csc_translate import translate
from services.ingest.identity import Pseudonymiser
from services.receiver.clients import add_client
from services.receiver.serve import run_receiver
from services.receiver.settings import ReceiverSettings
from services.settings import Settings
from services.simulator.cli_simulate import profiles
from services.simulator.csc_api import CscSender, SenderDay, Withdrawals
from tests.integration.conftest import TestTopics

LA = "942"
DAYS = 30
PSEUDONYM_KEY = secrets.token_hex(32)
Record = dict[str, Any]
# A small council (the median council's rates at 300 referrals a year), with every kind of withdrawal often enough
# to show in 30 days: items withdrawn as entered in error, referral dates corrected, children leaving the cohort.
SMALL = dataclasses.replace(profiles(["median"])[0], la_code=LA, annual_referrals=300)
OFTEN = Withdrawals(item_share=0.1, correction_share=0.1, child_share=0.03)


def rereferrals_to_withdraw(days: list[SenderDay], count: int) -> dict[str, str]:
    """Child -> a re-referral episode of the cohort (within 300 days of the one before) no later day mentions."""
    mentioned: set[str] = set()
    for day in days[1:]:
        for envelope in day.records:
            mentioned.update(e["social_care_episode_id"] for e in envelope["Children"].get("social_care_episodes", []))
            mentioned.add(envelope["Children"]["la_child_id"])
    chosen: dict[str, str] = {}
    for envelope in days[0].records:
        record = envelope["Children"]
        dates = sorted((e["referral_date"], e["social_care_episode_id"]) for e in record["social_care_episodes"])
        for (earlier, _), (later, episode_id) in itertools.pairwise(dates):
            recent = dt.date.fromisoformat(later) - dt.date.fromisoformat(earlier) <= dt.timedelta(days=300)
            if recent and episode_id not in mentioned and record["la_child_id"] not in mentioned:
                chosen[record["la_child_id"]] = episode_id
                break
        if len(chosen) == count:
            break
    return chosen


def nights(days: list[SenderDay], purges: dict[str, str]) -> list[tuple[dt.date, list[Record]]]:
    """What the pilot's sender posts each night: bare records (la_code is in the path), and on night 5 the
    council's withdrawal of each chosen re-referral (an item purge of the episode)."""
    posted = [(day.day, [envelope["Children"] for envelope in day.records]) for day in days]
    withdrawals = [
        {"la_child_id": child, "mis_child_id": f"MIS-{child}", "social_care_episodes": [
            {"social_care_episode_id": episode_id, "purge": True}
        ]}
        for child, episode_id in purges.items()
    ]  # fmt: skip
    posted[5][1].extend(withdrawals)
    return posted


def final_records(truth: dict[str, Record], purges: dict[str, str]) -> list[Record]:
    final = []
    for child, record in truth.items():
        episodes = [e for e in record["social_care_episodes"] if e["social_care_episode_id"] != purges.get(child)]
        final.append(record | {"social_care_episodes": episodes})
    return final


def standing(messages: Iterable[AlertMessage]) -> dict[str, dict[str, Any]]:
    """Alert id -> its latest version, without the triggering event's id (a restored item's event gets a new one)."""
    alerts: dict[str, dict[str, Any]] = {}
    for message in messages:
        if isinstance(message, AlertWithdrawn):
            alerts.pop(message.alert_id, None)
        else:
            alert = message.alert if isinstance(message, AlertRevised) else message
            alerts[message.alert_id] = alert.model_dump(mode="json", exclude={"trigger_event_id"})
    return alerts


def events_of_final_records(records: Iterable[Record], received_at: dt.datetime) -> list[InboundEvent]:
    """Each final record translated as if sent once, whole, through the same door."""
    pseudonymiser = Pseudonymiser(PSEUDONYM_KEY.encode())
    events: list[InboundEvent] = []
    for record in records:
        door = pseudonymise_record(ChildRecord.model_validate(record), LA, pseudonymiser)
        events.extend(translate(None, door, la_code=LA, received_at=received_at).events)
    return events


def batches(records: list[Record], size: int) -> Iterable[bytes]:
    """The request bodies: JSON arrays of `size` records (the pilot's BATCH_SIZE is 100)."""
    for start in range(0, len(records), size):
        yield json.dumps(records[start : start + size]).encode()


async def post_nights(
    url: str, secret: str, nights: list[tuple[dt.date, list[Record]]], night: list[dt.datetime]
) -> int:
    """The sender's nights, in batches of 100; every record must be accepted. Returns the records sent."""
    sent = 0
    async with aiohttp.ClientSession() as http:
        form = {"grant_type": "client_credentials", "client_id": "council-sender", "client_secret": secret}
        async with http.post(f"{url}/oauth2/token", data=form) as response:
            assert response.status == 200, await response.text()
            token = (await response.json())["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        for day, records in nights:
            night[0] = dt.datetime.combine(day, dt.time(23, 0), tzinfo=dt.UTC)
            for body in batches(records, 100):
                async with http.post(f"{url}/children_social_care_data/{LA}/children", data=body, headers=headers) as r:
                    answer = await r.json()
                    assert r.status == 200, answer
                    assert len(answer) == len(json.loads(body))
            sent += len(records)
    return sent


@pytest.mark.kafka
@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_a_sender_posting_a_cohort_then_30_nights_gives_the_alerts_replay_gives_for_the_final_records(
    kafka_settings: Settings, topics: TestTopics, tmp_path: Path
) -> None:
    sender = CscSender(SMALL, dt.date(2025, 4, 1), DAYS, seed=5, withdrawals=OFTEN)
    days = list(sender.days_sent())
    assert days[0].kind == "full" and len(days) > 20
    purges = rereferrals_to_withdraw(days, 3)
    assert len(purges) == 3, "the simulated council should have re-referrals to withdraw"
    sends = nights(days, purges)
    final = final_records(sender.truth, purges)
    cohort = len(days[0].records)

    clients_file = tmp_path / "clients.json"
    secret = add_client(clients_file, "council-sender", LA)
    names = Names.unique("it-receiver")
    processor = names.processor_settings()
    async with private_topics(kafka_settings, names):
        receiver_settings = ReceiverSettings(
            clients_file=clients_file,
            token_secret=secrets.token_urlsafe(32),
            events_topic=processor.events_topic,
            deadletter_topic=processor.deadletter_topic,
            identity_topic=await topics.create_like(IDENTITY),
            records_topic=await topics.create_like(CSC_RECORDS),
        )
        doors = (processor.events_topic, receiver_settings.records_topic, receiver_settings.deadletter_topic)
        # The receiver connects as the ingest principal on the secured broker: the same topics, the same rights.
        settings = principal_settings("ingest", pseudonym_key=PSEUDONYM_KEY, identity_key=secrets.token_hex(32))
        night = [dt.datetime.combine(days[0].day, dt.time(23, 0), tzinfo=dt.UTC)]
        async with run_receiver(settings, receiver_settings, "127.0.0.1", 0, clock=lambda: night[0]) as running:
            sent = await post_nights(running.url, secret, sends, night)
        worker = WorkerProcess("worker", tmp_path, names.env()).start()
        try:
            await wait_caught_up(kafka_settings, processor.app_id, processor.events_topic, [worker], timeout=90)
        finally:
            assert worker.stop() == 0, worker.log_tail()
        live = [
            m
            for messages in alerts_by_child(await read_topic(kafka_settings, processor.alerts_topic)).values()
            for m in messages
        ]
        past_the_door = [r.value or b"" for topic in doors for r in await read_topic(kafka_settings, topic, timeout=10)]
        sealed = {r.key for r in await read_topic(kafka_settings, receiver_settings.identity_topic, timeout=10)}

    assert sent > cohort
    # The council's child ids went no further than the door: only sealed, one per child, in the identity store.
    raw_ids = {record["la_child_id"].encode() for _day, records in sends for record in records}
    assert past_the_door and not [value for value in past_the_door if any(raw in value for raw in raw_ids)]
    assert len(sealed) == len(raw_ids)
    expected = offline(events_of_final_records(final, night[0])).messages
    assert len(standing(expected)) > 10, "the final records should stand for a fair number of alerts"
    assert standing(live) == standing(expected)
    withdrawn = {m.alert_id for m in live if isinstance(m, AlertWithdrawn)}
    raised_then_withdrawn = {m.alert_id for m in live if not isinstance(m, AlertWithdrawn)} & withdrawn
    assert len(raised_then_withdrawn) >= 3  # the three withdrawn re-referrals, at least
    assert not raised_then_withdrawn & set(standing(live))
