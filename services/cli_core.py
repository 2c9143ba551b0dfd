"""`frontdoor report` and `frontdoor replay`: the offline paths through the same pure core as the live worker."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import secrets
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from schemas.codec import encode
from services.core.config import RuleConfig
from services.core.engine import Engine
from services.core.indicators import rereferral_stats, snapshot
from services.ingest.identity import Pseudonymiser
from services.settings import Settings


def register(subparsers: Any) -> None:
    report = subparsers.add_parser("report", help="C1 re-referral figures from CIN census XML returns")
    report.add_argument("--cin-census", nargs="+", type=Path, required=True, metavar="FILE")
    report.add_argument("--period-start", type=dt.date.fromisoformat, required=True, metavar="YYYY-MM-DD")
    report.add_argument("--period-end", type=dt.date.fromisoformat, required=True, metavar="YYYY-MM-DD")
    report.add_argument("--format", choices=("table", "json"), default="table")
    report.add_argument("--window", choices=("12m", "365d"), default="12m", help="re-referral look-back")
    report.add_argument(
        "--no-pseudonymise", action="store_true", help="keep raw child ids in memory (local reconciliation)"
    )
    report.set_defaults(handler=run_report)

    replay = subparsers.add_parser("replay", help="run canonical events (JSONL) through the core offline")
    replay.add_argument("--events", type=Path, required=True, metavar="FILE.jsonl")
    replay.add_argument("--out-dir", type=Path, default=Path(), help="where alerts.jsonl and indicators.json go")
    replay.add_argument("--window", choices=("12m", "365d"), default="12m")
    replay.set_defaults(handler=run_replay)


def run_report(args: argparse.Namespace) -> int:
    from services.ingest.cin_census import iter_cin_census  # noqa: PLC0415  # lxml is only needed here
    from services.ingest.result import IngestResult  # noqa: PLC0415

    settings = Settings()
    if args.no_pseudonymise:
        pseudonymiser = Pseudonymiser(None)
    else:
        # The report prints aggregates only, so a per-run random key is as good as the council's and leaks nothing.
        key = settings.pseudonym_key.get_secret_value().encode() if settings.pseudonym_key else secrets.token_bytes(32)
        pseudonymiser = Pseudonymiser(key)
    config = RuleConfig(rereferral_window=args.window, retention_months=None)
    engine = Engine(config)
    result = IngestResult()
    # Streamed in file order: the engine gives the same figures for any arrival order, so nothing is sorted.
    for event in iter_cin_census(args.cin_census, pseudonymiser, result):
        engine.apply(event)
    stats = rereferral_stats(engine.children.values(), args.period_start, args.period_end, config)
    figures: dict[str, Any] = stats.as_dict() | {"rejected": len(result.rejected)}
    if args.format == "json":
        print(json.dumps(figures | {"period_start": str(args.period_start), "period_end": str(args.period_end)}))
    else:
        _print_table(figures, args, result.rejected, result.notes)
    return 0


def _print_table(figures: dict[str, Any], args: argparse.Namespace, rejected: list[Any], notes: list[str]) -> None:
    print(f"Re-referrals, {args.period_start} to {args.period_end} ({args.window} look-back)")
    for name, value in figures.items():
        shown = f"{value:.1%}" if name.endswith("rate") else f"{value:,}"
        print(f"  {name.replace('_', ' '):<28}{shown:>12}")
    for reason, count in Counter(r.reason for r in rejected).most_common():
        print(f"  rejected: {count} x {reason}")
    for note in notes:
        print(f"  note: {note}")


def run_replay(args: argparse.Namespace) -> int:
    from services.ingest.result import Rejected  # noqa: PLC0415
    from services.ingest.tabular import iter_jsonl  # noqa: PLC0415

    config = RuleConfig(rereferral_window=args.window, retention_months=None)
    engine = Engine(config)
    outcomes: Counter[str] = Counter()
    alerts: Counter[str] = Counter()
    rejected: list[Rejected] = []
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with (args.out_dir / "alerts.jsonl").open("wb") as out:
        for item in iter_jsonl(args.events, None):  # arrival order, exactly as a worker would see them
            if isinstance(item, Rejected):
                rejected.append(item)
                continue
            outcome, messages = engine.apply(item)
            outcomes[outcome.value] += 1
            for message in messages:
                alerts[message.type] += 1
                out.write(encode(message) + b"\n")
    days = [h.last_day for h in engine.children.values() if h.last_day is not None]
    indicators = snapshot(engine.children.values(), max(days), config) if days else {}
    (args.out_dir / "indicators.json").write_text(json.dumps(indicators, indent=2, sort_keys=True) + "\n")
    print(
        f"replayed {sum(outcomes.values()) + len(rejected)} lines: {dict(outcomes)}; rejected {len(rejected)}; "
        f"alert messages {dict(alerts)}; wrote {args.out_dir / 'alerts.jsonl'} and {args.out_dir / 'indicators.json'}",
        file=sys.stderr,
    )
    for rejection in rejected[:20]:
        print(f"  rejected {rejection.location}: {rejection.reason}", file=sys.stderr)
    return 0
