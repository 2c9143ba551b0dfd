"""How long `frontdoor pack` takes for one council from two years of history (goal: under 10 s), and for Kent.

    .venv/bin/python -m bench.pack_build [--council 344 --council 886] [--results-dir bench/results]

Each council's history is simulated first (`frontdoor simulate --years 2`, after its warm-up year), then the
pack (HTML and Word, with the exception report) is built from it as a separate timed process: wall seconds
and peak memory of `frontdoor pack` alone, end to end (reading, replay, series, suppression, charts, files).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
from pathlib import Path

from bench.measure import machine, timed

FIRST, LAST = "2024-04", "2026-03"
# This checkout's code, not whatever the environment's `frontdoor` script was installed from.
FRONTDOOR = [sys.executable, "-m", "services.cli"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--council", action="append", default=None, help="LA codes (default: 344 and 886)")
    parser.add_argument("--results-dir", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    os.environ.setdefault("FRONTDOOR_PROFILE", "dev")  # synthetic children only
    figures: dict[str, object] = {"machine": machine(), "councils": {}}
    with tempfile.TemporaryDirectory(prefix="bench-pack-") as directory:
        work = Path(directory)
        for la_code in args.council or ["344", "886"]:
            events = work / f"{la_code}.jsonl"
            simulate = [*FRONTDOOR, "simulate", "--council", la_code, "--years", "2", "--seed", "7"]
            timed([*simulate, "--out", str(events)], work / "logs", f"simulate-{la_code}")
            command = [*FRONTDOOR, "pack", "--la-code", la_code, "--events", str(events), "--from", FIRST]
            command += ["--to", LAST, "--out", str(work / "out"), "--exception", "--user", "bench"]
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            run = timed(command, work / "logs", f"pack-{la_code}")
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)  # less load-sensitive
            lines = sum(1 for _ in events.open(encoding="utf-8"))
            figures["councils"][la_code] = {  # type: ignore[index]  # built just above
                "events": lines,
                "pack_seconds": round(run.seconds, 2),
                "pack_cpu_seconds": round(cpu, 2),
                "peak_rss_mib": round(run.peak_rss_mib, 1),
                "returncode": run.returncode,
                "under_10_seconds": run.seconds < 10,
            }
            line = f"council {la_code}: {lines:,} events, pack in {run.seconds:.1f} s ({cpu:.1f} s CPU)"
            line += f", peak {run.peak_rss_mib:.0f} MiB"
            sys.stdout.write(line + "\n")
    args.results_dir.mkdir(parents=True, exist_ok=True)
    (args.results_dir / "pack_build.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
