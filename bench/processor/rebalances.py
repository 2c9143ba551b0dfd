"""`python -m bench.processor.rebalances`: rounds of repeated rebalances under backpressure (the #596 workaround).

Needs a broker (FRONTDOOR_BOOTSTRAP_SERVERS). Each round has its own topics (6 partitions) and app id. Worker 1
starts with the first slice of the feed, and workers 2 and 3 join and leave in turn every `--every` seconds, each
a rebalance followed by the next slice (small batches keep faust's stream buffers full, as in the two-worker
test). Then the group must commit every event: a round is "caught up", "stalled" (commits stopped while behind:
the old workaround's livelock) or "slow". Per round also the alert differences against `replay` and the jumps in
offsets the workers logged (`arrived where ... was expected`). Writes bench/results/rebalances-<label>.json and
prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.kafka_principals import principal_settings
from bench.measure import machine
from bench.processor.harness import (
    REPO,
    Names,
    WorkerProcess,
    committed,
    compare_alerts,
    end_offsets,
    keyed,
    offline,
    private_topics,
    produce,
    read_topic,
    simulated_feed,
)
from schemas.codec import encode
from services.settings import Settings

JUMP = "arrived where"


async def outcome(settings: Settings, group: str, topic: str, timeout: float, stall: float) -> tuple[str, int]:
    """ "caught up" once the group has committed every message on `topic`; "stalled" when its commits have not moved
    for `stall` seconds while behind (a stuck partition); "slow" at `timeout`. With the events left uncommitted."""
    target = await end_offsets(settings, topic)
    deadline = time.monotonic() + timeout
    last, moved = -1, time.monotonic()
    while True:
        done = await committed(settings, group, topic)
        left = sum(max(end - done.get(p, 0), 0) for p, end in target.items())
        if left == 0:
            return "caught up", 0
        if left != last:
            last, moved = left, time.monotonic()
        if time.monotonic() - moved > stall:
            return "stalled", left
        if time.monotonic() > deadline:
            return "slow", left
        await asyncio.sleep(0.5)


async def one_round(
    settings: Settings, feed: list[Any], reference: Any, work: Path, args: argparse.Namespace
) -> dict[str, Any]:
    names = Names.unique("bench-rebalances")
    work.mkdir(parents=True)
    processor = names.processor_settings()
    workers = [WorkerProcess(f"worker-{n}", work, names.env(), max_batch=str(args.max_batch)) for n in (1, 2, 3)]
    started = time.monotonic()
    result, left = "not started", -1
    async with private_topics(settings, names):
        try:
            workers[0].start()
            size = -(-len(feed) // (args.rebalances + 1))
            slices = [feed[n : n + size] for n in range(0, len(feed), size)]
            await produce(principal_settings("ingest"), processor.events_topic, keyed(slices[0], encode))
            for step in range(args.rebalances):  # 2 joins, 2 leaves, 3 joins, 3 leaves, ... each with more events
                await asyncio.sleep(args.every)
                joining = workers[1 + (step // 2) % 2]
                if step % 2 == 0:
                    joining.start()
                else:
                    joining.stop()
                for part in slices[step + 1 : step + 2]:
                    await produce(principal_settings("ingest"), processor.events_topic, keyed(part, encode))
            for part in slices[args.rebalances + 1 :]:
                await produce(principal_settings("ingest"), processor.events_topic, keyed(part, encode))
            result, left = await outcome(settings, processor.app_id, processor.events_topic, args.timeout, args.stall)
        finally:
            for worker in workers:
                worker.stop()
        records = await read_topic(settings, processor.alerts_topic)
    logs = "".join(w.log_path.read_text(errors="replace") for w in workers if w.log_path.exists())
    jumps = [line for line in logs.splitlines() if JUMP in line]
    return {
        "outcome": result,
        "events_left": left,
        "alert_differences": len(compare_alerts(records, reference.messages)),
        "jumps_logged": len(jumps),
        "distinct_expected_offsets": len({line.rsplit(JUMP, 1)[1].split()[0] for line in jumps}),
        "seconds": round(time.monotonic() - started, 1),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings(profile="dev")
    feed = simulated_feed(tuple(args.councils.split(",")), annual_referrals=args.referrals, seed=5)
    reference = offline(feed)
    figures: dict[str, Any] = {"label": args.label, "machine": machine(), "events": len(feed), "rounds": []}
    figures["machine"]["load_average_at_start"] = [round(x, 2) for x in os.getloadavg()]
    figures["settings"] = {k: getattr(args, k) for k in ("councils", "referrals", "max_batch", "rebalances", "every")}
    with tempfile.TemporaryDirectory(dir=args.work_dir) as work:
        for n in range(args.rounds):
            result = await one_round(settings, feed, reference, Path(work) / f"round-{n}", args)
            sys.stderr.write(f"round {n + 1}/{args.rounds}: {result}\n")
            figures["rounds"].append(result)
    figures["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return figures


def markdown(figures: dict[str, Any]) -> str:
    rounds = figures["rounds"]
    stalled = sum(r["outcome"] == "stalled" for r in rounds)
    slow = sum(r["outcome"] == "slow" for r in rounds)
    wrong = sum(r["alert_differences"] > 0 for r in rounds if r["outcome"] == "caught up")
    lines = [
        f"## {figures['label']}: {len(rounds)} rounds, {stalled} stalled, {slow} slow, "
        f"{wrong} caught up with alert differences",
        "",
        f"{figures['events']:,} events; settings {figures['settings']}.",
        "",
        "| round | outcome | events left | alert differences | jumps logged | distinct expected offsets | seconds |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for n, r in enumerate(rounds, 1):
        cells = (
            r["outcome"],
            r["events_left"],
            r["alert_differences"],
            r["jumps_logged"],
            r["distinct_expected_offsets"],
            r["seconds"],
        )
        lines.append(f"| {n} | " + " | ".join(str(c) for c in cells) + " |")
    m = figures["machine"]
    lines += [
        "",
        f"Load average {m['load_average_at_start']} at start, {m['load_average_at_end']} at end; {m['date_utc']}.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.processor.rebalances", description=__doc__)
    parser.add_argument("--label", default="this checkout")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--councils", default="942,886", help="comma-separated LA codes (one partition each)")
    parser.add_argument("--referrals", type=int, default=200, help="annual referrals per council")
    parser.add_argument("--max-batch", type=int, default=50, help="small batches: a slow worker, full buffers")
    parser.add_argument("--rebalances", type=int, default=6)
    parser.add_argument("--every", type=float, default=3.0, help="seconds between joins and leaves")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to commit everything after the last")
    parser.add_argument("--stall", type=float, default=45.0, help="seconds without a commit that count as stalled")
    parser.add_argument("--results-dir", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--work-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    figures = asyncio.run(run(args))
    args.results_dir.mkdir(parents=True, exist_ok=True)
    slug = "".join(c if c.isalnum() else "-" for c in args.label.lower())
    (args.results_dir / f"rebalances-{slug}.json").write_text(json.dumps(figures, indent=2) + "\n")
    sys.stdout.write(markdown(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
