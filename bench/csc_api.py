"""DfE CSC API records through the door without Kafka: records per second of pseudonymise + merge + translate.

    .venv/bin/python -m bench.csc_api [--council 886] [--days 30] [--results-dir bench/results]

A sender's records are simulated first (`frontdoor simulate --format dfe-csc-api`: the full cohort, then --days
days of deltas and purges), then `frontdoor ingest --format dfe-csc-api --to jsonl` reads them as a separate
timed process (wall seconds and peak memory, start-up included). The receiver's end-to-end figure (HTTP, OAuth2,
publishing to Kafka) is its own bench; this one is the share of it that the translator costs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import secrets
import sys
import tempfile
from pathlib import Path

from bench.measure import machine, timed

FRONTDOOR = [sys.executable, "-m", "services.cli"]  # this checkout's code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--council", default="886")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--results-dir", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    os.environ.setdefault("FRONTDOOR_PROFILE", "dev")  # synthetic children only
    os.environ.setdefault("FRONTDOOR_PSEUDONYM_KEY", secrets.token_hex(32))
    figures: dict[str, object] = {"machine": machine(), "council": args.council, "days": args.days}
    with tempfile.TemporaryDirectory(prefix="bench-csc-api-") as directory:
        work = Path(directory)
        records, events = work / "records.jsonl", work / "events.jsonl"
        simulate = [*FRONTDOOR, "simulate", "--format", "dfe-csc-api", "--council", args.council]
        made = timed([*simulate, "--days", str(args.days), "--seed", "7", "--out", str(records)], work, "simulate")
        cohort = _cohort_size(made.stderr.read_text(encoding="utf-8"))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        ingest = [*FRONTDOOR, "ingest", str(records), "--format", "dfe-csc-api", "--to", "jsonl", "--out", str(events)]
        run = timed(ingest, work, "ingest")
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        sent = sum(1 for _ in records.open(encoding="utf-8"))
        made_events = sum(1 for _ in events.open(encoding="utf-8"))
        figures |= {
            "cohort_children": cohort,
            "records": sent,
            "record_bytes": records.stat().st_size,
            "events": made_events,
            "simulate_seconds": round(made.seconds, 2),
            "ingest_seconds": round(run.seconds, 2),
            "ingest_cpu_seconds": round(cpu, 2),
            "records_per_second": round(sent / run.seconds, 1),
            "peak_rss_mib": round(run.peak_rss_mib, 1),
            "returncode": run.returncode,
            "stderr_tail": run.stderr_tail(3),
        }
    figures["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]  # type: ignore[index]  # built above
    line = f"council {args.council}: cohort {cohort:,} children, {sent:,} records ({args.days} days)"
    line += f", {made_events:,} events; door {run.seconds:.1f} s ({cpu:.1f} s CPU)"
    line += f" = {sent / run.seconds:,.0f} records/s, peak {run.peak_rss_mib:.0f} MiB"
    sys.stdout.write(line + "\n")
    args.results_dir.mkdir(parents=True, exist_ok=True)
    (args.results_dir / "csc_api.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0 if run.returncode == 0 else 1


def _cohort_size(stderr: str) -> int:
    """The simulator says how many children its first (full) send held."""
    match = re.search(r"full cohort on \S+: (\d+) children", stderr)
    return int(match.group(1)) if match else -1


if __name__ == "__main__":
    raise SystemExit(main())
