"""Write a benchmark's figures as JSON (for tools) and Markdown (for people), next to the machine facts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_results(figures: dict[str, Any], results_dir: Path) -> tuple[Path, Path]:
    results_dir.mkdir(parents=True, exist_ok=True)
    name = figures["benchmark"]
    json_path, md_path = results_dir / f"{name}.json", results_dir / f"{name}.md"
    json_path.write_text(json.dumps(figures, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")
    md_path.write_text(markdown(figures), encoding="utf-8")
    return json_path, md_path


def markdown(f: dict[str, Any]) -> str:
    h, m, duck = f["history"], f["machine"], f["duckdb"]
    lines = [
        "# Replay and report against DuckDB",
        "",
        _verdict(f),
        "",
        f"Generated history: {h['history_start']} to {h['history_end']}, {h['councils']} councils, "
        f"{h['children']:,} children, {h['referrals']:,} referrals ({h['referral_records']:,} records with "
        f"same-day duplicates), {h['events']:,} canonical events ({_types(h['events_by_type'])}), "
        f"{h['late_events']:,} delivered 1 to 60 days late, {h['census_returns']:,} CIN census returns "
        f"({h['census_episodes']:,} episodes, open ones repeated across years). Seed {h['seed']}. "
        f"Generation took {h['generation_seconds']:,} s.",
        "",
        "| Measure | Seconds | Throughput | Peak RSS (MiB) | Ratio to DuckDB baseline |",
        "|---|---:|---:|---:|---:|",
    ]
    ratios = f["ratios"]
    r = f["replay"]
    what = f"`frontdoor replay` ({r['events']:,} events)"
    if r["returncode"] == 0:
        ratio = ratios["replay_events_per_s / duckdb_rows_per_s"]
        lines.append(
            f"| {what} | {r['seconds']:,} | {r['events_per_second']:,} events/s | {r['peak_rss_mib']:,} | "
            f"{ratio} (events/s ÷ rows/s) |"
        )
    else:
        lines.append(_failed(what, r))
    for name, label in (("report_year", "one reporting year"), ("report_all", "all years")):
        if name not in f:
            continue
        r = f[name]
        what = f"`frontdoor report`, {label} ({r['census_returns']:,} returns, {r['period'][0]} to {r['period'][1]})"
        if r["returncode"] == 0:
            ratio = ratios[f"{name}_seconds / duckdb_seconds"]
            lines.append(f"| {what} | {r['seconds']:,} | | {r['peak_rss_mib']:,} | {ratio} (seconds ÷ seconds) |")
        else:
            lines.append(_failed(what, r))
    for name, label in (
        ("baseline", "DuckDB baseline"),
        ("one_thread", "DuckDB, one thread"),
        ("from_csv", "DuckDB from CSV"),
    ):
        d = duck[name]
        ratio = "1 (the baseline)" if name == "baseline" else round(d["seconds"] / duck["baseline"]["seconds"], 2)
        what = f"{label} ({d['source']}, threads {d['threads']})"
        lines.append(f"| {what} | {d['seconds']:,} | {d['rows_per_second']:,} rows/s | | {ratio} |")
    lines += [
        "",
        "The DuckDB time covers connecting, loading the referral table from the file, flagging every referral "
        "(same-day records collapsed, previous distinct date within 12 calendar months, clamped to month end: "
        f"DuckDB's interval arithmetic clamps: {duck['interval_clamps_to_month_end']}) and the figures for all four "
        "periods, so one baseline serves every ratio. Replay and report are whole commands (start-up, parsing, "
        f"validation, the core, output), each run once under a {f['replay']['memory_limit_gib']} GiB address-space "
        "cap. The machine may be shared: its load average before and after the run is in the machine facts.",
        "",
        "Figures checked equal (referrals, re-referrals, children referred, children re-referred, NFA referrals):",
        "",
        "| Period | Referrals | Re-referrals | Children referred | Children re-referred | NFA referrals |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for period, figures in duck["figures"].items():
        if period != "whole_history_flags":
            row = " | ".join(
                f"{figures[k]:,}"
                for k in ("referrals", "rereferrals", "children_referred", "children_rereferred", "nfa_referrals")
            )
            lines.append(f"| {period} | {row} |")
    lines += [
        "",
        "Replay is checked council by council for the rolling 12 months and the reporting year to date "
        "(including same-day records collapsed), and its alert stream, folded, must leave one standing "
        f"re-referral alert per re-referral in the whole history: {duck['figures']['whole_history_flags']}. "
        "Report is checked on its totals; its census input has one episode per referral date, so it has "
        "no same-day records to collapse.",
        "",
        "## Ratios",
        "",
        *(f"- {k}: {v}" for k, v in ratios.items()),
        "",
        "## Machine",
        "",
        *(f"- {k}: {v}" for k, v in m.items()),
        "",
    ]
    return "\n".join(lines)


def _verdict(f: dict[str, Any]) -> str:
    if f["result"] == "MATCH":
        return "Result: **MATCH**: every figure below is equal between frontdoor and DuckDB."
    if f["result"] == "INCOMPLETE":
        failed = ", ".join(d.split(" failed: ")[0] for d in f["diffs"])
        return f"Result: **INCOMPLETE**: every figure compared is equal, but {failed} failed (see the table)."
    return f"Result: **MISMATCH**: {len(f['diffs'])} differences, listed in the JSON."


def _failed(what: str, run: dict[str, Any]) -> str:
    error = run.get("error", "").strip().splitlines()
    reason = error[-1].replace("|", "/") if error else f"exit code {run['returncode']}"
    if run.get("near_memory_limit"):
        reason += f" (at the {run['memory_limit_gib']} GiB address-space cap)"
    return f"| {what} | failed after {run['seconds']:,}: {reason} | | {run['peak_rss_mib']:,} | |"


def _types(counts: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {t}" for t, n in counts.items())
