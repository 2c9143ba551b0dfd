"""Fake DfE CSC API records: a full cohort then daily deltas and purges, to the shape, from the simulator's children."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections import Counter
from functools import cache

from schemas.csc_api import ChildRecord, ChildRecordEnvelope
from schemas.events import EventRetracted, InboundEvent
from services.core.config import RuleConfig
from services.core.engine import Engine
from services.ingest.csc_api import MemoryPreviousRecords, pseudonymise_record, receive_record
from services.ingest.csc_translate import translate
from services.ingest.identity import Pseudonymiser
from services.simulator.cli_simulate import profiles
from services.simulator.csc_api import CscSender, SenderDay, Withdrawals

KEY = Pseudonymiser(b"fake-records-test-key-not-a-secret")
NOW = dt.datetime(2025, 5, 1, tzinfo=dt.UTC)
OFTEN = Withdrawals(item_share=0.2, correction_share=0.2, child_share=0.05)  # so a short run shows every kind


# The median council's rates at a tenth of its size, so a year of history simulates in a moment.
SMALL = dataclasses.replace(profiles(["median"])[0], annual_referrals=400)


@cache
def sent(seed: int = 5, days: int = 8) -> tuple[CscSender, tuple[SenderDay, ...]]:
    sender = CscSender(SMALL, dt.date(2025, 4, 1), days, seed, OFTEN)
    return sender, tuple(sender.days_sent())


def translated(days: tuple[SenderDay, ...]) -> list[InboundEvent]:
    store, events = MemoryPreviousRecords(), []

    async def post() -> None:
        for day in days:
            for envelope in day.records:
                record = ChildRecordEnvelope.model_validate(envelope)
                translation = await receive_record(
                    record.children, la_code=record.la_code, pseudonymiser=KEY, previous=store, received_at=NOW
                )
                events.extend(translation.events)
                await store.put([translation.state])

    asyncio.run(post())
    return events


def standing(events: list[InboundEvent]) -> Counter[str]:
    kept: dict[str, InboundEvent] = {}
    for event in events:
        if isinstance(event, EventRetracted):
            kept.pop(event.retracted_event_id, None)
        else:
            kept.setdefault(event.event_id, event)
    return Counter(e.model_dump_json(exclude={"event_id", "recorded_at"}) for e in kept.values())


def test_the_first_send_is_the_full_cohort_and_then_one_batch_of_deltas_a_day() -> None:
    _, days = sent()
    assert days[0].kind == "full" and days[0].day == dt.date(2025, 3, 31)
    assert len(days[0].records) > 200
    assert {d.kind for d in days[1:]} == {"delta"}
    assert [d.day for d in days[1:]] == sorted({d.day for d in days[1:]})


def test_every_record_sent_is_valid_to_the_shape() -> None:
    _, days = sent()
    for day in days:
        for envelope in day.records:
            ChildRecordEnvelope.model_validate(envelope)


def test_deltas_carry_only_what_changed_and_purges_appear() -> None:
    _, days = sent()
    deltas = [e["Children"] for d in days[1:] for e in d.records]
    child_purges = [r for r in deltas if r.get("purge")]
    item_purges = [
        item
        for r in deltas
        for episode in r.get("social_care_episodes", [])
        for name in (
            "social_care_episodes",
            "child_and_family_assessments",
            "section_47_assessments",
            "child_protection_plans",
        )
        for item in ([episode] if name == "social_care_episodes" else episode.get(name, []))
        if item.get("purge")
    ]
    assert child_purges and item_purges
    partial = [
        r for r in deltas if not r.get("purge") and any("referral_date" not in e for e in r["social_care_episodes"])
    ]
    assert partial  # an episode sent with its id and only its changed fields


def test_the_receivers_events_equal_the_events_of_the_final_full_records() -> None:
    sender, days = sent()
    la_code = SMALL.la_code
    expected: Counter[str] = Counter()
    for record in sender.truth.values():
        door = pseudonymise_record(ChildRecord.model_validate(record), la_code, KEY)
        key_id = KEY.key_id(la_code)  # the door records the key id on every event
        expected += standing(
            list(translate(None, door, la_code=la_code, received_at=NOW, pseudonym_key_id=key_id).events)
        )
    assert standing(translated(days)) == expected


def final_events(sender: CscSender) -> list[InboundEvent]:
    events: list[InboundEvent] = []
    for record in sender.truth.values():
        door = pseudonymise_record(ChildRecord.model_validate(record), SMALL.la_code, KEY)
        events.extend(translate(None, door, la_code=SMALL.la_code, received_at=NOW).events)
    return events


def standing_alerts(events: list[InboundEvent]) -> dict[str, str]:
    engine = Engine(RuleConfig(retention_months=None))
    for _ in engine.apply_all(events):
        pass
    return {aid: s.fingerprint for history in engine.children.values() for aid, s in history.standing.items()}


def test_the_alerts_standing_after_every_delta_and_purge_are_those_of_replaying_the_final_records() -> None:
    sender, days = sent()
    live = standing_alerts(translated(days))
    assert live  # re-referrals and repeat plans are raised, so the comparison means something
    assert live == standing_alerts(final_events(sender))


def test_the_same_seed_gives_the_same_records() -> None:
    sender = CscSender(SMALL, dt.date(2025, 4, 1), 8, 5, OFTEN)
    assert tuple(sender.days_sent()) == sent()[1]
