"""Councils are independent, so `replay --jobs 2` replays them in parallel processes with the sequential answer."""

from __future__ import annotations

from pathlib import Path

from bench.processor.harness import simulated_feed
from schemas.codec import decode_alert, encode
from services.cli import main


def alerts_by_child(path: Path) -> dict[str, list[bytes]]:
    by_child: dict[str, list[bytes]] = {}
    for line in path.read_bytes().splitlines():
        by_child.setdefault(decode_alert(line).child_key, []).append(line)
    return by_child


def test_replaying_two_councils_in_parallel_gives_each_child_the_same_alerts_and_the_same_indicators(
    tmp_path: Path,
) -> None:
    feed = simulated_feed(("942", "886"), annual_referrals=120, seed=4)
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"".join(encode(e) + b"\n" for e in feed))
    sequential, parallel = tmp_path / "one", tmp_path / "two"

    assert main(["replay", "--events", str(events), "--out-dir", str(sequential)]) == 0
    assert main(["replay", "--events", str(events), "--out-dir", str(parallel), "--jobs", "2"]) == 0

    assert (parallel / "indicators.json").read_text() == (sequential / "indicators.json").read_text()
    assert alerts_by_child(parallel / "alerts.jsonl") == alerts_by_child(sequential / "alerts.jsonl")
    assert len(alerts_by_child(sequential / "alerts.jsonl")) > 20
