"""Splitting a history by council in parallel byte ranges gives each council exactly its lines, in file order."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.reports import split
from services.reports.split import jsonl_lines, split_by_council, split_files_by_council


def council_lines(parts: dict[str, list[Path]]) -> dict[str, bytes]:
    return {la: b"".join(path.read_bytes() for path in paths) for la, paths in parts.items()}


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
