"""Benchmark: `frontdoor report --by month` on the 10-year, 153-council history, against DuckDB's C1 monthly flags.

One run reuses (or generates) the history of bench/history.py, times DuckDB flagging every referral and counting
each council's months (three times, the median counts), times `report --by month --jobs N` once, checks that both
give the same referrals, re-referrals, children referred and re-referred and NFA referrals for every council and
month, and writes bench/results/series_vs_duckdb.{json,md}: seconds, events/s, the ratio to DuckDB, the peak
memory of report's whole process tree, and the machine with its load average at the start and the end.

Run: python -m bench.series_vs_duckdb [--referrals 200000 --results-dir /tmp/r]   (`make bench-series`)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

from bench import duckdb_baseline
from bench.duckdb_baseline import FIELDS, Monthly
from bench.history import WORK_DIR
from bench.measure import REPO, machine, timed, timed_tree

REPEATS = 3
TARGET_RATIO = 10.0  # issue 14: report --by month within 10x DuckDB's time
TARGET_PEAK_MIB = 4 * 1024  # and under 4 GB


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def history(work: Path, referrals: int, seed: int) -> dict[str, Any]:
    """The cached history if its manifest matches, else a new one (bench/history.py), with how long that took."""
    manifest_path = work / "manifest.json"
    if manifest_path.exists():
        manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
        files = [Path(f) for f in manifest["files"].values() if f]
        if manifest["referrals"] == referrals and manifest["seed"] == seed and all(f.exists() for f in files):
            _say(f"reusing the history in {work}")
            return manifest | {"reused": True}
    _say(f"generating {referrals:,} referrals in {work} ...")
    command = [sys.executable, "-m", "bench.history", "--out", str(work), "--seed", str(seed)]
    run = timed([*command, "--referrals", str(referrals)], work / "logs", "generate")
    if run.returncode != 0:
        raise SystemExit(f"generation failed:\n{run.stderr_tail()}")
    return json.loads(run.stdout_text()) | {"reused": False, "generation_seconds": round(run.seconds, 1)}


def baseline(manifest: dict[str, Any]) -> tuple[Monthly, dict[str, Any]]:
    files = manifest["files"]
    table = Path(files["referrals_parquet"] or files["referrals_csv"])
    runs = [duckdb_baseline.monthly(table) for _ in range(REPEATS)]
    seconds = statistics.median(r.seconds for r in runs)
    figures = {
        "source": table.name,
        "threads": "default",
        "seconds": round(seconds, 3),
        "runs_seconds": [round(r.seconds, 3) for r in runs],
        "rows": runs[0].rows,
        "rows_per_second": round(runs[0].rows / seconds),
        "council_months": len(runs[0].figures),
        "runs_agree": all(r.figures == runs[0].figures for r in runs),
    }
    return runs[0], figures


def report(manifest: dict[str, Any], work: Path, jobs: int, memory_limit_gib: float) -> tuple[Path, dict[str, Any]]:
    """`frontdoor report --by month` on the events, as `python -m services.cli` of this checkout."""
    out = work / "series.json"
    command = [sys.executable, "-m", "services.cli", "report", "--events", manifest["files"]["events"]]
    command += ["--by", "month", "--format", "json", "--jobs", str(jobs), "--output", str(out)]
    tree = timed_tree(command, work / "logs", "report-by-month", memory_limit_gib)
    run, events = tree.run, manifest["events"]
    figures: dict[str, Any] = {
        "command": " ".join(["frontdoor", *command[3:]]),
        "jobs": jobs,
        "events": events,
        "seconds": round(run.seconds, 1),
        "events_per_second": round(events / run.seconds),
        "cpu_seconds": round(tree.cpu_seconds, 1),
        "peak_rss_tree_mib": round(tree.peak_tree_rss_mib),
        "peak_rss_largest_process_mib": round(run.peak_rss_mib),
        "memory_limit_gib": memory_limit_gib,
        "returncode": run.returncode,
        "code": run.code,
    }
    if run.returncode != 0:
        figures["error"] = run.stderr_tail(5)
    return out, figures


FLOOR_STAGES = {
    "split": "splitting the events by council only",
    "validate": "splitting, then validating every event into its model (the core left out)",
}


def floor(manifest: dict[str, Any], work: Path, jobs: int) -> dict[str, Any]:
    """The report's first stages alone (bench/series_floor.py), timed as the report is: what the core adds to."""
    figures: dict[str, Any] = {}
    for stage in FLOOR_STAGES:
        command = [sys.executable, "-m", "bench.series_floor", "--events", manifest["files"]["events"]]
        tree = timed_tree([*command, "--jobs", str(jobs), "--stage", stage], work / "logs", f"floor-{stage}")
        run = tree.run
        figures[stage] = {
            "seconds": round(run.seconds, 1),
            "cpu_seconds": round(tree.cpu_seconds, 1),
            "peak_rss_tree_mib": round(tree.peak_tree_rss_mib),
            "returncode": run.returncode,
            "output": json.loads(run.stdout_text()) if run.returncode == 0 else run.stderr_tail(5),
        }
    return figures


def compare(document: dict[str, Any], duck: Monthly) -> list[str]:
    """Every council-month's five C1 figures, report against DuckDB; a month with no referrals counts as zeros."""
    ours = {(str(r["la_code"]), str(r["month"])): {f: int(r[f]) for f in FIELDS} for r in document["months"]}
    diffs = []
    for key in sorted(set(ours) | set(duck.figures)):
        mine, theirs = ours.get(key, dict.fromkeys(FIELDS, 0)), duck.figures.get(key, dict.fromkeys(FIELDS, 0))
        if mine != theirs:
            diffs.append(f"{key[0]} {key[1]}: report {mine} duckdb {theirs}")
    return diffs


def run_all(args: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, Any] = {"benchmark": "series_vs_duckdb", "machine": machine()}
    manifest = history(args.work_dir, args.referrals, args.seed)
    figures["history"] = {k: v for k, v in manifest.items() if k != "files"}
    _say("duckdb, C1 monthly flags ...")
    duck, figures["duckdb"] = baseline(manifest)
    _say(f"  {figures['duckdb']['seconds']} s (median of {REPEATS})")
    _say(f"frontdoor report --by month --jobs {args.jobs} ...")
    out, figures["report"] = report(manifest, args.work_dir, args.jobs, args.memory_limit_gib)
    r = figures["report"]
    _say(f"  {r['seconds']} s, peak RSS of the process tree {r['peak_rss_tree_mib']} MiB")
    diffs = [f"report failed: {r.get('error')}"] if r["returncode"] != 0 else []
    if r["returncode"] == 0:
        diffs += compare(json.loads(out.read_text(encoding="utf-8")), duck)
    ratio = round(r["seconds"] / figures["duckdb"]["seconds"], 1)
    figures["ratio_report_seconds_to_duckdb_seconds"] = ratio
    _say("the report's first stages alone (split; split and validate) ...")
    figures["floor"] = floor(manifest, args.work_dir, args.jobs)
    for stage, stage_figures in figures["floor"].items():
        stage_figures["ratio_to_duckdb"] = round(stage_figures["seconds"] / figures["duckdb"]["seconds"], 1)
        _say(f"  {stage}: {stage_figures['seconds']} s")
    matched = not diffs  # a failed or wrong run meets no goal, however fast
    figures["goals"] = {
        f"within {TARGET_RATIO:g}x DuckDB": matched and ratio <= TARGET_RATIO,
        "peak memory under 4 GB": matched and r["peak_rss_tree_mib"] < TARGET_PEAK_MIB,
    }
    figures["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    figures["diffs"] = diffs[:50]
    figures["differences"] = len(diffs)
    figures["result"] = "MATCH" if not diffs else "MISMATCH"
    return figures


def markdown(f: dict[str, Any]) -> str:
    h, d, r, m = f["history"], f["duckdb"], f["report"], f["machine"]
    source = "reused from an earlier run" if h.get("reused") else f"generated in {h.get('generation_seconds')} s"
    return "\n".join(
        [
            "# report --by month against DuckDB's C1 monthly flags",
            "",
            f"Result: **{f['result']}** ({f['differences']} council-months differ in referrals, re-referrals, "
            "children referred, children re-referred or NFA referrals).",
            "",
            f"History: {h['history_start']} to {h['history_end']}, {h['councils']} councils, {h['events']:,} "
            f"canonical events, {h['referrals']:,} referrals, {h['children']:,} children, seed {h['seed']} "
            f"({source}).",
            "",
            "| Measure | Seconds | Throughput | CPU seconds | Peak RSS, whole process tree (MiB) | Ratio |",
            "|---|---:|---:|---:|---:|---:|",
            f"| `frontdoor report --by month --jobs {r['jobs']}` | {r['seconds']:,} | {r['events_per_second']:,} "
            f"events/s | {r['cpu_seconds']:,} | {r['peak_rss_tree_mib']:,} | "
            f"{f['ratio_report_seconds_to_duckdb_seconds']} |",
            f"| DuckDB C1 monthly flags ({d['source']}, median of {len(d['runs_seconds'])}) | {d['seconds']:,} | "
            f"{d['rows_per_second']:,} rows/s | | | 1 |",
            *(
                f"| {FLOOR_STAGES[stage]} | {s['seconds']:,} | | "
                f"{s['cpu_seconds']:,} | {s['peak_rss_tree_mib']:,} | {s['ratio_to_duckdb']} |"
                for stage, s in f.get("floor", {}).items()
            ),
            "",
            *(f"- Goal {goal}: {'met' if met else 'NOT met'}" for goal, met in f["goals"].items()),
            "",
            "DuckDB's time runs from connecting to the last row: loading the referral table, flagging every "
            "referral (same-day records collapsed, previous date within 12 calendar months) and counting each "
            "council's months. The report is the whole command (start-up, splitting the events by council, "
            "validating every event, every council's histories through the core in parallel, every series key "
            "with its benchmarks, the JSON). The last two rows run the report's first stages alone "
            "(bench/series_floor.py): no change to the core can make the report faster than them. Peak memory "
            "is the largest sum of the RSS of the command and its worker processes, sampled every 0.2 s. "
            "The machine is shared with other work: see the load averages.",
            "",
            "## Machine",
            "",
            *(f"- {k}: {v}" for k, v in m.items()),
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.series_vs_duckdb", description=__doc__.splitlines()[0])
    parser.add_argument("--referrals", type=int, default=5_000_000)
    parser.add_argument("--seed", type=int, default=20250331)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--work-dir", type=Path, default=WORK_DIR, help="the history (reused when it matches)")
    parser.add_argument("--results-dir", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--memory-limit-gib", type=float, default=16.0, help="address-space cap for each process")
    args = parser.parse_args(argv)
    figures = run_all(args)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    json_path = args.results_dir / "series_vs_duckdb.json"
    md_path = args.results_dir / "series_vs_duckdb.md"
    json_path.write_text(json.dumps(figures, indent=2, default=str) + "\n", encoding="utf-8")
    md_path.write_text(markdown(figures), encoding="utf-8")
    _say(md_path.read_text(encoding="utf-8"))
    for diff in figures["diffs"]:
        _say(f"DIFF {diff}")
    return 0 if figures["result"] == "MATCH" else 1


if __name__ == "__main__":
    sys.exit(main())
