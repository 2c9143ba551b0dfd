"""What `report --by month` costs before any definition runs: splitting the events by council, then validating them.

The same functions as the report (services.reports.split, services.ingest.jsonl.iter_jsonl), the same processes
(`--jobs`), with the core left out: the events are split, read back and validated into the schemas' models, and
only counted. `--stage split` stops after the split. The bench runs this beside the report so its note can say how
much of the report's time no change to the core can win back.

Run: python -m bench.series_floor --events events.jsonl --jobs 2 [--stage split|validate]  (prints one JSON object)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from services.ingest.jsonl import iter_jsonl
from services.ingest.result import Rejected
from services.reports.split import CouncilLines, split_files_by_council


def validated(parts: Sequence[CouncilLines]) -> tuple[int, int]:
    """(events validated, lines rejected) of one council's files, in order, as the report's replay reads them."""
    events = rejected = 0
    for part in parts:
        for item in iter_jsonl(part.path, None, source=part.source, line_number=part.line_number):
            if isinstance(item, Rejected):
                rejected += 1
            else:
                events += 1
    return events, rejected


def floor(events: Path, jobs: int, stage: str) -> dict[str, int | str]:
    with tempfile.TemporaryDirectory(prefix="frontdoor-floor-") as directory:
        parts = split_files_by_council([events], Path(directory), jobs)
        figures: dict[str, int | str] = {"stage": stage, "councils": len(parts), "jobs": jobs}
        if stage == "split":
            return figures
        ordered = sorted(parts.values(), key=lambda parts: -sum(p.path.stat().st_size for p in parts))  # as the report
        with ProcessPoolExecutor(max_workers=max(1, min(jobs, len(ordered)))) as pool:
            counts = list(pool.map(validated, ordered))
    figures["events"] = sum(e for e, _ in counts)
    figures["rejected"] = sum(r for _, r in counts)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.series_floor", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=Path, required=True)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--stage", choices=("split", "validate"), default="validate")
    args = parser.parse_args(argv)
    sys.stdout.write(json.dumps(floor(args.events, args.jobs, args.stage)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
