"""History lines split into one file per council, in arrival order: serially, or by byte ranges in parallel.

Councils are independent, so each council's lines can be replayed on their own, as the live worker does for a
council's partition. A file is cut into ranges at line starts; each range's lines go to its own files per
council, and a council's files, in range order, hold its lines in their order in the file. Each line's number in its
range is kept beside them, so a line the replay rejects is reported by its number in the file the user gave.
"""

from __future__ import annotations

import contextlib
import itertools
import re
from array import array
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import orjson

_LA_CODE = re.compile(rb'"la_code"\s*:\s*"([^"]*)"')
_BOM = b"\xef\xbb\xbf"
UNKNOWN_COUNCIL = "unknown"  # lines whose council cannot be read: replayed alone, so they are rejected with a reason
MIN_RANGE_BYTES = 1 << 24  # smaller files are split in one piece: a process costs more than it saves


@dataclass(slots=True)
class CouncilLines:
    """One council's lines from one byte range of a source file: where they are, and where each came from."""

    path: Path  # the lines, in their order in the source
    source: str  # the source file's name
    numbers: Path  # each line's number within its range (int64)
    first: int = 0  # the lines of the source before the range
    _loaded: array[int] | None = field(default=None, repr=False, compare=False)

    def line_number(self, line: int) -> int:
        """The number in the source of the `line`th line (1-based) of `path`; the numbers are read when first asked."""
        if self._loaded is None:
            self._loaded = array("q", self.numbers.read_bytes())
        return self.first + self._loaded[line - 1]


def council_of(line: bytes | str) -> str:
    """The la_code a line names (found without parsing it), or UNKNOWN_COUNCIL."""
    if isinstance(line, str):
        line = line.encode("utf-8", errors="surrogateescape")
    match = _LA_CODE.search(line)
    if match is not None:
        return match.group(1).decode("utf-8", errors="replace")
    with contextlib.suppress(orjson.JSONDecodeError):
        record = orjson.loads(line)
        if isinstance(record, dict) and isinstance(record.get("la_code"), str):
            return str(record["la_code"])
    return UNKNOWN_COUNCIL


def split_by_council(lines: Iterable[bytes], directory: Path) -> dict[str, Path]:
    """Write each council's lines, in their order, to its own file in `directory`; blank lines are dropped."""
    found, _ = _split(lines, directory, keep_numbers=False)
    return {la_code: path for la_code, (path, _) in found.items()}


def _split(lines: Iterable[bytes], directory: Path, *, keep_numbers: bool) -> tuple[dict[str, tuple[Path, Path]], int]:
    """council -> (its lines' file, the file of their numbers if kept), and how many lines were read."""
    paths: dict[str, Path] = {}
    handles: dict[str, BinaryIO] = {}
    numbers: dict[str, array[int]] = {}
    named: dict[bytes, str] = {}  # the la_code bytes a line holds -> council_of's answer: one decode per council
    search = _LA_CODE.search
    number = 0
    try:
        for number, line in enumerate(lines, 1):  # the last number is the count
            if not line.strip():
                continue
            match = search(line)
            if match is None:
                la_code = council_of(line)
            else:
                code = match.group(1)
                la_code = named.get(code) or named.setdefault(code, council_of(line))
            handle = handles.get(la_code)
            if handle is None:
                paths[la_code] = directory / f"council-{len(paths)}.jsonl"
                handle = handles[la_code] = paths[la_code].open("wb")
                numbers[la_code] = array("q")
            handle.write(line if line.endswith(b"\n") else line + b"\n")
            if keep_numbers:
                numbers[la_code].append(number)
    finally:
        for handle in handles.values():
            handle.close()
    found = {la_code: (path, path.with_suffix(".numbers")) for la_code, path in paths.items()}
    if keep_numbers:
        for la_code, (_, numbers_path) in found.items():
            numbers_path.write_bytes(numbers[la_code].tobytes())
    return found, number


def split_files_by_council(files: Sequence[Path], directory: Path, jobs: int) -> dict[str, list[CouncilLines]]:
    """council -> its lines under `directory`, in order; each file cut into `jobs` ranges split in parallel."""
    ranges = [(path, start, end) for path in files for start, end in _ranges(path, jobs)]
    targets = [directory / f"range-{i}" for i in range(len(ranges))]
    for target in targets:
        target.mkdir()
    if jobs <= 1 or len(ranges) <= 1:
        split = [_split_range(path, start, end, t) for (path, start, end), t in zip(ranges, targets, strict=True)]
    else:
        with ProcessPoolExecutor(max_workers=min(jobs, len(ranges))) as pool:
            split = list(pool.map(_split_range, *zip(*ranges, strict=True), targets))
    out: dict[str, list[CouncilLines]] = {}
    before: dict[Path, int] = {}  # lines of each file in its ranges split so far: the next range's first number
    for (source, _, _), (found, count) in zip(ranges, split, strict=True):
        first = before.get(source, 0)
        for la_code, (path, numbers) in found.items():
            out.setdefault(la_code, []).append(CouncilLines(path, source.name, numbers, first))
        before[source] = first + count
    return out


def _ranges(path: Path, jobs: int) -> list[tuple[int, int]]:
    size = path.stat().st_size
    pieces = max(1, min(jobs, size // MIN_RANGE_BYTES))
    bounds = [size * i // pieces for i in range(pieces + 1)]
    return list(itertools.pairwise(bounds))


def _split_range(path: Path, start: int, end: int, directory: Path) -> tuple[dict[str, tuple[Path, Path]], int]:
    """The lines that start at a byte in [start, end), split by council into `directory`, with their numbers."""
    with path.open("rb") as handle:
        return _split(_lines_starting_in(handle, start, end), directory, keep_numbers=True)


def _lines_starting_in(handle: BinaryIO, start: int, end: int) -> Iterator[bytes]:
    position = start
    if start > 0:
        handle.seek(start - 1)
        position = start - 1 + len(handle.readline())  # the rest of the line that began before `start`
    for line in handle:
        if position >= end:
            return
        yield line.removeprefix(_BOM) if position == 0 else line
        position += len(line)


def jsonl_lines(paths: Iterable[Path]) -> Iterator[bytes]:
    for path in paths:
        with path.open("rb") as handle:
            first = next(handle, b"")
            yield first.removeprefix(_BOM)
            yield from handle


def jsonl_text_lines(paths: Iterable[Path]) -> Iterator[str]:
    """The files' lines as text, a BOM dropped: for readers that pick lines out one by one."""
    for path in paths:
        with path.open(encoding="utf-8-sig") as handle:
            yield from handle
