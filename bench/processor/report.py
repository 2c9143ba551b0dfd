"""The processor benchmark's figures as JSON (for tools) and Markdown (for people), with the machine facts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write(figures: dict[str, Any], results_dir: Path) -> tuple[Path, Path]:
    results_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = results_dir / "processor.json", results_dir / "processor.md"
    json_path.write_text(json.dumps(figures, indent=2, default=str) + "\n", encoding="utf-8")
    md_path.write_text(markdown(figures), encoding="utf-8")
    return json_path, md_path


def markdown(f: dict[str, Any]) -> str:
    t, m, feed = f["throughput"], f["machine"], f["feed"]
    ceiling = t["aiokafka_consume_and_decode"]["events_per_second"]
    naive = t["naive_faust_table_agent"]["events_per_second"]
    lines = [
        "# Live processor",
        "",
        f"Feed: {feed['events']:,} simulated events, {feed['children']:,} children, {feed['councils']} councils, "
        "one topic of 6 partitions on a single local broker; one worker process, RocksDB store.",
        "",
        "| Throughput | events/s | ratio to naive agent | ratio to ceiling |",
        "|---|---:|---:|---:|",
    ]
    for key, label in (
        ("batched_worker", "`frontdoor worker` (batched: state, changelog, alerts, council totals)"),
        ("naive_faust_table_agent", "naive faust table agent (same work, one write per event)"),
        ("trivial_faust_counting_agent", "faust table agent counting events (no domain work)"),
        ("aiokafka_consume_and_decode", "aiokafka consume + decode ceiling (no state, no output)"),
    ):
        rate = t[key]["events_per_second"]
        lines.append(f"| {label} | {rate:,} | {rate / naive:.2f} | {rate / ceiling:.2f} |")
    lat, rs = f["latency"], f["restore"]
    lines += [
        "",
        f"Event-to-alert latency at {lat['rate_per_second']:,.0f} events/s "
        f"(achieved {lat['achieved_rate_per_second']:,}): "
        f"p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms, max {lat['max_ms']} ms over {lat['alert_samples']:,} alerts "
        "(from handing the event to the producer to reading the alert from the alerts topic).",
        "",
        "| Restart after kill -9 | seconds to first processed batch | seconds to worker ready |",
        "|---|---:|---:|",
    ]
    lines += [
        f"| {r['membership']} group membership | {r['seconds_to_first_batch']} | {r['seconds_to_worker_ready']} |"
        for r in f["restart_after_kill"]
    ]
    lines += [
        "",
        f"Restore with the local RocksDB directory deleted: {rs['changelog_records']:,} changelog records in "
        f"{rs['seconds']} s, {rs['records_per_second']:,} records/s.",
        "",
        "| Memory | children | idle RSS (MiB) | loaded RSS (MiB) | MiB per 100k children |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['store']} | {r['children']:,} | {r['idle_rss_mib']} | {r['loaded_rss_mib']} | "
        f"{r['rss_mib_per_100k_children']} |"
        for r in f["rss"]
    ]
    lines += [
        "",
        f"Machine: {m['cpu_model']}, {m['nproc']} cores, {m['ram_gib']} GiB, {m['os']}, Python {m['python']}; "
        f"load average {m['load_average_at_start']} at start, {m.get('load_average_at_end')} at end; "
        f"commit {m['git_commit'][:12]}, {m['date_utc']}.",
        "",
    ]
    return "\n".join(lines)
