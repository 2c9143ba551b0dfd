"""`frontdoor pack` (report pack, exception report) and `frontdoor dip-sample`: documents from a council's history."""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import getpass
import json
import os
import re
import secrets
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from services.core.config import RuleConfig
from services.settings import Settings

if TYPE_CHECKING:
    from services.rules_config import CouncilSettings

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _month(text: str) -> str:
    if not MONTH.match(text):
        raise argparse.ArgumentTypeError(f"{text!r}: expected YYYY-MM")
    return text


def _add_input(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--events", nargs="+", type=Path, metavar="FILE.jsonl", help="canonical events")
    source.add_argument("--cin-census", nargs="+", type=Path, metavar="FILE", help="CIN census XML returns")
    parser.add_argument("--la-code", required=True, help="the council's three-digit DfE code")
    parser.add_argument("--rules", type=Path, metavar="FILE.toml", help="rules file (default: FRONTDOOR_RULES_CONFIG)")
    parser.add_argument("--out", type=Path, default=Path(), metavar="DIR", help="where the files go")


def register(subparsers: Any) -> None:
    pack = subparsers.add_parser("pack", help="the scrutiny report pack (HTML and Word), and the exception report")
    _add_input(pack)
    pack.add_argument("--from", dest="first", type=_month, required=True, metavar="YYYY-MM")
    pack.add_argument("--to", dest="last", type=_month, required=True, metavar="YYYY-MM")
    pack.add_argument(
        "--targets",
        type=Path,
        metavar="FILE.toml",
        help="deprecated: the old metrics file's targets (put them in the rules file's [councils.<LA code>.targets])",
    )
    pack.add_argument("--exception", action="store_true", help="also draft the exception report if one is due")
    pack.add_argument("--seed", type=int, default=1, help="the exception report's dip sample seed")
    pack.add_argument("--sample-size", type=int, default=21, help="the exception report's dip sample size")
    pack.add_argument("--user", default=None, help="who draws the exception's dip sample (default: $USER)")
    pack.set_defaults(handler=run_pack)

    sample = subparsers.add_parser("dip-sample", help="draw an audit dip sample of a quarter's re-referrals")
    _add_input(sample)
    sample.add_argument("--quarter", required=True, metavar="YYYY-QN")
    sample.add_argument("--size", type=int, required=True)
    sample.add_argument("--by", choices=("closing-team", "closure-reason", "none"), default="closing-team")
    sample.add_argument("--seed", type=int, required=True)
    sample.add_argument("--user", default=None, help="who draws it, for the audit entry (default: $USER)")
    sample.add_argument(
        "--audit-to-kafka",
        action="store_true",
        help="also send the audit entry to the audit topic (on a secured broker: with the desk's credentials)",
    )
    sample.set_defaults(handler=run_dip_sample)


def _council(args: argparse.Namespace, settings: Settings) -> CouncilSettings | None:
    """The rules file, read once (keeping all history): the definitions and the targets; None without one."""
    from services.rules_config import RulesConfigError, load_council_settings  # noqa: PLC0415  # TOML only here

    path = args.rules or settings.rules_config
    try:
        return load_council_settings(path, base=RuleConfig(retention_months=None)) if path else None
    except RulesConfigError as error:
        raise SystemExit(f"frontdoor {args.command}: {error}") from None


def _series(args: argparse.Namespace, council: CouncilSettings | None, key: bytes | None) -> Any:
    from services.reports.pack_source import council_series, input_lines, replay_one_council  # noqa: PLC0415

    rules = council.rules if council is not None else RuleConfig(retention_months=None)
    lines = input_lines(args.events, args.cin_census, key)
    replay = replay_one_council(lines, args.la_code, rules, key)
    if not replay.events:
        raise SystemExit(f"frontdoor {args.command}: no events of council {args.la_code} in the input")
    return council_series(replay, rules)


def _targets(args: argparse.Namespace, council: CouncilSettings | None) -> dict[str, float | None]:
    """The council's targets from the rules file, as the worker's gauges read them (and `--targets`, deprecated)."""
    from services.council_targets import load_targets  # noqa: PLC0415  # TOML only here
    from services.rules_config import RulesConfigError  # noqa: PLC0415

    try:
        own = load_targets(council, args.targets, "--targets").for_council(args.la_code)
    except RulesConfigError as error:
        raise SystemExit(f"frontdoor {args.command}: {error}") from None
    return {
        "rereferral": own.rereferral_target,
        "contact_to_referral": own.contact_to_referral_target,
        "referral_to_assessment": own.referral_to_assessment_target,
    }


def _user(args: argparse.Namespace) -> str:
    return args.user or os.environ.get("USER") or getpass.getuser()


def run_pack(args: argparse.Namespace) -> int:
    from services.reports import pack_documents  # noqa: PLC0415
    from services.reports.pack_build import build_pack  # noqa: PLC0415

    started = time.perf_counter()
    settings = Settings()
    council = _council(args, settings)
    targets = _targets(args, council)  # before the replay: a refused file stops the command at once
    # Census input is pseudonymised with a per-run key: the pack holds aggregates only.
    series = _series(args, council, secrets.token_bytes(32))
    model = build_pack(series, args.first, args.last, targets)
    args.out.mkdir(parents=True, exist_ok=True)
    written = pack_documents.write_pack(model, args.out)
    if args.exception:
        written += pack_documents.write_exceptions(
            model, series, args.out, seed=args.seed, size=args.sample_size, user=_user(args)
        )
        if not model.red_two_quarters():
            print("no exception report: no indicator with a target is red in the last two complete quarters")
    for path in dict.fromkeys(written):  # the audit file once, however many entries it got
        print(f"wrote {path}")
    print(f"pack for council {args.la_code} built in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


def run_dip_sample(args: argparse.Namespace) -> int:
    from services.reports.dip_audit import append_local, audit_record, publish  # noqa: PLC0415
    from services.reports.dip_sample import draw_dip_sample  # noqa: PLC0415

    settings = Settings()
    key = settings.pseudonym_key_for_council_files() if args.cin_census else None
    series = _series(args, _council(args, settings), key)
    try:
        sample = draw_dip_sample(
            series.rereferrals, args.la_code, args.quarter, size=args.size, by=args.by, seed=args.seed
        )
    except ValueError as error:
        raise SystemExit(f"frontdoor dip-sample: {error}") from None
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"dip-sample-{args.la_code}-{args.quarter}-seed{args.seed}"
    rows = sample.rows()
    with stem.with_suffix(".csv").open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["stratum", "pseudonym"])
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in rows)
    document = {
        "la_code": sample.la_code,
        "quarter": sample.quarter,
        "by": sample.by,
        "seed": sample.seed,
        "size": sample.size,
        "population": sample.population,
        "allocation": sample.allocation,
        "sample": rows,
    }
    stem.with_suffix(".json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    outputs = [stem.with_suffix(".csv").name, stem.with_suffix(".json").name]
    record = audit_record(sample, _user(args), dt.datetime.now(dt.UTC), outputs)
    audit = append_local(args.out, record)
    if args.audit_to_kafka:
        from schemas.topics import AUDIT  # noqa: PLC0415

        asyncio.run(publish(settings, record, AUDIT.name))
    where = f"{audit}" + (" and the audit topic" if args.audit_to_kafka else "")
    print(f"drew {len(sample.drawn)} of {sum(sample.population.values())} re-referrals: {sample.allocation}")
    print(f"wrote {stem}.csv and .json; audit entry in {where}")
    return 0
