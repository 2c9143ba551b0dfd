"""`python -m bench.processor.run`: the live processor's figures, each against a baseline from the same run.

Needs a broker (FRONTDOOR_BOOTSTRAP_SERVERS). Every run uses its own topics and app ids, deleted at the end.
Figures: worker events/s (state, changelog, alerts) against a naive faust table agent and the aiokafka
consume-and-decode ceiling; p50/p99 event-to-alert latency at a fixed rate; seconds from restart to the first
processed batch after kill -9 (static and dynamic group membership); restore records/s from the changelog with
the local RocksDB directory deleted; RSS per 100k tracked children. Writes bench/results/processor.{json,md}.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.measure import machine
from bench.processor.ceiling import consume_and_decode
from bench.processor.harness import (
    REPO,
    Names,
    WorkerProcess,
    create_topics,
    delete_topics,
    end_offsets,
    keyed,
    produce,
    simulated_feed,
    wait_caught_up,
)
from bench.processor.report import write
from schemas.alerts import AlertRevised, AlertWithdrawn
from schemas.codec import decode_alert, encode
from schemas.codes import ReferralSource
from schemas.events import ContactReceived, InboundEvent
from services.kafka.clients import consumer_kwargs, producer_kwargs
from services.kafka.topics import TopicPlan, ensure_topics
from services.processor.app import changelog_names
from services.settings import Settings
from services.simulator.live import run_live

EVENTS_PER_REFERRAL_YEAR = 13.3  # simulated feed: events per annual referral over the warm-up year plus one


def pseudonym(name: str) -> str:
    """A child key in the pseudonym format the worker admits (32 hex digits), derived from a bench name."""
    return hashlib.sha256(name.encode()).hexdigest()[:32]


LOG_TIME = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\]")


def feed_of(events: int, seed: int, councils: tuple[str, ...] = ("942", "886", "201", "204")) -> list[InboundEvent]:
    per_council = max(20, round(events / EVENTS_PER_REFERRAL_YEAR / 2 / len(councils)))
    return simulated_feed(councils, annual_referrals=per_council, seed=seed)


async def until(check: Any, timeout: float, what: str, workers: tuple[WorkerProcess, ...] = ()) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        for worker in workers:
            if not worker.alive():
                raise RuntimeError(f"{worker.name} exited while waiting for {what}:\n{worker.log_tail()}")
        await asyncio.sleep(0.05)
    raise TimeoutError(f"no {what} within {timeout}s")


async def batched_worker(settings: Settings, names: Names, work: Path, events: int) -> dict[str, Any]:
    worker = WorkerProcess("throughput", work, names.env()).start()
    try:
        processor = names.processor_settings()
        await wait_caught_up(settings, processor.app_id, processor.events_topic, [worker], timeout=3_600)
        status = await until(lambda: (s := worker.status()) and s["events"] >= events and s, 30, "final status")
    finally:
        worker.stop()
    seconds = status["last_batch_at"] - status["first_batch_started_at"]
    return {
        "events": status["events"],
        "batches": status["batches"],
        "seconds": round(seconds, 3),
        "events_per_second": round(status["events"] / seconds),
        "alert_messages": status["alert_messages"],
        "datadir": str(worker.datadir),
    }


async def naive_agent(settings: Settings, names: Names, work: Path, events: int, *, trivial: bool) -> dict[str, Any]:
    kind = "trivial" if trivial else "naive"
    outputs = f"{names.prefix}.{kind}-out"
    await ensure_topics(settings, [TopicPlan(outputs, settings.topic_partitions, 1, {"cleanup.policy": "delete"})])
    status_path = work / f"{kind}.status.json"
    command = [sys.executable, "-m", "bench.processor.naive", "--app-id", f"{names.prefix}-{kind}"]
    command += ["--events", names.processor_settings().events_topic, "--outputs", outputs]
    command += ["--status", str(status_path), "--datadir", str(work / f"{kind}-data")]
    command += ["--trivial"] if trivial else []
    env = os.environ | {"PYTHONPATH": str(REPO)}

    def progress() -> int:
        with contextlib.suppress(OSError, ValueError):
            return int(json.loads(status_path.read_text())["events"])
        return 0

    with (work / f"{kind}.log").open("wb") as log:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        await until(lambda: progress() > 0, 120, f"{kind} agent's first event")
        started, first = time.time(), progress()
        await until(lambda: progress() >= events, 3_600, f"{kind} agent to finish")
        seconds = time.time() - started
    finally:
        process.terminate()
        process.wait(timeout=30)
    return {
        "events": events - first,
        "seconds": round(seconds, 3),
        "events_per_second": round((events - first) / seconds),
    }


async def latency(settings: Settings, work: Path, rate: float, seconds: float) -> dict[str, Any]:
    """Events paced at `rate`; the time from handing an event to the producer to reading its alert."""
    names = Names.unique("bench-latency")
    feed = feed_of(int(rate * seconds), seed=29)[: int(rate * seconds)]
    processor = names.processor_settings()
    sent_at: dict[str, float] = {}
    received: list[tuple[float, str]] = []
    await create_topics(settings, names)
    worker = WorkerProcess("latency", work, names.env()).start()
    producer = AIOKafkaProducer(**producer_kwargs(settings))
    consumer = AIOKafkaConsumer(processor.alerts_topic, **consumer_kwargs(settings, None))
    try:
        await until(worker.status, 120, "the latency worker to be ready", (worker,))
        await producer.start()
        await consumer.start()

        async def collect() -> None:
            async for record in consumer:
                message = decode_alert(record.value)
                if isinstance(message, AlertWithdrawn):
                    continue
                alert = message.alert if isinstance(message, AlertRevised) else message
                received.append((time.time(), alert.trigger_event_id))

        async def send(event: InboundEvent) -> None:
            sent_at[event.event_id] = time.time()
            await producer.send(processor.events_topic, key=event.la_code.encode(), value=encode(event))

        collecting = asyncio.create_task(collect())
        run = await run_live(feed, send, rate)
        await producer.flush()
        await asyncio.sleep(3)  # the last alerts
        collecting.cancel()
    finally:
        await producer.stop()
        await consumer.stop()
        worker.stop()
        await delete_topics(settings, names.all_topics())
    samples = sorted((t - sent_at[trigger]) * 1000 for t, trigger in received if trigger in sent_at)
    cut = statistics.quantiles(samples, n=100) if len(samples) >= 2 else [float("nan")] * 99
    return {
        "rate_per_second": rate,
        "achieved_rate_per_second": round(run.rate_per_second),
        "events": run.sent,
        "alert_samples": len(samples),
        "p50_ms": round(cut[49], 1),
        "p99_ms": round(cut[98], 1),
        "max_ms": round(samples[-1], 1) if samples else None,
    }


async def restart_after_kill(settings: Settings, work: Path, events: int, *, static: bool) -> dict[str, Any]:
    """Kill -9 a worker mid-backlog and restart it: seconds from the restart to its first processed batch."""
    names = Names.unique("bench-restart")
    extra = {"group_instance_id": "bench-restart-worker"} if static else {}
    label = "static" if static else "dynamic"
    work = work / names.prefix  # a worker's data directory belongs to one app id (faust refuses another's)
    work.mkdir()
    await create_topics(settings, names)
    try:
        feed = feed_of(events, seed=31)
        await produce(settings, names.processor_settings().events_topic, keyed(feed, encode))
        first = WorkerProcess(f"restart-{label}", work, names.env(), max_batch="200", **extra).start()
        await until(lambda: (s := first.status()) and s["events"] > 0, 120, "first batches", (first,))
        first.kill9()
        second = WorkerProcess(f"restart-{label}", work, names.env(), max_batch="200", **extra).start()
        try:
            status = await until(
                lambda: (s := second.status()) and s["first_batch_at"] and s, 120, "restart", (second,)
            )
            ready = _log_times(second.log_path, "Worker ready")
        finally:
            second.stop()
    finally:
        await delete_topics(settings, names.all_topics())
    return {
        "membership": label,
        "seconds_to_first_batch": round(status["first_batch_at"] - second.started_at, 2),
        "seconds_to_worker_ready": round(ready[-1] - second.started_at, 2) if ready else None,
    }


def _log_times(path: Path, marker: str) -> list[float]:
    times = []
    for line in path.read_text(errors="replace").splitlines():
        found = LOG_TIME.match(line)
        if found and marker in line:
            times.append(dt.datetime.strptime(found[1], "%Y-%m-%d %H:%M:%S,%f").timestamp())  # faust logs local time
    return times


async def restore(settings: Settings, names: Names, work: Path, datadir: str) -> dict[str, Any]:
    """Delete the local RocksDB state and restart: the changelogs are read back into a new local store."""
    changelogs = changelog_names(names.processor_settings())
    records = sum([sum((await end_offsets(settings, topic)).values()) for topic in changelogs])
    shutil.rmtree(datadir, ignore_errors=True)
    worker = WorkerProcess("throughput", work, names.env()).start()
    try:
        await until(worker.status, 3_600, "recovery", (worker,))
    finally:
        worker.stop()
    began = _log_times(worker.log_path, "Restoring state from changelog topics")
    done = _log_times(worker.log_path, "Recovery complete")
    seconds = done[-1] - began[-1] if began and done else float("nan")
    return {"changelog_records": records, "seconds": round(seconds, 3), "records_per_second": round(records / seconds)}


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def rss_per_children(settings: Settings, work: Path, children: int, store: str) -> dict[str, Any]:
    """Resident memory of a worker holding `children` one-contact children, above the same worker idle."""
    names = Names.unique("bench-rss")
    work = work / names.prefix
    work.mkdir()
    await create_topics(settings, names)
    worker = WorkerProcess(f"rss-{store.split(':', maxsplit=1)[0]}", work, names.env(), store=store).start()
    try:
        await until(worker.status, 120, "the rss worker to be ready", (worker,))
        await asyncio.sleep(1)
        assert worker.process is not None
        idle = _rss_mib(worker.process.pid)
        day = dt.datetime(2025, 3, 3, 10, tzinfo=dt.UTC)
        events = [
            ContactReceived(
                event_id=f"rss-{n}", occurred_at=day, recorded_at=day, la_code="886",
                child_key=pseudonym(f"rss-child-{n:07d}"), contact_id=f"c-{n}", received_at=day,
                source=ReferralSource.POLICE,
            )
            for n in range(children)
        ]  # fmt: skip
        processor = names.processor_settings()
        await produce(settings, processor.events_topic, keyed(events, encode))
        await wait_caught_up(settings, processor.app_id, processor.events_topic, [worker], timeout=3_600)
        await asyncio.sleep(1)
        loaded = _rss_mib(worker.process.pid)
    finally:
        worker.stop()
        await delete_topics(settings, names.all_topics())
    return {
        "store": store,
        "children": children,
        "idle_rss_mib": round(idle, 1),
        "loaded_rss_mib": round(loaded, 1),
        "rss_mib_per_100k_children": round((loaded - idle) / children * 100_000, 1),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings(profile="dev")
    work = Path(tempfile.mkdtemp(prefix="frontdoor-bench-processor-", dir=args.work_dir))
    names = Names.unique("bench-processor")
    figures: dict[str, Any] = {"benchmark": "processor", "machine": machine(), "work_dir": str(work)}
    feed = feed_of(args.events, seed=17)
    figures["feed"] = {
        "events": len(feed),
        "children": len({(e.la_code, e.child_key) for e in feed}),
        "councils": len({e.la_code for e in feed}),
    }
    await create_topics(settings, names)
    try:
        await produce(settings, names.processor_settings().events_topic, keyed(feed, encode))
        throughput = figures["throughput"] = {}
        throughput["aiokafka_consume_and_decode"] = await consume_and_decode(
            settings, names.processor_settings().events_topic, len(feed)
        )
        throughput["batched_worker"] = await batched_worker(settings, names, work, len(feed))
        throughput["naive_faust_table_agent"] = await naive_agent(settings, names, work, len(feed), trivial=False)
        throughput["trivial_faust_counting_agent"] = await naive_agent(settings, names, work, len(feed), trivial=True)
        figures["restore"] = await restore(settings, names, work, throughput["batched_worker"].pop("datadir"))
    finally:
        extra = [f"{names.prefix}.naive-out", f"{names.prefix}.trivial-out"]
        extra += [f"{names.prefix}-{k}-{t}-changelog" for k, t in (("naive", "children"), ("trivial", "counts"))]
        await delete_topics(settings, [*names.all_topics(), *extra])
    figures["latency"] = await latency(settings, work, args.latency_rate, args.latency_seconds)
    figures["restart_after_kill"] = [
        await restart_after_kill(settings, work, args.restart_events, static=static)
        for static in [True] * args.restarts + [False]
    ]
    figures["rss"] = [await rss_per_children(settings, work, args.rss_children, s) for s in ("rocksdb://", "memory://")]
    figures["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.processor.run", description=__doc__)
    parser.add_argument("--events", type=int, default=200_000, help="throughput feed size (simulated councils)")
    parser.add_argument("--latency-rate", type=float, default=1_000.0, help="events per second for the latency run")
    parser.add_argument("--latency-seconds", type=float, default=30.0)
    parser.add_argument("--restart-events", type=int, default=20_000, help="backlog when a worker is killed")
    parser.add_argument("--restarts", type=int, default=3, help="kill -9 and restart cycles (static membership)")
    parser.add_argument("--rss-children", type=int, default=100_000)
    parser.add_argument("--results-dir", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--work-dir", type=Path, default=None, help="parent of the run's temporary directory")
    args, ignored = parser.parse_known_args(argv)  # bench/run.sh passes every benchmark the same arguments
    if ignored:
        sys.stderr.write(f"bench.processor: ignoring {ignored}\n")
    figures = asyncio.run(run(args))
    json_path, md_path = write(figures, args.results_dir)
    sys.stdout.write(md_path.read_text())
    sys.stderr.write(f"wrote {json_path} and {md_path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
