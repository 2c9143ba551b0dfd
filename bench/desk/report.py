"""The desk benchmark's figures as JSON (for tools) and Markdown (for people)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

GOAL_SECONDS = 1.0
PAGES = {
    "feed_first_page": "Feed, first page (newest open alerts)",
    "feed_filtered_page": "Feed, filtered (severity, rule, team, dates)",
    "search_by_la_child_id": "Search by the council's child id (POST, redirect, results)",
    "child_timeline": "Child timeline (busiest children)",
}


def write(figures: dict[str, Any], results_dir: Path) -> tuple[Path, Path]:
    results_dir.mkdir(parents=True, exist_ok=True)
    name = figures["benchmark"]
    json_path, md_path = results_dir / f"{name}.json", results_dir / f"{name}.md"
    json_path.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    md_path.write_text(markdown(figures), encoding="utf-8")
    return json_path, md_path


def markdown(f: dict[str, Any]) -> str:
    m, desk, pages, given = f["machine"], f["desk"], f["pages"], f["input"]
    rate = (given["alerts"] + given["events"]) / desk["cold_start_to_caught_up_seconds"]
    rows = [
        f"| {label} | {pages[key]['p50_seconds']:.3f} | {pages[key]['p95_seconds']:.3f} | "
        f"{pages[key]['max_seconds']:.3f} | {pages[key]['samples']} | "
        f"{'yes' if pages[key]['p95_seconds'] < GOAL_SECONDS else 'NO'} |"
        for key, label in PAGES.items()
    ]
    return "\n".join(
        [
            f"# Alert desk with {desk['alerts']:,} alerts ({f['database']})",
            "",
            f"Machine: {m['cpu_model']}, {m['nproc']} cores, {m['ram_gib']} GiB RAM, {m['os']}, "
            f"Python {m['python']}; load average at start {m['load_average_at_start']} (the machine is shared). "
            f"Commit {str(m.get('git_commit', '?'))[:12]}{' (with local changes)' if m.get('git_modified') else ''}, "
            f"{m['date_utc']}.",
            "",
            f"Input: {given['alerts']:,} alert messages and {given['events']:,} events published to this run's topics "
            f"in {given['publish_seconds']} s (`frontdoor simulate --council 886` then `frontdoor replay`).",
            "",
            "## Cold start (`frontdoor alertdesk serve --rebuild`, projection rebuilt from the topics)",
            "",
            f"- first HTTP answer: {desk['answered_seconds']} s; caught up with every topic: "
            f"**{desk['cold_start_to_caught_up_seconds']} s**",
            f"- throughput of the rebuild: {rate:,.0f} messages/s in one process (the events, for the timelines, are "
            f"{given['events'] / (given['alerts'] + given['events']):.0%} of the messages)",
            f"- resident memory after the rebuild: **{desk['after_rebuild']['rss_mib']} MiB** "
            f"(peak {desk['after_rebuild']['peak_rss_mib']} MiB); after the page measurements: "
            f"{desk['after_measurements']['rss_mib']} MiB",
            "",
            f"## Page loads in headless Chromium (goal: p95 < {GOAL_SECONDS:.0f} s)",
            "",
            "Each sample is the browser's Navigation Timing `loadEventEnd` (request start to page loaded), after one "
            "warm-up load. The feed's first page has "
            f"{pages['first_page_cards']} cards ({pages['first_page_bytes']:,} bytes).",
            "",
            "| Page | p50 (s) | p95 (s) | max (s) | samples | p95 under goal |",
            "|---|---:|---:|---:|---:|---|",
            *rows,
            "",
            *([f"Note: {f['note']}", ""] if f.get("note") else []),
            "Re-run: `python -m bench.desk.run --events history.jsonl --alerts out/alerts.jsonl "
            "[--database postgresql]` (see bench/README.md).",
            "",
        ]
    )
