"""Driving `frontdoor worker` from outside: unique names, worker subprocesses, producing, and reading topics back.

Shared by the processor benchmark and the processor integration tests, which both treat the worker as a
black box: bytes in on the events topic; alerts, dead letters and changelogs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord, TopicPartition

from bench.kafka_principals import principal_env
from schemas.alerts import AlertMessage, AlertRevised, AlertWithdrawn
from schemas.codec import decode_alert
from schemas.events import InboundEvent
from schemas.topics import ALERTS, COUNCIL_TOTALS, DEADLETTER, EVENTS
from services.core.aggregates import AggregateKey, contribution
from services.core.config import DEFAULT_CONFIG, RuleConfig
from services.core.engine import ChildId, Engine
from services.core.history import ChildHistory, fingerprint
from services.kafka.clients import common_kwargs, consumer_kwargs, producer_kwargs
from services.kafka.topics import ensure_topics
from services.processor.app import changelog_names
from services.processor.cli_processor import topic_plans
from services.processor.settings import APP_ID, ProcessorSettings
from services.settings import Settings

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True, slots=True)
class Names:
    """A private app id and topic names, so runs never share state with each other or with production.

    Each name starts with its production name ("frontdoor.events.v2.<prefix>", app id "frontdoor-processor-<prefix>"):
    on the secured CI broker the production ACLs hold for them as prefixes (`launcher.py up --secure --test-acls`).
    """

    prefix: str

    @classmethod
    def unique(cls, purpose: str) -> Names:
        return cls(f"{purpose}-{uuid.uuid4().hex[:10]}")

    def topic(self, production_name: str) -> str:
        """This run's private copy of a production topic (the desk's actions and audit topics, for example)."""
        return f"{production_name}.{self.prefix}"

    def processor_settings(self, **overrides: Any) -> ProcessorSettings:
        return ProcessorSettings(
            app_id=f"{APP_ID}-{self.prefix}",
            events_topic=self.topic(EVENTS.name),
            alerts_topic=self.topic(ALERTS.name),
            deadletter_topic=self.topic(DEADLETTER.name),
            totals_topic=self.topic(COUNCIL_TOTALS.name),
            **overrides,
        )

    def all_topics(self) -> list[str]:
        processor = self.processor_settings()
        names = [processor.events_topic, processor.alerts_topic, processor.deadletter_topic, processor.totals_topic]
        return [*names, *changelog_names(processor)]

    def env(self) -> dict[str, str]:
        processor = self.processor_settings()
        return {
            "FRONTDOOR_PROCESSOR_APP_ID": processor.app_id,
            "FRONTDOOR_PROCESSOR_EVENTS_TOPIC": processor.events_topic,
            "FRONTDOOR_PROCESSOR_ALERTS_TOPIC": processor.alerts_topic,
            "FRONTDOOR_PROCESSOR_DEADLETTER_TOPIC": processor.deadletter_topic,
            "FRONTDOOR_PROCESSOR_TOTALS_TOPIC": processor.totals_topic,
        }


async def create_topics(settings: Settings, names: Names) -> None:
    await ensure_topics(settings, topic_plans(settings, names.processor_settings()))


async def delete_topics(settings: Settings, names: Iterable[str]) -> None:
    admin = AIOKafkaAdminClient(**common_kwargs(settings))
    await admin.start()
    try:
        doomed = sorted(set(names) & set(await admin.list_topics()))
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()


class WorkerProcess:
    """`frontdoor worker` as a subprocess, with its own log, status file and data directory."""

    def __init__(self, name: str, workdir: Path, env: dict[str, str], *, store: str = "rocksdb://", **extra: str):
        self.name = name
        self.log_path = workdir / f"{name}.log"
        self.status_path = workdir / f"{name}.status.json"
        self.datadir = workdir / f"{name}-data"
        # Synthetic data on a local broker: the dev profile, unless the caller's environment says otherwise; on the
        # secured CI broker, the worker's own principal (bench/kafka_principals.py).
        self.env = {"FRONTDOOR_PROFILE": "dev"} | os.environ | principal_env("worker") | {"PYTHONPATH": str(REPO)} | env
        self.env |= {
            "FRONTDOOR_PROCESSOR_STATUS_PATH": str(self.status_path),
            "FRONTDOOR_PROCESSOR_STATUS_INTERVAL_SECONDS": "0.1",
            "FRONTDOOR_PROCESSOR_DATADIR": str(self.datadir),
            "FRONTDOOR_PROCESSOR_STORE": store,
        }
        self.env |= {f"FRONTDOOR_PROCESSOR_{k.upper()}": v for k, v in extra.items()}
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    def start(self) -> WorkerProcess:
        self.status_path.unlink(missing_ok=True)
        command = [sys.executable, "-m", "services.processor.cli_processor", "worker", "--loglevel", "info"]
        with self.log_path.open("ab") as log:
            self.started_at = time.time()
            self.process = subprocess.Popen(command, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603  # our own argv
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def status(self) -> dict[str, Any] | None:
        try:
            loaded: dict[str, Any] = json.loads(self.status_path.read_text())
        except (OSError, ValueError):
            return None
        return loaded

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def kill9(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.kill()  # SIGKILL: no commit, no changelog flush, no leave-group
            self.process.wait()

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM: faust commits what is acknowledged and leaves the group; a worker that hangs is killed."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


async def produce(
    settings: Settings, topic: str, messages: Sequence[tuple[bytes | None, bytes | None]]
) -> list[tuple[int, int]]:
    """Send (key, value) pairs with the durable producer; returns each message's (partition, offset)."""
    producer = AIOKafkaProducer(**producer_kwargs(settings) | {"linger_ms": 20, "max_batch_size": 256 * 1024})
    await producer.start()
    try:
        pending = [await producer.send(topic, key=key, value=value) for key, value in messages]
        written = await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return [(m.partition, m.offset) for m in written]


def keyed(events: Iterable[InboundEvent], encode: Callable[[InboundEvent], bytes]) -> list[tuple[bytes, bytes]]:
    """(key, value) pairs as every producer sends them: keyed by council."""
    return [(e.la_code.encode(), encode(e)) for e in events]


async def end_offsets(settings: Settings, topic: str) -> dict[int, int]:
    consumer = AIOKafkaConsumer(**consumer_kwargs(settings, group_id=None))
    await consumer.start()
    try:
        partitions = await _partitions(consumer, topic)
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
    finally:
        await consumer.stop()
    return {tp.partition: offset for tp, offset in ends.items()}


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[int]:
    for _ in range(50):
        found = consumer.partitions_for_topic(topic)
        if found:
            return sorted(found)
        await consumer._client.force_metadata_update()  # aiokafka has no public refresh
        await asyncio.sleep(0.1)
    raise TimeoutError(f"no metadata for {topic}")


async def committed(settings: Settings, group: str, topic: str) -> dict[int, int]:
    admin = AIOKafkaAdminClient(**common_kwargs(settings))
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic and meta.offset >= 0}


async def wait_caught_up(
    settings: Settings, group: str, topic: str, workers: Sequence[WorkerProcess], timeout: float
) -> float:
    """Until the group has committed every message on `topic`; returns the wall time it happened."""
    target = await end_offsets(settings, topic)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for worker in workers:
            if not worker.alive():
                raise RuntimeError(f"worker {worker.name} exited:\n{worker.log_tail()}")
        done = await committed(settings, group, topic)
        if all(done.get(p, 0) >= end for p, end in target.items()):
            return time.time()
        await asyncio.sleep(0.2)
    logs = "\n".join(f"--- {w.name}\n{w.log_tail()}" for w in workers)
    raise TimeoutError(f"{group} did not commit {target} within {timeout}s (at {done}):\n{logs}")


async def read_topic(settings: Settings, topic: str, timeout: float = 30.0) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record now on the topic, partition by partition in offset order."""
    consumer = AIOKafkaConsumer(**consumer_kwargs(settings, group_id=None) | {"isolation_level": "read_uncommitted"})
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        partitions = [TopicPartition(topic, p) for p in await _partitions(consumer, topic)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        async with asyncio.timeout(timeout):
            while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    records.extend(batch)
    finally:
        await consumer.stop()
    return records


async def read_table(settings: Settings, changelog: str) -> dict[bytes, bytes]:
    """A table as a restarted worker would restore it: the last value per key, tombstones applied."""
    table: dict[bytes, bytes] = {}
    for record in await read_topic(settings, changelog):
        assert record.key is not None
        if record.value is None:
            table.pop(record.key, None)
        else:
            table[record.key] = record.value
    return table


# ---- the offline reference: the same events through the Engine, one at a time, in arrival order ----


@dataclass(slots=True)
class Reference:
    """What an uninterrupted offline run gives: the alert messages in order and every child's history."""

    messages: list[AlertMessage] = field(default_factory=list)
    children: dict[ChildId, ChildHistory] = field(default_factory=dict)


def offline(events: Iterable[InboundEvent], config: RuleConfig = DEFAULT_CONFIG) -> Reference:
    engine = Engine(config)
    reference = Reference(children=engine.children)
    for event in events:
        reference.messages.extend(engine.apply(event)[1])
    days = [h.last_day for h in engine.children.values() if h.last_day is not None]
    if days:  # the live worker prunes after every batch; nothing here is old enough to go, but ids are trimmed
        for history in engine.children.values():
            history.prune(max(days), config)
    return reference


def fold(messages: Iterable[AlertMessage]) -> dict[str, str]:
    """The alerts standing after the stream: alert id -> fingerprint of its latest version."""
    standing: dict[str, str] = {}
    for message in messages:
        if isinstance(message, AlertWithdrawn):
            standing.pop(message.alert_id, None)
        elif isinstance(message, AlertRevised):
            standing[message.alert_id] = fingerprint(message.alert)
        else:
            standing[message.alert_id] = fingerprint(message)
    return standing


def alerts_by_child(records: Iterable[ConsumerRecord[bytes, bytes]]) -> dict[str, list[AlertMessage]]:
    by_child: dict[str, list[AlertMessage]] = defaultdict(list)
    for record in records:
        assert record.value is not None
        message = decode_alert(record.value)
        by_child[message.child_key].append(message)
    return dict(by_child)


def council_totals(children: Iterable[ChildHistory], config: RuleConfig = DEFAULT_CONFIG) -> dict[str, Counter[Any]]:
    totals: dict[str, Counter[AggregateKey]] = {}
    for history in children:
        totals.setdefault(history.la_code, Counter()).update(contribution(history, config))
    return {la: +counts for la, counts in totals.items()}


async def settled_statuses(workers: Sequence[WorkerProcess], timeout: float = 60.0) -> list[dict[str, Any] | None]:
    """The workers' status files once each carries its council totals (written once a worker has been idle for an
    interval) and none has moved for half a second; the latest reads at `timeout`."""
    deadline = time.monotonic() + timeout
    previous: list[dict[str, Any] | None] = []
    while True:
        statuses = [w.status() for w in workers]
        settled = all(s is not None and "councils" in s for s in statuses) and statuses == previous
        if settled or time.monotonic() > deadline:
            return statuses
        previous = statuses
        await asyncio.sleep(0.5)


def status_totals(statuses: Iterable[dict[str, Any] | None]) -> dict[str, Counter[Any]]:
    """Council totals as the workers' status files report them; each council must come from one worker."""
    totals: dict[str, Counter[Any]] = {}
    for status in statuses:
        for la, rows in (status or {}).get("councils", {}).items():
            assert la not in totals, f"council {la} reported by two workers"
            totals[la] = Counter({(month, measure, label): n for month, measure, label, n in rows})
    return totals


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@contextlib.asynccontextmanager
async def private_topics(settings: Settings, names: Names) -> Any:
    """Create a run's topics up front and delete them (changelogs included) afterwards."""
    await create_topics(settings, names)
    try:
        yield names
    finally:
        await delete_topics(settings, names.all_topics())


def simulated_feed(
    la_codes: Sequence[str] = ("942",), annual_referrals: int = 400, seed: int = 3, years: float = 1.0
) -> list[InboundEvent]:
    """A calibrated feed for small councils: a warm-up year then `years`, late, duplicated and retracted events too."""
    from services.reference.official_statistics import median_council_c1  # noqa: PLC0415
    from services.simulator.history import simulate  # noqa: PLC0415
    from services.simulator.model import CouncilProfile  # noqa: PLC0415

    row = median_council_c1(2025)
    assert row is not None
    profiles = [CouncilProfile.from_c1(row, la_code=la, annual_referrals=annual_referrals) for la in la_codes]
    return list(simulate(profiles, dt.date(2024, 4, 1), years, seed=seed))


def compare_alerts(records: Iterable[ConsumerRecord[bytes, bytes]], reference: Sequence[AlertMessage]) -> list[str]:
    """Differences between a live alerts topic and an uninterrupted offline run, allowing identical re-sends.

    At-least-once: a batch redone after a crash or a rebalance sends the same bytes again. Consumers fold by
    alert id, so the live topic must hold the same alert ids, the same distinct messages, and fold to the
    same standing alerts. Returns one line per difference (empty when they agree).
    """
    from schemas.codec import encode  # noqa: PLC0415

    live = [m for messages in alerts_by_child(records).values() for m in messages]
    problems: list[str] = []
    lost = {m.alert_id for m in reference} - {m.alert_id for m in live}
    invented = {m.alert_id for m in live} - {m.alert_id for m in reference}
    if lost or invented:
        problems.append(f"alert ids lost {sorted(lost)[:5]} ({len(lost)}), invented {sorted(invented)[:5]}")
    live_bytes, reference_bytes = {encode(m) for m in live}, {encode(m) for m in reference}
    if live_bytes != reference_bytes:
        only_live, only_reference = sorted(live_bytes - reference_bytes), sorted(reference_bytes - live_bytes)
        problems.append(
            f"the distinct alert messages differ: {len(only_live)} only live, {len(only_reference)} only offline;"
            f" live {[m.decode() for m in only_live[:3]]}, offline {[m.decode() for m in only_reference[:3]]}"
        )
    if fold(live) != fold(reference):
        problems.append("the standing alerts differ")
    return problems


def resent(records: Sequence[ConsumerRecord[bytes, bytes]]) -> int:
    """Raw messages that repeat an earlier message byte for byte (re-sends of a redone batch)."""
    return len(records) - len({(r.key, r.value) for r in records})
