"""`frontdoor report` and `frontdoor replay`: the offline paths through the same pure core as the live worker."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import secrets
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from schemas.codec import encode
from services.core.config import RuleConfig, Rules
from services.core.engine import Engine
from services.core.indicators import rereferral_stats, snapshot
from services.ingest.identity import Pseudonymiser
from services.settings import Settings

if TYPE_CHECKING:  # the replay commands import it when they run
    from services.ingest.result import Rejected


def register(subparsers: Any) -> None:
    report = subparsers.add_parser(
        "report", help="C1 re-referral figures for a period, or every indicator --by month, quarter or year"
    )
    source = report.add_mutually_exclusive_group(required=True)
    source.add_argument("--cin-census", nargs="+", type=Path, metavar="FILE")
    source.add_argument("--events", nargs="+", type=Path, metavar="FILE.jsonl", help="canonical events (with --by)")
    report.add_argument("--period-start", type=dt.date.fromisoformat, metavar="YYYY-MM-DD", help="without --by")
    report.add_argument("--period-end", type=dt.date.fromisoformat, metavar="YYYY-MM-DD", help="without --by")
    report.add_argument("--by", choices=("month", "quarter", "year"), help="every indicator per council and period")
    report.add_argument(
        "--format",
        choices=("table", "json", "csv", "xlsx", "openmetrics"),
        default="table",
        help="csv, xlsx: with --by; openmetrics: with --by month, for promtool tsdb create-blocks-from openmetrics",
    )
    report.add_argument("--output", type=Path, metavar="FILE", help="write here instead of standard output (xlsx)")
    report.add_argument(
        "--compare-rules",
        "--compare-config",
        type=Path,
        metavar="OTHER.toml",
        help="with --by: the same series under a second rules file, side by side with the differences",
    )
    report.add_argument("--jobs", type=int, default=None, help="councils replayed at once (default: CPU count)")
    _add_rules_options(report)
    report.add_argument(
        "--no-pseudonymise", action="store_true", help="keep raw child ids in memory (local reconciliation)"
    )
    report.set_defaults(handler=run_report)

    replay = subparsers.add_parser("replay", help="run canonical events (JSONL) through the core offline")
    replay.add_argument("--events", type=Path, required=True, metavar="FILE.jsonl")
    replay.add_argument("--out-dir", type=Path, default=Path(), help="where alerts.jsonl and indicators.json go")
    replay.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="councils replayed at once; above 1, alerts.jsonl lists council by council (each child's in order)",
    )
    _add_rules_options(replay)
    replay.set_defaults(handler=run_replay)


def _add_rules_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rules",
        type=Path,
        default=None,
        metavar="FILE.toml",
        help="per-council rule definitions (default: FRONTDOOR_RULES_CONFIG; none: DfE defaults for every council)",
    )
    parser.add_argument(
        "--window",
        choices=("12m", "365d"),
        default=None,
        help="re-referral look-back for EVERY council and every dated definition, overriding the rules file",
    )


def _rules(args: argparse.Namespace, settings: Settings) -> Rules:
    """The rules for an offline run: the rules file (keeping all history), with --window applied to all."""
    from services.rules_config import RulesConfigError, load_council_rules  # noqa: PLC0415  # TOML only here

    whole_history = RuleConfig(retention_months=None)
    path = args.rules or settings.rules_config
    try:
        rules: Rules = load_council_rules(path, base=whole_history) if path else whole_history
    except RulesConfigError as error:
        raise SystemExit(f"frontdoor {args.command}: {error}") from None
    window = args.window
    if window is None:
        return rules
    if isinstance(rules, RuleConfig):
        return dataclasses.replace(rules, rereferral_window=window)
    return rules.replaced(lambda config: dataclasses.replace(config, rereferral_window=window))


def _compare_rules(args: argparse.Namespace) -> Rules:
    """The second definition for a what-if: the other rules file, keeping all history; --window does not apply."""
    from services.rules_config import RulesConfigError, load_council_rules  # noqa: PLC0415  # TOML only here

    try:
        return load_council_rules(args.compare_rules, base=RuleConfig(retention_months=None))
    except RulesConfigError as error:
        raise SystemExit(f"frontdoor {args.command}: {error}") from None


def _windows(rules: Rules) -> str:
    """The look-back(s) in use, for the report's heading."""
    configs = [rules] if isinstance(rules, RuleConfig) else list(rules.definitions())
    windows = sorted({config.rereferral_window for config in configs})
    return " or ".join(windows) + " look-back" + (", by council" if len(windows) > 1 else "")


def run_report(args: argparse.Namespace) -> int:
    from services.ingest.cin_census import iter_cin_census  # noqa: PLC0415  # lxml is only needed here
    from services.ingest.result import IngestResult  # noqa: PLC0415

    settings = Settings()
    rules = _rules(args, settings)
    if args.by is not None:
        from services.reports.cli_series import run_series_report  # noqa: PLC0415  # --by only

        compare = _compare_rules(args) if args.compare_rules else None
        return run_series_report(args, settings, rules, compare)
    if (
        args.events
        or args.period_start is None
        or args.period_end is None
        or args.format in ("csv", "xlsx", "openmetrics")
    ):
        raise SystemExit(
            "frontdoor report: without --by, give --cin-census, --period-start, --period-end (table, json)"
        )
    if args.compare_rules:
        raise SystemExit("frontdoor report: --compare-rules needs --by")
    if args.no_pseudonymise:
        pseudonymiser = Pseudonymiser(None)
    else:
        # The report prints aggregates only, so a per-run random key is as good as the council's and leaks nothing.
        key = settings.pseudonym_key.get_secret_value().encode() if settings.pseudonym_key else secrets.token_bytes(32)
        pseudonymiser = Pseudonymiser(key)
    engine = Engine(rules)
    result = IngestResult()
    # Streamed in file order: the engine gives the same figures for any arrival order, so nothing is sorted.
    for event in iter_cin_census(args.cin_census, pseudonymiser, result):
        engine.apply(event)
    stats = rereferral_stats(engine.children.values(), args.period_start, args.period_end, rules)
    figures: dict[str, Any] = stats.as_dict() | {"rejected": len(result.rejected)}
    if args.format == "json":
        print(json.dumps(figures | {"period_start": str(args.period_start), "period_end": str(args.period_end)}))
    else:
        _print_table(figures, args, _windows(rules), result.rejected, result.notes)
    return 0


def _print_table(
    figures: dict[str, Any], args: argparse.Namespace, windows: str, rejected: list[Any], notes: list[str]
) -> None:
    print(f"Re-referrals, {args.period_start} to {args.period_end} ({windows})")
    for name, value in figures.items():
        shown = f"{value:.1%}" if name.endswith("rate") else f"{value:,}"
        print(f"  {name.replace('_', ' '):<28}{shown:>12}")
    for reason, count in Counter(r.reason for r in rejected).most_common():
        print(f"  rejected: {count} x {reason}")
    for note in notes:
        print(f"  note: {note}")


def run_replay(args: argparse.Namespace) -> int:
    from services.ingest.jsonl import iter_jsonl  # noqa: PLC0415
    from services.ingest.result import Rejected  # noqa: PLC0415

    rules = _rules(args, Settings())
    if args.jobs > 1:
        return _replay_in_parallel(args, rules)
    engine = Engine(rules)
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
    indicators = snapshot(engine.children.values(), max(days), rules) if days else {}
    (args.out_dir / "indicators.json").write_text(json.dumps(indicators, indent=2, sort_keys=True) + "\n")
    print(
        f"replayed {sum(outcomes.values()) + len(rejected)} lines: {dict(outcomes)}; rejected {len(rejected)}; "
        f"alert messages {dict(alerts)}; wrote {args.out_dir / 'alerts.jsonl'} and {args.out_dir / 'indicators.json'}",
        file=sys.stderr,
    )
    _report_rejections(rejected, args.out_dir)
    return 0


def _report_rejections(rejected: Sequence[Rejected], out_dir: Path, shown: int = 20) -> None:
    """Every rejected line, by file and line number, with its reason to rejected.jsonl; the first ones to stderr."""
    ordered = sorted(rejected, key=lambda r: (r.source, _line_of(r.location), r.location))
    path = out_dir / "rejected.jsonl"
    with path.open("w", encoding="utf-8") as out:
        out.writelines(json.dumps(dataclasses.asdict(r)) + "\n" for r in ordered)
    for rejection in ordered[:shown]:
        print(f"  rejected {rejection.source} {rejection.location}: {rejection.reason}", file=sys.stderr)
    if rejected:
        print(f"  every rejected line, with its reason: {path}", file=sys.stderr)


def _line_of(location: str) -> int:
    number = location.removeprefix("line ")
    return int(number) if number.isdigit() else 0


def _replay_in_parallel(args: argparse.Namespace, rules: Rules) -> int:
    """Councils in parallel processes: the same alerts per child, in the same order, and the same indicators."""
    from services.core.indicators import snapshot_of  # noqa: PLC0415
    from services.reports.history import replay_council_files  # noqa: PLC0415

    replays = replay_council_files([args.events], [rules], jobs=args.jobs, keep_alerts=True)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    outcomes: Counter[str] = Counter()
    with (args.out_dir / "alerts.jsonl").open("wb") as out:
        for replay in replays.values():
            outcomes.update(replay.outcomes)
            out.writelines(message + b"\n" for message in replay.alerts)
    days = [r.last_day for r in replays.values() if r.last_day is not None]
    by_council = {la: r.referrals for la, r in replays.items() if r.referrals}
    indicators = snapshot_of(by_council, max(days)) if days else {}
    (args.out_dir / "indicators.json").write_text(json.dumps(indicators, indent=2, sort_keys=True) + "\n")
    rejected = [rejection for r in replays.values() for rejection in r.rejected]
    alerts = sum(len(r.alerts) for r in replays.values())
    print(
        f"replayed {sum(outcomes.values()) + len(rejected)} lines in {len(replays)} councils, {args.jobs} at a time: "
        f"{dict(outcomes)}; rejected {len(rejected)}; alert messages {alerts}; wrote {args.out_dir}",
        file=sys.stderr,
    )
    _report_rejections(rejected, args.out_dir)
    return 0
