"""`frontdoor simulate`: a calibrated synthetic front door, as history (fast) or live (paced, to Kafka)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from schemas.codec import encode
from schemas.events import InboundEvent
from services.ingest.identity import Pseudonymiser
from services.progress import Progress
from services.settings import MissingPseudonymKeyError, Settings

CALIBRATION_YEAR = 2025  # the latest C1/D3 year shipped in services/reference/data


def register(subparsers: Any) -> None:
    sim = subparsers.add_parser("simulate", help="a synthetic MASH feed calibrated on DfE C1/D3 figures")
    sim.add_argument("--mode", choices=("history", "live"), default="history")
    sim.add_argument(
        "--council", action="append", default=None, metavar="LA",
        help="three-digit DfE code, or 'median' (repeatable; default: median)",
    )  # fmt: skip
    sim.add_argument("--years", type=float, default=1.0, help="history mode: years after the warm-up year")
    sim.add_argument(
        "--start", type=dt.date.fromisoformat, default=None,
        help="history mode: the first reported day (default: the history ends on the first day of this month)",
    )  # fmt: skip
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--to", choices=("jsonl", "kafka"), default=None, help="default: jsonl (history), kafka (live)")
    sim.add_argument("--out", type=Path, help="with --to jsonl: output file (default: standard output)")
    sim.add_argument("--rate", type=float, default=None, help="live mode: events per second")
    sim.add_argument("--duration", type=float, default=None, help="live mode: stop after this many seconds")
    sim.add_argument("--realtime", action="store_true", help="live mode: follow the events' own times")
    sim.add_argument(
        "--format", choices=("events", "dfe-csc-api"), default="events",
        help="dfe-csc-api: a sender's DfE CSC API records (JSON lines of envelopes, raw synthetic ids): the full "
        "cohort on the day before --start, then --days days of deltas and purges",
    )  # fmt: skip
    sim.add_argument("--days", type=int, default=30, help="with --format dfe-csc-api: days of deltas after the cohort")
    sim.set_defaults(handler=run_simulate)


def profiles(codes: list[str] | None) -> list[Any]:
    """Calibration for each council from the shipped C1 (and D3) figures of the latest year."""
    from services.reference.official_statistics import c1_for, d3_for, median_council_c1  # noqa: PLC0415
    from services.simulator.model import CouncilProfile  # noqa: PLC0415

    chosen = []
    for code in codes or ["median"]:
        row = median_council_c1(CALIBRATION_YEAR) if code == "median" else c1_for(code, CALIBRATION_YEAR)
        if row is None:
            raise SystemExit(f"no {CALIBRATION_YEAR} C1 figures for council {code!r}")
        chosen.append(CouncilProfile.from_c1(row, d3_for(row.old_la_code, CALIBRATION_YEAR)))
    return chosen


def run_simulate(args: argparse.Namespace) -> int:
    if args.format == "dfe-csc-api":
        return _csc_api_records(args)
    settings = Settings()
    try:
        pseudonymiser = Pseudonymiser(settings.pseudonym_key_bytes())
    except MissingPseudonymKeyError as exc:
        print(f"frontdoor simulate: {exc}", file=sys.stderr)
        return 2
    councils = profiles(args.council)
    names = ", ".join(f"{p.la_name} ({p.la_code}, {p.annual_referrals:,} referrals/yr)" for p in councils)
    print(f"simulating {names}", file=sys.stderr)
    destination = args.to or ("kafka" if args.mode == "live" else "jsonl")
    if args.mode == "history":
        from services.simulator.history import history_start, simulate  # noqa: PLC0415

        start = args.start or history_start(dt.date.today(), args.years)
        print(f"history from {start} (after a warm-up year) for {args.years:g} years", file=sys.stderr)
        events: Iterable[InboundEvent] = simulate(councils, start, args.years, args.seed, pseudonymiser=pseudonymiser)
    else:
        events = _live_events(councils, args.seed, pseudonymiser)
    progress = Progress(f"simulate ({args.mode})")
    if destination == "jsonl":
        _to_jsonl(events, args.out, progress)
    else:
        asyncio.run(_to_kafka(settings, events, args, progress))
    progress.finish()
    return 0


def _csc_api_records(args: argparse.Namespace) -> int:
    """Records as a council's sender posts them, one envelope per line; each day's batch follows the previous."""
    import json  # noqa: PLC0415

    from services.simulator.csc_api import CscSender  # noqa: PLC0415

    if args.mode != "history" or args.to == "kafka" or len(args.council or ["median"]) != 1:
        print("frontdoor simulate --format dfe-csc-api: one --council, history mode, to a file", file=sys.stderr)
        return 2
    # Without --start the deltas end on the first day of this month, as a history without --start does.
    start = args.start or dt.date.today().replace(day=1) - dt.timedelta(days=args.days)
    sender = CscSender(profiles(args.council)[0], start, args.days, args.seed)
    progress = Progress("simulate (dfe-csc-api)")
    stream = args.out.open("w", encoding="utf-8") if args.out else sys.stdout
    try:
        for day in sender.days_sent():
            if day.kind == "full":
                print(f"full cohort on {day.day}: {len(day.records)} children", file=sys.stderr)
            for envelope in day.records:
                stream.write(json.dumps(envelope, separators=(",", ":")) + "\n")
            progress.update(read=len(day.records), published=len(day.records))
    finally:
        if args.out:
            stream.close()
    progress.finish()
    return 0


def _live_events(councils: list[Any], seed: int, pseudonymiser: Pseudonymiser) -> Iterator[InboundEvent]:
    """Live feeds of every council interleaved, stamped with the wall clock: the demo's "today"."""
    from services.simulator.live import live_feed  # noqa: PLC0415

    def now() -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    # The year before "now" is not re-sent: seed it with history mode and the same seed, which simulates the
    # same children, so live referrals find their look-back.
    feeds = [live_feed(p, now, seed, pseudonymiser=pseudonymiser, backfill=False) for p in councils]
    while True:
        for feed in feeds:
            yield next(feed)


def _to_jsonl(events: Iterable[InboundEvent], out: Path | None, progress: Progress) -> None:
    stream = out.open("wb") if out else sys.stdout.buffer
    try:
        for event in events:
            stream.write(encode(event) + b"\n")
            progress.update(read=1, published=1)
    finally:
        if out:
            stream.close()


async def _to_kafka(
    settings: Settings, events: Iterable[InboundEvent], args: argparse.Namespace, progress: Progress
) -> None:
    from services.kafka.publish import event_publisher  # noqa: PLC0415
    from services.simulator.live import run_live  # noqa: PLC0415

    async with event_publisher(settings) as publisher:

        async def send(event: InboundEvent) -> None:
            delivery = await publisher.enqueue(event)
            progress.update(read=1)
            # Published means acknowledged by the broker (acks=all), not merely queued in the producer.
            delivery.add_done_callback(lambda done: progress.update(published=0 if done.exception() else 1))

        if args.mode == "history":
            for event in events:
                await send(event)
        else:
            run = await run_live(
                events, send, rate_per_second=args.rate, realtime_schedule=args.realtime,
                duration_seconds=args.duration,
            )  # fmt: skip
            print(
                f"live: sent {run.sent:,} in {run.elapsed_seconds:.1f} s = {run.rate_per_second:,.0f}/s",
                file=sys.stderr,
            )
        await publisher.producer.flush()
