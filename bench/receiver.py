"""The receiver at a large council's size: a full nightly cohort posted end to end, records/s and peak memory.

`FRONTDOOR_PROFILE=dev python -m bench.receiver [--council 886] [--scale 2.7] [--children 50000] [--concurrency 4]`
(needs a broker; about ten minutes on 2 cores). The cohort is the first night of the fake-record sender
(services/simulator/csc_api.py): every child referred in the simulator's year before the start, at the council's
calibrated rates with its annual referrals times `--scale` (Kent's year gives about 19,400 children, so 2.7 gives
a cohort above 50,000), posted as the pilot's sender posts them: bare records, la_code in the path.
`frontdoor receive` runs as a subprocess on private topics (deleted afterwards); the sender posts the cohort in
batches of 100 (the pilot's BATCH_SIZE) over `--concurrency` connections, with a token from the token endpoint.
Timed from the first post to the last answer: every record validated, pseudonymised, translated, its events
published with acks=all and its merged record stored before its answer. Peak RSS is the receiver's VmHWM.
Results go to bench/results/receiver.{json,md}, with the machine and its load average at the start and the end.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from bench.measure import REPO, machine
from schemas.topics import CSC_RECORDS, DEADLETTER, EVENTS, IDENTITY
from services.kafka.topics import TopicPlan, ensure_topics
from services.receiver.clients import add_client
from services.settings import Settings
from services.simulator.cli_simulate import profiles
from services.simulator.csc_api import CscSender

Record = dict[str, Any]

RESULTS = Path(__file__).parent / "results"
GOAL_SECONDS = 300


def cohort(council: str, scale: float, children: int) -> tuple[list[Record], int, float]:
    """(the first `children` bare records of the sender's first night, the cohort's size, seconds to build it)."""
    started = time.perf_counter()
    profile = profiles([council])[0]
    profile = dataclasses.replace(profile, annual_referrals=round(profile.annual_referrals * scale))
    first_night = next(CscSender(profile, dt.date(2025, 4, 1), 1, seed=1).days_sent())
    records = [envelope["Children"] for envelope in first_night.records]
    if len(records) < children:
        raise SystemExit(f"the cohort has {len(records):,} children, fewer than {children:,}: raise --scale")
    return records[:children], len(records), time.perf_counter() - started


def batches(records: list[Record], size: int) -> list[bytes]:
    """The request bodies the sender posts: JSON arrays of `size` records (the pilot's BATCH_SIZE is 100)."""
    return [json.dumps(records[start : start + size]).encode() for start in range(0, len(records), size)]


def receiver_env(topics: dict[str, str], clients_file: Path, port: int) -> dict[str, str]:
    env = os.environ | {"FRONTDOOR_PROFILE": "dev", "PYTHONPATH": str(REPO)}
    env |= {f"FRONTDOOR_RECEIVER_{name.upper()}_TOPIC": topic for name, topic in topics.items()}
    return env | {
        "FRONTDOOR_RECEIVER_CLIENTS_FILE": str(clients_file),
        "FRONTDOOR_RECEIVER_TOKEN_SECRET": secrets.token_urlsafe(32),
        "FRONTDOOR_RECEIVER_PORT": str(port),
        "FRONTDOOR_PSEUDONYM_KEY": secrets.token_hex(32),
        "FRONTDOOR_IDENTITY_KEY": secrets.token_hex(32),
    }


def start_receiver(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], float]:
    """`frontdoor receive` as a subprocess; returns once it listens (it has read the previous-record topic)."""
    started = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(  # our own argv
            [sys.executable, "-m", "services.cli", "receive"], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    while b"Receiver at" not in log.read_bytes():
        if process.poll() is not None:
            raise SystemExit(f"frontdoor receive exited {process.returncode}:\n{log.read_text()[-2000:]}")
        time.sleep(0.2)
    return process, time.perf_counter() - started


def peak_rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    return round(kib / 1024, 1)


async def post_cohort(url: str, la_code: str, secret: str, bodies: list[bytes], concurrency: int) -> dict[str, Any]:
    """Every body posted, `concurrency` at a time; returns the timings and the answers' counts."""
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        form = {"grant_type": "client_credentials", "client_id": "bench-sender", "client_secret": secret}
        async with http.post(f"{url}/oauth2/token", data=form) as response:
            token = (await response.json())["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        for body in bodies:
            queue.put_nowait(body)
        answers = {"accepted": 0, "rejected": 0, "failed_batches": 0}
        latencies: list[float] = []

        async def sender() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                sent = time.perf_counter()
                async with http.post(
                    f"{url}/children_social_care_data/{la_code}/children", data=body, headers=headers
                ) as r:
                    answer = await r.json(content_type=None)
                latencies.append(time.perf_counter() - sent)
                if r.status == 200:
                    answers["accepted"] += len(answer)
                elif r.status == 400:
                    answers["accepted"] += answer["accepted"]
                    answers["rejected"] += answer["rejected"]
                else:
                    answers["failed_batches"] += 1

        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    latencies.sort()
    return answers | {
        "seconds": round(seconds, 1),
        "batch_seconds_p50": round(latencies[len(latencies) // 2], 3),
        "batch_seconds_p95": round(latencies[int(len(latencies) * 0.95)], 3),
    }


async def scrape(url: str) -> dict[str, float]:
    async with aiohttp.ClientSession() as http, http.get(f"{url}/metrics") as response:
        text = await response.text()
    wanted = ("frontdoor_receiver_records_total", "frontdoor_receiver_events_published_total")
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(wanted):
            name, value = line.rsplit(" ", 1)
            found[name] = float(value)
    return found


async def run(args: argparse.Namespace) -> dict[str, Any]:
    facts = machine()
    records, cohort_size, build_seconds = cohort(args.council, args.scale, args.children)
    bodies = batches(records, 100)
    settings = Settings(profile="dev")
    suffix = uuid.uuid4().hex[:10]
    specs = {"events": EVENTS, "deadletter": DEADLETTER, "identity": IDENTITY, "records": CSC_RECORDS}
    topics = {name: f"{spec.name}.bench-receiver-{suffix}" for name, spec in specs.items()}
    plans = [
        TopicPlan(topics[name], settings.topic_partitions, 1, {"cleanup.policy": spec.cleanup_policy})
        for name, spec in specs.items()
    ]
    await ensure_topics(settings, plans)
    work = Path(tempfile.mkdtemp(prefix="bench-receiver-"))
    clients_file = work / "clients.json"
    secret = add_client(clients_file, "bench-sender", args.council)
    process, start_seconds = start_receiver(receiver_env(topics, clients_file, args.port), work / "receiver.log")
    url = f"http://127.0.0.1:{args.port}"
    try:
        posted = await post_cohort(url, args.council, secret, bodies, args.concurrency)
        counts = await scrape(url)
        rss = peak_rss_mib(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        await delete_topics(settings, list(topics.values()))
    seconds = posted["seconds"]
    return {
        "benchmark": "receiver",
        "machine": facts | {"load_average_at_end": [round(x, 2) for x in os.getloadavg()]},
        "council": args.council,
        "scale": args.scale,
        "cohort_children": cohort_size,
        "cohort_build_seconds": round(build_seconds, 1),
        "children": len(records),
        "request_bytes": sum(len(b) for b in bodies),
        "batches": len(bodies),
        "concurrency": args.concurrency,
        "receiver_start_seconds": round(start_seconds, 1),
        "posted": posted,
        "records_per_second": round(len(records) / seconds),
        "goal": f"{args.children:,} children in under {GOAL_SECONDS} s",
        "goal_met": seconds < GOAL_SECONDS and posted["accepted"] == len(records),
        "receiver_peak_rss_mib": rss,
        "receiver_metrics": counts,
    }


async def delete_topics(settings: Settings, names: list[str]) -> None:
    from aiokafka.admin import AIOKafkaAdminClient  # noqa: PLC0415

    from services.kafka.clients import common_kwargs  # noqa: PLC0415

    admin = AIOKafkaAdminClient(**common_kwargs(settings))
    await admin.start()
    try:
        await admin.delete_topics(names)
    finally:
        await admin.close()


def markdown(f: dict[str, Any]) -> str:
    m, p = f["machine"], f["posted"]
    verdict = "meets" if f["goal_met"] else "misses"
    return "\n".join(
        [
            "# The receiver: a large council's nightly cohort, end to end",
            "",
            f"{f['children']:,} children of a council at {f['scale']}x {f['council']}'s referrals "
            "(full DfE CSC API records, "
            f"{f['request_bytes'] / 2**20:.1f} MiB in {f['batches']} batches of 100, {f['concurrency']} connections) "
            f"accepted in **{p['seconds']} s: {f['records_per_second']:,} records/s**, which {verdict} the goal "
            f"({f['goal']}). Receiver peak RSS **{f['receiver_peak_rss_mib']} MiB**.",
            "",
            "| Measure | Value |",
            "|---|---:|",
            f"| records accepted / rejected | {p['accepted']:,} / {p['rejected']:,} |",
            f"| batches failed whole | {p['failed_batches']} |",
            f"| batch answer time p50 / p95 (s) | {p['batch_seconds_p50']} / {p['batch_seconds_p95']} |",
            f"| receiver start (topics read) (s) | {f['receiver_start_seconds']} |",
            f"| receiver metrics at the end | {f['receiver_metrics']} |",
            f"| cohort of {f['cohort_children']:,} children simulated at {f['scale']}x the council's referrals (s) "
            f"| {f['cohort_build_seconds']} |",
            "",
            "Each record is validated, pseudonymised, translated against the child's previous record, its events "
            "published with acks=all, its council id sealed into the identity store and its merged record stored, "
            "all before the batch is answered. The sender and the receiver share the machine (and the broker).",
            "",
            f"Machine: {m['cpu_model']}, {m['nproc']} cores, {m['ram_gib']} GiB, Python {m['python']}, "
            f"{m['date_utc']}, commit {m['git_commit'][:12]}; load average at start {m['load_average_at_start']}, "
            f"at end {m['load_average_at_end']} (the machine is shared: read the figures with the load).",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--council", default="886")
    parser.add_argument("--scale", type=float, default=2.7)
    parser.add_argument("--children", type=int, default=50_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--port", type=int, default=18090)
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    args = parser.parse_args()
    figures = asyncio.run(run(args))
    args.results_dir.mkdir(parents=True, exist_ok=True)
    (args.results_dir / "receiver.json").write_text(json.dumps(figures, indent=2, default=str) + "\n", encoding="utf-8")
    (args.results_dir / "receiver.md").write_text(markdown(figures), encoding="utf-8")
    sys.stdout.write(markdown(figures))


if __name__ == "__main__":
    main()
