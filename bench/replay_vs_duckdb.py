"""Benchmark: `frontdoor replay` and `frontdoor report` on a generated 10-year history, against DuckDB.

One run generates the history, times replay (events/s) and report (seconds), times a DuckDB query that
computes the same C1 figures from the referral table, checks that every figure is equal, and writes
bench/results/replay_vs_duckdb.{json,md} with each figure as a ratio against DuckDB and the machine it ran on.

Run: python -m bench.replay_vs_duckdb [--referrals 200000]   (default 5,000,000; `make bench` runs it)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

from bench import duckdb_baseline
from bench.checks import check_replay_indicators, compare, fold_alerts
from bench.duckdb_baseline import FIELDS, Baseline, Period
from bench.history import WORK_DIR
from bench.measure import REPO, Run, frontdoor, machine, timed
from bench.results import write_results

REPEATS = 3  # DuckDB runs take seconds, so each is repeated and the median kept; the commands run once


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def minus_months(day: dt.date, months: int) -> dt.date:
    """Calendar months back, clamped to month end; written again here so the bench does not trust the core."""
    total = day.year * 12 + day.month - 1 - months
    year, month = divmod(total, 12)
    following = dt.date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
    return dt.date(year, month + 1, min(day.day, (following - dt.timedelta(days=1)).day))


def periods_for(manifest: dict[str, Any], as_of: dt.date) -> list[Period]:
    """The two periods of replay's snapshot at `as_of`, and the two that report is asked for."""
    end = dt.date.fromisoformat(manifest["history_end"])
    return [
        Period("rolling_12_months", minus_months(as_of, 12) + dt.timedelta(days=1), as_of),
        Period("reporting_year_to_date", dt.date(as_of.year if as_of.month >= 4 else as_of.year - 1, 4, 1), as_of),
        Period("report_year", dt.date(end.year - 1, 4, 1), end),
        Period("report_all", dt.date.fromisoformat(manifest["history_start"]), end),
    ]


def command_figures(run: Run, memory_limit_gib: float) -> dict[str, Any]:
    found: dict[str, Any] = {
        "seconds": round(run.seconds, 1),
        "peak_rss_mib": round(run.peak_rss_mib),
        "returncode": run.returncode,
        "memory_limit_gib": memory_limit_gib,
        "code": run.code,
    }
    if run.peak_rss_mib > 0.9 * memory_limit_gib * 1024:
        # Near the cap an allocation can fail anywhere, e.g. inside lxml, which the census reader would report
        # as a malformed file: figures from such a run are not to be trusted whatever they say.
        found["near_memory_limit"] = True
    if run.returncode != 0:
        found["error"] = run.stderr_tail(5)
    return found


class Bench:
    """One run: every command timed, the baseline timed, and every figure compared."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work: Path = args.work_dir
        self.logs = self.work / "logs"
        self.figures: dict[str, Any] = {"benchmark": "replay_vs_duckdb", "machine": machine(), "diffs": []}
        self.manifest: dict[str, Any] = {}

    def generate(self) -> None:
        _say(f"generating {self.args.referrals:,} referrals in {self.work} ...")
        command = [sys.executable, "-m", "bench.history", "--out", str(self.work), "--seed", str(self.args.seed)]
        run = timed([*command, "--referrals", str(self.args.referrals)], self.logs, "generate")
        if run.returncode != 0:
            raise SystemExit(f"generation failed:\n{run.stderr_tail()}")
        self.manifest = json.loads(run.stdout_text())
        self.figures["history"] = self.manifest | {
            "generation_seconds": round(run.seconds, 1),
            "generation_peak_rss_mib": round(run.peak_rss_mib),
        }
        _say(f"  {self.manifest['events']:,} events, {self.manifest['census_returns']} returns in {run.seconds:.0f}s")

    def replay(self, name: str = "replay") -> dict[str, Any] | None:
        """`frontdoor replay` on the events, then its alert stream folded into the alerts standing at the end."""
        _say(f"frontdoor {name} ...")
        out = self.work / name
        command = [*frontdoor(), "replay", "--events", self.manifest["files"]["events"], "--out-dir", str(out)]
        run = timed(command, self.logs, name, self.args.memory_limit_gib)
        count = self.manifest["events"]
        self.figures[name] = command_figures(run, self.args.memory_limit_gib) | {"events": count}
        if run.returncode != 0:
            return None
        self.figures[name]["events_per_second"] = round(count / run.seconds)
        indicators: dict[str, Any] = json.loads((out / "indicators.json").read_text(encoding="utf-8"))
        standing, seconds = fold_alerts(out / "alerts.jsonl")
        self.figures[name] |= {"standing_alerts": standing, "alert_fold_seconds": round(seconds, 1)}
        return indicators

    def report(self, period: Period) -> dict[str, Any] | None:
        census = Path(self.manifest["files"]["census_dir"])
        # One reporting year needs the year before too: the 12-month look-back crosses the period start.
        years = self.manifest["census_years"][-2:] if period.name == "report_year" else ["*"]
        files = sorted(f for year in years for f in census.glob(f"{year}/*.xml"))
        _say(f"frontdoor report, {len(files)} census returns, {period.start} to {period.end} ...")
        command = [*frontdoor(), "report", "--cin-census", *map(str, files), "--format", "json"]
        command += ["--period-start", str(period.start), "--period-end", str(period.end)]
        run = timed(command, self.logs, period.name, self.args.memory_limit_gib)
        output = json.loads(run.stdout_text()) if run.returncode == 0 else None
        self.figures[period.name] = command_figures(run, self.args.memory_limit_gib) | {
            "census_returns": len(files),
            "period": [str(period.start), str(period.end)],
            "output": output,
        }
        return output

    def baseline(self, periods: list[Period]) -> Baseline:
        """Each DuckDB variant REPEATS times, in turn; the median time counts, and every run must agree."""
        _say("duckdb ...")
        files = self.manifest["files"]
        table, csv = Path(files["referrals_parquet"] or files["referrals_csv"]), Path(files["referrals_csv"])
        variants = {"baseline": (table, None), "one_thread": (table, 1), "from_csv": (csv, None)}
        runs: dict[str, list[Baseline]] = {name: [] for name in variants}
        for _ in range(REPEATS):
            for name, (path, threads) in variants.items():
                runs[name].append(duckdb_baseline.run(path, periods, threads))
        base = runs["baseline"][0]
        self.figures["duckdb"] = {}
        for name, (path, threads) in variants.items():
            seconds = statistics.median(b.seconds for b in runs[name])
            self.figures["duckdb"][name] = {
                "source": path.name,
                "threads": threads or "default",
                "seconds": round(seconds, 3),
                "runs_seconds": [round(b.seconds, 3) for b in runs[name]],
                "rows": base.rows,
                "rows_per_second": round(base.rows / seconds),
            }
        self.figures["duckdb"] |= {
            "interval_clamps_to_month_end": duckdb_baseline.interval_clamps_to_month_end(),
            "figures": {p.name: base.totals(p.name) for p in periods} | {"whole_history_flags": base.whole_history},
        }
        every = [b for bs in runs.values() for b in bs]
        if any(b.by_council != base.by_council or b.whole_history != base.whole_history for b in every):
            self.figures["diffs"].append("the DuckDB runs disagree with each other")
        return base

    def ratios(self) -> dict[str, float]:
        """Each command's figure against the DuckDB baseline (and replay also against DuckDB on one thread)."""
        duck, replay = self.figures["duckdb"], self.figures["replay"]
        ratios: dict[str, float] = {}
        if replay["returncode"] == 0:
            eps = replay["events_per_second"]
            ratios["replay_events_per_s / duckdb_rows_per_s"] = round(eps / duck["baseline"]["rows_per_second"], 5)
            ratios["replay_events_per_s / duckdb_one_thread_rows_per_s"] = round(
                eps / duck["one_thread"]["rows_per_second"], 5
            )
            ratios["replay_seconds / duckdb_seconds"] = round(replay["seconds"] / duck["baseline"]["seconds"], 1)
        for name in ("report_year", "report_all"):
            if self.figures.get(name, {}).get("returncode") == 0:
                ratios[f"{name}_seconds / duckdb_seconds"] = round(
                    self.figures[name]["seconds"] / duck["baseline"]["seconds"], 1
                )
        return ratios


def run_all(args: argparse.Namespace) -> dict[str, Any]:
    bench = Bench(args)
    bench.generate()
    replays = {"replay": bench.replay()}
    last_day = bench.manifest["last_event_day"]
    snapshots = [i for i in replays.values() if i]
    as_of = dt.date.fromisoformat(next(iter(snapshots[0].values()))["as_of"] if snapshots else last_day)
    periods = periods_for(bench.manifest, as_of)
    reports = {p.name: bench.report(p) for p in periods[2:] if not (args.skip_report_all and p.name == "report_all")}
    base = bench.baseline(periods)
    figures, diffs = bench.figures, bench.figures["diffs"]
    if as_of.isoformat() != last_day:
        diffs.append(f"replay as_of {as_of} is not the last event day {last_day}")
    for name, indicators in replays.items():
        if indicators is None:
            diffs.append(f"{name} failed: {figures[name]['error']}")
            continue
        diffs += check_replay_indicators(name, indicators, base)
        standing = figures[name]["standing_alerts"]
        diffs += compare(f"{name} standing alerts", standing, base.whole_history, tuple(base.whole_history))
    for name, output in reports.items():
        if output is None:
            diffs.append(f"{name} failed: {figures[name]['error']}")
        else:
            diffs += compare(name, output, base.totals(name), FIELDS)
            diffs += [f"{name}: {output['rejected']} census records rejected"] if output.get("rejected") else []
    figures["ratios"] = bench.ratios()
    figures["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    figures["result"] = outcome(diffs)
    return figures


def outcome(diffs: list[str]) -> str:
    """MATCH: every figure equal. INCOMPLETE: a command failed, the figures compared are equal. MISMATCH."""
    if not diffs:
        return "MATCH"
    return "INCOMPLETE" if all(" failed: " in d for d in diffs) else "MISMATCH"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.replay_vs_duckdb", description=__doc__.splitlines()[0])
    parser.add_argument("--referrals", type=int, default=5_000_000)
    parser.add_argument("--seed", type=int, default=20250331)
    parser.add_argument("--work-dir", type=Path, default=WORK_DIR, help="generated files (large)")
    parser.add_argument("--results-dir", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--skip-report-all", action="store_true", help="report one reporting year only")
    parser.add_argument(
        "--memory-limit-gib", type=float, default=16.0, help="address-space cap for each frontdoor command"
    )
    args = parser.parse_args(argv)
    figures = run_all(args)
    json_path, md_path = write_results(figures, args.results_dir)
    _say(md_path.read_text(encoding="utf-8"))
    _say(f"wrote {json_path} and {md_path}")
    for diff in figures["diffs"][:50]:
        _say(f"DIFF {diff}")
    _say(figures["result"])
    return 0 if figures["result"] == "MATCH" else 1


if __name__ == "__main__":
    sys.exit(main())
