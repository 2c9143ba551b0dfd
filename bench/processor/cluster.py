"""`python -m bench.processor.cluster`: the worker's throughput on a three-broker cluster against one broker, same run.

Starts its own PLAINTEXT broker (port 19520, controller 19521) and three-node cluster (19500-19505), each in a
temporary state dir deleted at the end. On each: the same simulated feed on topics with replication equal to the
brokers (three: min.insync.replicas 2, acks=all waits for a second copy), then one `frontdoor worker` from the start
of the topic, timed from its first batch to its last (as bench.processor.run). Rounds alternate one broker and three,
so load on a shared machine falls on both. Writes bench/results/processor_cluster.{json,md}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.kafka_cluster import Cluster
from bench.measure import machine
from bench.processor.harness import (
    REPO,
    Names,
    WorkerProcess,
    create_topics,
    delete_topics,
    keyed,
    produce,
    simulated_feed,
    wait_caught_up,
)
from schemas.codec import encode
from schemas.events import InboundEvent

ONE_BROKER_PORT = 19520
THREE_BROKERS_PORT = 19500


async def throughput(cluster: Cluster, feed: list[InboundEvent], work: Path) -> dict[str, Any]:
    names = Names.unique(f"bench-cluster{cluster.brokers}")
    processor = names.processor_settings()
    await create_topics(cluster.settings, names)
    try:
        await produce(cluster.settings, processor.events_topic, keyed(feed, encode))
        worker = WorkerProcess(f"throughput-{names.prefix}", work, names.env() | cluster.service_env()).start()
        try:
            async with asyncio.timeout(300):  # joined: the group's coordinator exists before its offsets are asked
                while worker.status() is None:
                    assert worker.alive(), worker.log_tail()
                    await asyncio.sleep(0.1)
            await wait_caught_up(cluster.settings, processor.app_id, processor.events_topic, [worker], timeout=3_600)
            async with asyncio.timeout(30):
                while not ((status := worker.status()) and status["events"] >= len(feed)):
                    await asyncio.sleep(0.1)
        finally:
            worker.stop()
    finally:
        await delete_topics(cluster.settings, names.all_topics())
    seconds = status["last_batch_at"] - status["first_batch_started_at"]
    return {
        "brokers": cluster.brokers,
        "events": status["events"],
        "seconds": round(seconds, 2),
        "events_per_second": round(status["events"] / seconds),
        "alert_messages": status["alert_messages"],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="frontdoor-bench-cluster-"))
    one = Cluster(ONE_BROKER_PORT, work / "kafka-1", brokers=1)
    three = Cluster(THREE_BROKERS_PORT, work / "kafka-3", brokers=3)
    figures: dict[str, Any] = {"benchmark": "processor_cluster", "machine": machine()}
    councils = ("942", "886", "201", "204")
    feed = simulated_feed(councils, annual_referrals=args.annual_referrals, seed=17)
    figures["feed"] = {"events": len(feed), "councils": len(councils)}
    rounds: list[dict[str, Any]] = []
    try:
        figures["start_seconds"] = {"one_broker": round(one.up(), 1), "three_brokers": round(three.up(), 1)}
        for _ in range(args.rounds):
            for cluster in (one, three):
                rounds.append(await throughput(cluster, feed, work))
                sys.stdout.write(json.dumps(rounds[-1]) + "\n")
    finally:
        for cluster in (one, three):
            cluster.down()
        shutil.rmtree(work, ignore_errors=True)
    figures["rounds"] = rounds
    median = {b: statistics.median(r["events_per_second"] for r in rounds if r["brokers"] == b) for b in (1, 3)}
    figures["median_events_per_second"] = {"one_broker": median[1], "three_brokers": median[3]}
    figures["ratio_three_to_one"] = round(median[3] / median[1], 3)
    figures["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return figures


def markdown(f: dict[str, Any]) -> str:
    m = f["machine"]
    lines = [
        "# Worker throughput: three brokers against one (same run)",
        "",
        f"Feed: {f['feed']['events']:,} simulated events, {f['feed']['councils']} councils, 6 partitions; one",
        "`frontdoor worker` (RocksDB) from the start of the topic. One broker: replication 1. Three brokers:",
        "replication 3, min.insync.replicas 2: every alert and changelog write (acks=all) waits for a second broker.",
        "",
        "| round | brokers | events | seconds | events/s | load average after |",
        "|---:|---:|---:|---:|---:|---|",
    ]
    lines += [
        f"| {n // 2 + 1} | {r['brokers']} | {r['events']:,} | {r['seconds']} | {r['events_per_second']:,} | "
        f"{r['load_average_after']} |"
        for n, r in enumerate(f["rounds"])
    ]
    median = f["median_events_per_second"]
    lines += [
        "",
        f"Median: one broker {median['one_broker']:,.0f} events/s, three brokers "
        f"{median['three_brokers']:,.0f} events/s; ratio three/one {f['ratio_three_to_one']}. "
        f"Start-up seconds: {f['start_seconds']}.",
        "",
        f"Machine: {m['cpu_model']}, {m['nproc']} cores, {m['ram_gib']} GiB, Python {m['python']}; load average "
        f"{m['load_average_at_start']} at start, {m['load_average_at_end']} at end; commit "
        f"{str(m['git_commit'])[:12]}, {m['date_utc']}.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.processor.cluster", description=__doc__)
    parser.add_argument("--annual-referrals", type=int, default=600, help="per council (600: about 60k events)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating one-broker and three-broker runs")
    parser.add_argument("--results-dir", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args(argv)
    figures = asyncio.run(run(args))
    args.results_dir.mkdir(parents=True, exist_ok=True)
    (args.results_dir / "processor_cluster.json").write_text(json.dumps(figures, indent=2) + "\n")
    (args.results_dir / "processor_cluster.md").write_text(markdown(figures))
    sys.stdout.write(markdown(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
