"""`python -m bench.processor.compare --before REF`: the processor benchmark for another commit and this checkout,
one after the other in one run, side by side. Writes bench/results/processor_compare.{json,md}.

The other commit runs from a temporary git worktree with this virtualenv, so both use the same libraries, the
same broker and the same machine state; each figure is then read against the other design's from the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.processor.harness import REPO

ROWS: tuple[tuple[str, str], ...] = (
    ("worker events/s (state, changelog, alerts)", "throughput.batched_worker.events_per_second"),
    ("naive faust table agent, events/s", "throughput.naive_faust_table_agent.events_per_second"),
    ("faust counting agent, events/s", "throughput.trivial_faust_counting_agent.events_per_second"),
    ("aiokafka ceiling, events/s", "throughput.aiokafka_consume_and_decode.events_per_second"),
    ("latency p50 ms", "latency.p50_ms"),
    ("latency p99 ms", "latency.p99_ms"),
    ("restart after kill -9, static membership, s (first)", "restart_after_kill.0.seconds_to_first_batch"),
    ("restart after kill -9, dynamic membership, s", "restart_after_kill.-1.seconds_to_first_batch"),
    ("restore records/s", "restore.records_per_second"),
    ("RSS MiB per 100k children, RocksDB", "rss.0.rss_mib_per_100k_children"),
    ("RSS MiB per 100k children, memory", "rss.1.rss_mib_per_100k_children"),
)


def figure(figures: dict[str, Any], path: str) -> Any:
    value: Any = figures
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def run_bench(checkout: Path, results: Path, passed: list[str]) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.processor.run", "--results-dir", str(results), *passed]
    env = {"PYTHONPATH": str(checkout), "FRONTDOOR_PROFILE": "dev"}
    subprocess.run(command, cwd=checkout, env=dict(os.environ) | env, check=True)  # noqa: S603  # our own argv
    loaded: dict[str, Any] = json.loads((results / "processor.json").read_text())
    return loaded


def markdown(before_ref: str, before: dict[str, Any], after: dict[str, Any]) -> str:
    lines = [
        "# Live processor: before and after, one run",
        "",
        f"Before: commit {before['machine']['git_commit'][:12]} ({before_ref}); after: commit "
        f"{after['machine']['git_commit'][:12]}. Same machine, broker and virtualenv, run one after the other; "
        f"feed {after['feed']['events']:,} simulated events.",
        "",
        "| figure | before | after | after / before |",
        "|---|---:|---:|---:|",
    ]
    for label, path in ROWS:
        old, new = figure(before, path), figure(after, path)
        ratio = f"{new / old:.2f}" if isinstance(old, int | float) and old else ""
        lines.append(f"| {label} | {old:,} | {new:,} | {ratio} |")
    m = after["machine"]
    lines += ["", f"Machine: {m['cpu_model']}, {m['nproc']} cores, {m['ram_gib']} GiB, {m['os']}, {m['date_utc']}.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.processor.compare", description=__doc__)
    parser.add_argument("--before", required=True, help="the commit to compare with (e.g. the base of a change)")
    parser.add_argument("--results-dir", type=Path, default=REPO / "bench" / "results")
    args, passed = parser.parse_known_args(argv)  # the rest goes to bench.processor.run, for both
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as scratch:
        tree = Path(scratch) / "before"
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), args.before], cwd=REPO, check=True)  # noqa: S603, S607
        try:
            before = run_bench(tree, Path(scratch) / "before-results", passed)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=REPO, check=False)  # noqa: S603, S607
        after = run_bench(REPO, args.results_dir, passed)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    document = {"before_ref": args.before, "before": before, "after": after}
    (args.results_dir / "processor_compare.json").write_text(json.dumps(document, indent=2, default=str) + "\n")
    text = markdown(args.before, before, after)
    (args.results_dir / "processor_compare.md").write_text(text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
