"""The platform demo: synthetic events -> frontdoor.events.v1 -> faust worker + core Engine -> frontdoor.alerts.v1.

A stand-in until the real processor exists: one in-process faust worker with one table, stopped as soon as it
has consumed what the demo produced. The table is read back from its changelog after the worker stops.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import tempfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import faust
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition
from pydantic import ValidationError

from schemas.alerts import AlertMessage, AlertRevised, AlertWithdrawn
from schemas.codec import decode_event, encode
from schemas.codes import ClosureReason, ContactOutcome, ReferralSource
from schemas.events import (
    AssessmentStarted,
    ContactDecided,
    ContactReceived,
    CPPEnded,
    CPPStarted,
    EpisodeClosed,
    InboundEvent,
    ReferralOpened,
)
from schemas.topics import ALERTS, DEADLETTER, EVENTS
from services.core.engine import Engine
from services.ingest.identity import Pseudonymiser, event_id, start_of_day
from services.kafka.clients import consumer_kwargs, faust_broker_url, faust_credentials, producer_kwargs
from services.kafka.topics import all_plans, ensure_topics
from services.settings import Settings

APP_ID = "frontdoor-demo"
TABLE = "events_by_child"
CHANGELOG = f"{APP_ID}-{TABLE}-changelog"  # faust's naming: <app id>-<table>-changelog
LA_CODE = "886"
WORKER_DEADLINE_SECONDS = 45.0
CHANGELOG_READ_SECONDS = 10.0

TableState = dict[str, dict[str, int]]  # child_key -> event type -> count


def _at(day: dt.date, hour: int = 9) -> dt.datetime:
    return start_of_day(day) + dt.timedelta(hours=hour)


@dataclass(slots=True)
class _Feed:
    """Builds the synthetic events: made-up raw ids, pseudonymised like any ingest adapter does."""

    pseudonymiser: Pseudonymiser
    events: list[InboundEvent] = field(default_factory=list)

    def add(self, model: type[InboundEvent], child: str, day: dt.date, **fields: Any) -> None:
        raw_child = f"DEMO-{child}"
        self.events.append(
            model(
                event_id=event_id("demo", raw_child, len(self.events)),  # same feed, same ids: re-runs are replays
                occurred_at=_at(day),
                recorded_at=_at(day, 17),
                la_code=LA_CODE,
                child_key=self.pseudonymiser.child_key(LA_CODE, raw_child),
                **fields,
            )
        )

    def contact(self, child: str, day: str, contact_id: str, source: ReferralSource, outcome: ContactOutcome) -> None:
        when = dt.date.fromisoformat(day)
        self.add(ContactReceived, child, when, contact_id=contact_id, received_at=_at(when), source=source)
        self.add(ContactDecided, child, when, contact_id=contact_id, outcome=outcome)

    def referral(self, child: str, day: str, referral_id: str, source: ReferralSource) -> None:
        when = dt.date.fromisoformat(day)
        self.add(ReferralOpened, child, when, referral_id=referral_id, referral_date=when, source=source)


def synthetic_feed(pseudonymiser: Pseudonymiser) -> list[InboundEvent]:
    """Four children's front-door histories in event-time order."""
    feed = _Feed(pseudonymiser)
    police, school, health = ReferralSource.POLICE, ReferralSource.SCHOOLS, ReferralSource.HEALTH_GP
    # A: referred, closed after assessment (RC8), contacted again within weeks, re-referred within 12 months.
    feed.contact("A", "2025-01-06", "A-c1", police, ContactOutcome.REFERRAL)
    feed.referral("A", "2025-01-07", "A-r1", police)
    closed, rc8 = dt.date(2025, 2, 28), ClosureReason.CLOSED_AFTER_ASSESSMENT_NFA
    feed.add(EpisodeClosed, "A", closed, referral_id="A-r1", closure_date=closed, reason=rc8)
    feed.contact("A", "2025-03-14", "A-c2", school, ContactOutcome.REFERRAL)
    feed.referral("A", "2025-04-10", "A-r2", school)
    # B: three contacts in two months, each closed at the front door with no further action.
    for n, day in enumerate(("2025-02-03", "2025-03-03", "2025-04-01"), start=1):
        feed.contact("B", day, f"B-c{n}", health, ContactOutcome.NFA)
    # C: a second child protection plan, a year after the first one ended.
    first, ended, second = dt.date(2023, 6, 1), dt.date(2024, 3, 15), dt.date(2025, 3, 20)
    feed.add(CPPStarted, "C", first, plan_id="C-p1", start_date=first)
    feed.add(CPPEnded, "C", ended, plan_id="C-p1", end_date=ended)
    feed.add(CPPStarted, "C", second, plan_id="C-p2", start_date=second)
    # D: one referral and an assessment: nothing to alert on.
    feed.referral("D", "2025-03-03", "D-r1", police)
    started = dt.date(2025, 3, 5)
    feed.add(AssessmentStarted, "D", started, assessment_id="D-a1", referral_id="D-r1", start_date=started)
    return feed.events


async def produce(settings: Settings, events: list[InboundEvent]) -> dict[int, int]:
    """Send with the durable producer, keyed by child; returns the last offset written per partition."""
    producer = AIOKafkaProducer(**producer_kwargs(settings))
    await producer.start()
    try:
        pending = [await producer.send(EVENTS.name, key=e.child_key.encode(), value=encode(e)) for e in events]
        written = await asyncio.gather(*pending)
    finally:
        await producer.stop()
    last: dict[int, int] = {}
    for metadata in written:
        last[metadata.partition] = max(last.get(metadata.partition, -1), metadata.offset)
    return last


def alert_label(message: AlertMessage) -> str:
    if isinstance(message, AlertRevised):
        return f"{message.alert.rule.value} (revised)"
    if isinstance(message, AlertWithdrawn):
        return f"{message.rule.value} (withdrawn)"
    return message.rule.value


@dataclass(slots=True)
class DemoWorker:
    """The faust app and what this run of it saw. The app only wires: decode -> core -> send."""

    app: Any
    table: Any
    alerts_topic: Any
    deadletter_topic: Any
    engine: Engine = field(default_factory=Engine)
    consumed: Counter[str] = field(default_factory=Counter)
    alerts: Counter[str] = field(default_factory=Counter)
    rejected: int = 0
    positions: dict[int, int] = field(default_factory=dict)  # partition -> last offset handled

    async def handle(self, record: Any) -> None:
        try:
            event = decode_event(record.value)
        except ValidationError as error:
            reason = f"invalid event: {error.error_count()} validation errors"
            await self.deadletter_topic.send(key=record.key, value=record.value, headers={"reason": reason.encode()})
            self.rejected += 1
        else:
            counts = dict(self.table[event.child_key])
            counts[event.type] = counts.get(event.type, 0) + 1
            self.table[event.child_key] = counts  # a new value, so faust writes it to the changelog
            self.consumed[event.type] += 1
            for message in self.engine.apply(event)[1]:
                delivery = await self.alerts_topic.send(key=message.child_key.encode(), value=encode(message))
                await delivery  # acknowledged by the broker before we count it as raised
                self.alerts[alert_label(message)] += 1
        self.positions[record.message.partition] = record.message.offset

    def caught_up(self, last_offsets: Mapping[int, int]) -> bool:
        return all(self.positions.get(p, -1) >= offset for p, offset in last_offsets.items())


def make_worker(settings: Settings, datadir: str) -> DemoWorker:
    app = faust.App(
        APP_ID,
        broker=faust_broker_url(settings),
        broker_credentials=faust_credentials(settings),
        env={},  # faust's unprefixed variables (BROKER_URL, STORE, ...) must not override Settings
        store="memory://",
        datadir=datadir,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication_factor,
        topic_disable_leader=True,
        web_enabled=False,
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
    )
    raw: dict[str, Any] = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw", "value_serializer": "raw"}
    events_topic = app.topic(EVENTS.name, **raw)
    table = app.Table(TABLE, default=dict, partitions=settings.topic_partitions, key_type=str)
    worker = DemoWorker(app, table, app.topic(ALERTS.name, **raw), app.topic(DEADLETTER.name, **raw))

    @app.agent(events_topic)
    async def process(stream: Any) -> None:
        async for record in stream.events():
            await worker.handle(record)

    return worker


async def run_worker(worker: DemoWorker, last_offsets: Mapping[int, int]) -> TableState:
    """Run until every produced event is handled; returns the table as the worker last saw it."""
    await worker.app.start()
    try:
        async with asyncio.timeout(WORKER_DEADLINE_SECONDS):
            while not worker.caught_up(last_offsets):
                await asyncio.sleep(0.2)
        return {key: dict(value) for key, value in worker.table.items()}
    finally:
        await worker.app.stop()  # commits offsets and flushes the changelog writes


async def read_changelog(settings: Settings) -> TableState:
    """The table as a new worker would restore it: the last value per key in the compacted changelog."""
    consumer = AIOKafkaConsumer(**consumer_kwargs(settings, group_id=None))
    await consumer.start()
    state: TableState = {}
    try:
        partitions = [TopicPartition(CHANGELOG, p) for p in range(settings.topic_partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        async with asyncio.timeout(CHANGELOG_READ_SECONDS):
            while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    for record in records:
                        key = json.loads(record.key)
                        if record.value is None:
                            state.pop(key, None)
                        else:
                            state[key] = json.loads(record.value)
    finally:
        await consumer.stop()
    return state


def _listing(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{name}={n}" for name, n in sorted(counts.items())) or "none"


@dataclass(frozen=True, slots=True)
class DemoReport:
    """What one demo run did, and the table as a restarted worker would restore it from the changelog."""

    produced: int
    children: int
    consumed: Counter[str]
    alerts: Counter[str]
    rejected: int
    table: TableState
    changelog: TableState

    @property
    def survived(self) -> bool:
        return self.table == self.changelog

    def lines(self) -> list[str]:
        by_type: Counter[str] = Counter()
        for counts in self.changelog.values():
            by_type.update(counts)
        restored = sum(by_type.values()) - self.consumed.total()
        verdict = "equal to" if self.survived else "DIFFERENT FROM"
        return [
            f"Produced {self.produced} events for {self.children} children to {EVENTS.name} (keyed by child_key).",
            f"The worker consumed {self.consumed.total()} (by type: {_listing(self.consumed)}); "
            f"{self.rejected} went to {DEADLETTER.name}.",
            f"Raised {self.alerts.total()} alerts on {ALERTS.name} (by rule: {_listing(self.alerts)}).",
            f"Table counts survived in changelog topic {CHANGELOG}: read back after the worker stopped, "
            f"{verdict} the worker's table: {len(self.changelog)} children, {sum(by_type.values())} events "
            f"over all demo runs, {restored} of them restored from the changelog at start ({_listing(by_type)}).",
        ]


async def run_demo(settings: Settings) -> DemoReport:
    events = synthetic_feed(Pseudonymiser(settings.pseudonym_key_bytes()))
    await ensure_topics(settings, all_plans(settings, changelogs=(CHANGELOG,)))
    last_offsets = await produce(settings, events)
    with tempfile.TemporaryDirectory(prefix="frontdoor-demo-") as datadir:
        worker = make_worker(settings, datadir)
        table = await run_worker(worker, last_offsets)
    return DemoReport(
        produced=len(events),
        children=len({e.child_key for e in events}),
        consumed=worker.consumed,
        alerts=worker.alerts,
        rejected=worker.rejected,
        table=table,
        changelog=await read_changelog(settings),
    )
