"""Splitting a history by council in parallel byte ranges gives each council exactly its lines, in file order."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.processor.harness import simulated_feed
from schemas.codec import encode
from services.core.config import DEFAULT_CONFIG
from services.reports import split
from services.reports.history import replay_council_files
from services.reports.split import CouncilLines, jsonl_lines, split_by_council, split_files_by_council


def council_lines(parts: dict[str, list[CouncilLines]]) -> dict[str, bytes]:
    return {la: b"".join(part.path.read_bytes() for part in found) for la, found in parts.items()}


@pytest.mark.parametrize("jobs", [1, 2, 3, 7])
def test_any_number_of_ranges_gives_each_council_the_lines_of_the_serial_split(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    monkeypatch.setattr(split, "MIN_RANGE_BYTES", 1)  # cut even a small file into `jobs` ranges
    lines = [
        f'{{"la_code": "{la}", "event_id": "e{n}", "pad": "{"x" * (n % 7)}"}}\n'
        for n, la in enumerate(["886", "301", "886", "942"] * 25)
    ]
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\xef\xbb\xbf" + "".join(lines).encode() + b"\n")  # a BOM and a blank last line
    (tmp_path / "serial").mkdir()
    (tmp_path / "ranges").mkdir()

    serial = split_by_council(jsonl_lines([events]), tmp_path / "serial")
    ranged = split_files_by_council([events], tmp_path / "ranges", jobs)

    assert council_lines(ranged) == {la: path.read_bytes() for la, path in serial.items()}
    assert sorted(ranged) == ["301", "886", "942"]
    assert council_lines(ranged)["886"].count(b"\n") == 50


@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_a_rejected_line_is_named_by_its_number_in_the_users_file_whichever_council_and_range_it_is_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    monkeypatch.setattr(split, "MIN_RANGE_BYTES", 1)  # cut even a small file into `jobs` ranges
    feed = [encode(event) for event in simulated_feed(("942", "886"), annual_referrals=40, seed=3)][:60]
    bad = {7: b'{"type": "ReferralOpened", "la_code": "886"}', 31: b'{"la_code": "942", "type": "Nope"}'}
    lines = [bad.get(number, line) for number, line in enumerate(feed, 1)]
    lines.insert(19, b"")  # a blank line still counts: the bad line 31 is now line 32
    events = tmp_path / "history.jsonl"
    events.write_bytes(b"\n".join(lines) + b"\n")

    replays = replay_council_files([events], [DEFAULT_CONFIG], jobs=jobs)

    rejected = sorted((r.source, r.location) for replay in replays.values() for r in replay.rejected)
    assert rejected == [("history.jsonl", "line 32"), ("history.jsonl", "line 7")]
    assert sum(replay.events for replay in replays.values()) == len(feed) - len(bad)
