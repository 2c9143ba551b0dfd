"""A simulated council sender posts a cohort and 30 nights of deltas and purges to `frontdoor receive`; a worker
raises the alerts; they equal `replay` over the events of the final records, and a purged referral's alert is gone.
"""

from __future__ import annotations

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
from bench.receiver_sender import Record, Withdrawals, batches, daily_sends, records_as_of
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
from tests.integration.conftest import TestTopics

LA = "942"
NIGHTS = 30
PSEUDONYM_KEY = secrets.token_hex(32)


def simulated_council() -> tuple[list[InboundEvent], dict[str, str]]:
    """A small council's calibrated history, and each child's synthetic council id."""
    from services.reference.official_statistics import median_council_c1  # noqa: PLC0415
    from services.simulator.history import simulate  # noqa: PLC0415
    from services.simulator.model import CouncilProfile  # noqa: PLC0415

    row = median_council_c1(2025)
    assert row is not None
    pseudonymiser = Pseudonymiser(b"simulator-key-" * 3, keep_identities=True)
    profile = CouncilProfile.from_c1(row, la_code=LA, annual_referrals=300)
    events = list(simulate([profile], dt.date(2024, 4, 1), 1.0, seed=5, pseudonymiser=pseudonymiser))
    assert pseudonymiser.identities is not None
    return events, {key: raw for key, (_la, raw) in pseudonymiser.identities.items()}


def rereferred(records: dict[str, Record]) -> list[tuple[str, str]]:
    """(child, later episode id) for children whose later referral came within a year of the one before."""
    found = []
    for child, record in sorted(records.items()):
        dates = sorted((e["referral_date"], e["social_care_episode_id"]) for e in record["social_care_episodes"])
        for (earlier, _), (later, episode_id) in itertools.pairwise(dates):
            if dt.date.fromisoformat(later) - dt.date.fromisoformat(earlier) <= dt.timedelta(days=300):
                found.append((child, episode_id))
                break
    return found


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
    events, identities = simulated_council()
    last_day = max(e.recorded_at.date() for e in events)
    first_day = last_day - dt.timedelta(days=NIGHTS)
    cohort = records_as_of(events, identities, first_day)
    targets = rereferred(cohort)
    assert len(targets) >= 4, "the simulated council should have re-referred children to withdraw"
    (child_a, episode_a), (child_b, episode_b), (child_c, _), (child_d, _) = targets[:4]
    # Night 5 withdraws two re-referrals (item purges), night 12 takes two re-referred children out (whole purges).
    night5 = Withdrawals(episodes={child_a: {episode_a}, child_b: {episode_b}})
    night12 = Withdrawals(episodes=dict(night5.episodes), children={child_c, child_d})
    nights = list(daily_sends(events, identities, first_day, NIGHTS, {5: night5, 12: night12}))
    final = night12.apply(records_as_of(events, identities, last_day))

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
        # The receiver connects as the ingest principal on the secured broker: the same topics, the same rights.
        settings = principal_settings("ingest", pseudonym_key=PSEUDONYM_KEY, identity_key=secrets.token_hex(32))
        night = [dt.datetime.combine(first_day, dt.time(23, 0), tzinfo=dt.UTC)]
        async with run_receiver(settings, receiver_settings, "127.0.0.1", 0, clock=lambda: night[0]) as running:
            sent = await post_nights(running.url, secret, nights, night)
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

    assert sent > len(cohort)
    expected = offline(events_of_final_records(final.values(), night[0])).messages
    assert len(standing(expected)) > 10, "the final records should stand for a fair number of alerts"
    assert standing(live) == standing(expected)
    withdrawn = {m.alert_id for m in live if isinstance(m, AlertWithdrawn)}
    raised_then_withdrawn = {m.alert_id for m in live if not isinstance(m, AlertWithdrawn)} & withdrawn
    assert len(raised_then_withdrawn) >= 4  # two withdrawn re-referrals and two purged children, at least
    assert not raised_then_withdrawn & set(standing(live))
