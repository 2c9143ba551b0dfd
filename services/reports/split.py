"""History lines split into one file per council, in arrival order: serially, or by byte ranges in parallel.

Councils are independent, so each council's lines can be replayed on their own, as the live worker does for a
council's partition. A file is cut into ranges at line starts; each range's lines go to its own files per
council, and a council's files, in range order, hold its lines in their order in the file.
"""

from __future__ import annotations

import contextlib
import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import BinaryIO

import orjson

_LA_CODE = re.compile(rb'"la_code"\s*:\s*"([^"]*)"')
_BOM = b"\xef\xbb\xbf"
UNKNOWN_COUNCIL = "unknown"  # lines whose council cannot be read: replayed alone, so they are rejected with a reason
MIN_RANGE_BYTES = 1 << 24  # smaller files are split in one piece: a process costs more than it saves


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
    paths: dict[str, Path] = {}
    handles: dict[str, BinaryIO] = {}
    named: dict[bytes, str] = {}  # the la_code bytes a line holds -> council_of's answer: one decode per council
    search = _LA_CODE.search
    try:
        for line in lines:
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
            handle.write(line if line.endswith(b"\n") else line + b"\n")
    finally:
        for handle in handles.values():
            handle.close()
    return paths


def split_files_by_council(files: Sequence[Path], directory: Path, jobs: int) -> dict[str, list[Path]]:
    """council -> its files under `directory`, in order; each file cut into `jobs` ranges split in parallel."""
    ranges = [(path, start, end) for path in files for start, end in _ranges(path, jobs)]
    targets = [directory / f"range-{i}" for i in range(len(ranges))]
    for target in targets:
        target.mkdir()
    if jobs <= 1 or len(ranges) <= 1:
        split = [_split_range(path, start, end, t) for (path, start, end), t in zip(ranges, targets, strict=True)]
    else:
        with ProcessPoolExecutor(max_workers=min(jobs, len(ranges))) as pool:
            split = list(pool.map(_split_range, *zip(*ranges, strict=True), targets))
    out: dict[str, list[Path]] = {}
    for found in split:
        for la_code, path in found.items():
            out.setdefault(la_code, []).append(path)
    return out


def _ranges(path: Path, jobs: int) -> list[tuple[int, int]]:
    size = path.stat().st_size
    pieces = max(1, min(jobs, size // MIN_RANGE_BYTES))
    bounds = [size * i // pieces for i in range(pieces + 1)]
    return list(itertools.pairwise(bounds))


def _split_range(path: Path, start: int, end: int, directory: Path) -> dict[str, Path]:
    """The lines that start at a byte in [start, end), split by council into `directory`."""
    with path.open("rb") as handle:
        return split_by_council(_lines_starting_in(handle, start, end), directory)


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
