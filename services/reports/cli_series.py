"""`frontdoor report --by month|quarter|year`: read the history, replay councils in parallel, print the series."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

from schemas.codec import encode
from services.core.config import Rules
from services.ingest.identity import Pseudonymiser
from services.metrics.backfill import openmetrics
from services.reports.formats import summary_lines, write_csv, write_xlsx
from services.reports.history import CouncilReplay, replay_council_files, replay_councils
from services.reports.series_report import council_months, series_document
from services.settings import Settings


def _census_lines(paths: list[Path], pseudonymiser: Pseudonymiser) -> Iterator[bytes]:
    from services.ingest.cin_census import iter_cin_census  # noqa: PLC0415  # lxml is only needed here
    from services.ingest.result import IngestResult  # noqa: PLC0415

    for event in iter_cin_census(paths, pseudonymiser, IngestResult()):
        yield encode(event)


def _neighbours(args: argparse.Namespace, settings: Settings) -> dict[str, tuple[str, ...]]:
    """The councils whose `statistical_neighbours` the rules file sets (the others follow DfE's model)."""
    from services.rules_config import load_council_settings  # noqa: PLC0415  # TOML only here

    path = args.rules or settings.rules_config
    councils = load_council_settings(path).targets.councils if path else {}
    return {la: targets.neighbours for la, targets in councils.items() if targets.neighbours}


def _replays(args: argparse.Namespace, definitions: list[Rules], key: bytes) -> dict[str, CouncilReplay]:
    """Events files are split by council in parallel byte ranges; census returns are read into events first."""
    jobs = args.jobs or os.cpu_count() or 1
    if args.events:
        return replay_council_files(args.events, definitions, jobs=jobs, pseudonym_key=key)
    lines = _census_lines(args.cin_census, Pseudonymiser(key))
    return replay_councils(lines, definitions, jobs=jobs, pseudonym_key=key)


def run_series_report(args: argparse.Namespace, settings: Settings, rules: Rules, compare: Rules | None) -> int:
    if args.format == "xlsx" and args.output is None:
        raise SystemExit("frontdoor report: --format xlsx needs --output FILE.xlsx")
    if args.format == "openmetrics" and args.by != "month":
        raise SystemExit("frontdoor report: --format openmetrics needs --by month (one sample per month end)")
    # Aggregates only leave this command, so a per-run random key is as good as the council's and leaks nothing.
    key = settings.pseudonym_key.get_secret_value().encode() if settings.pseudonym_key else secrets.token_bytes(32)
    definitions = [rules] if compare is None else [rules, compare]
    replays = _replays(args, definitions, key)
    label = str(args.compare_rules) if compare is not None else None
    document = series_document(replays, args.by, _neighbours(args, settings), label)
    for replay in replays.values():
        for rejection in replay.rejected[:20]:
            where = f"{rejection.source} {rejection.location} (council {replay.la_code})"
            print(f"  rejected {where}: {rejection.reason}", file=sys.stderr)
    if args.format == "xlsx":
        write_xlsx(document, args.output)
        return 0
    out = args.output.open("w", encoding="utf-8", newline="") if args.output else sys.stdout
    try:
        if args.format == "json":
            out.write(json.dumps(document) + "\n")
        elif args.format == "csv":
            write_csv(document, out)
        elif args.format == "openmetrics":
            out.write(openmetrics(council_months(document), complete_before=dt.datetime.now(dt.UTC)))
        else:
            out.write("\n".join(summary_lines(document)) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    return 0
