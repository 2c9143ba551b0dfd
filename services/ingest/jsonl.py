"""Canonical events as JSON lines -> events: validated in batches, each bad line rejected with its own reason.

A raw `child_id` (or `merged_child_id`) on a line is pseudonymised with its la_code, as at any other door.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from pydantic import ValidationError

from schemas.codec import decode_event, decode_events
from schemas.events import InboundEvent
from services.ingest.annex_a_values import validation_summary
from services.ingest.identity import Pseudonymiser
from services.ingest.result import IngestResult, Rejected

BATCH_LINES = 1024  # lines validated in one call: pydantic's cost per call is several times its cost per event
_BOM = b"\xef\xbb\xbf"


class _Rejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_jsonl(path: Path, pseudonymiser: Pseudonymiser | None) -> IngestResult:
    """One canonical event per line. A `child_id` (or `merged_child_id`) is pseudonymised with la_code."""
    result = IngestResult()
    for item in iter_jsonl(path, pseudonymiser):
        result.read += 1
        if isinstance(item, Rejected):
            result.rejected.append(item)
        else:
            result.events.append(item)
    return result


def iter_jsonl(
    path: Path,
    pseudonymiser: Pseudonymiser | None,
    *,
    source: str | None = None,
    line_number: Callable[[int], int] | None = None,
) -> Iterator[InboundEvent | Rejected]:
    """Each non-blank line's event or rejection, in order, streamed, so a replay of millions of events stays small.

    Lines are validated BATCH_LINES at a time; a batch with a bad line, or a raw child id to pseudonymise, is
    decoded line by line, so every line gets exactly the answer it would get alone. A file split out of another
    (services.reports.split) names that `source` and maps its line numbers to the source's with `line_number`, so
    a rejection says where the line is in the file the user gave.
    """
    name = path.name if source is None else source
    with path.open("rb") as lines:
        first = 1  # the number of the chunk's first line
        while chunk := list(itertools.islice(lines, BATCH_LINES)):  # a file's lines are never b""
            if first == 1:
                chunk[0] = chunk[0].removeprefix(_BOM) or b"\n"  # a BOM alone is a blank line
            numbers: Sequence[int] = range(first, first + len(chunk))
            first += len(chunk)
            if any(map(bytes.isspace, chunk)):  # blank lines (rare) are dropped; the others keep their numbers
                numbers = [n for n, line in zip(numbers, chunk, strict=True) if not line.isspace()]
                chunk = [line for line in chunk if not line.isspace()]
            # Renumbered lazily: only a batch decoded line by line (one with a bad line) reads the numbers.
            where = numbers if line_number is None else map(line_number, numbers)
            yield from _decode_batch(name, where, chunk, pseudonymiser)


def _decode_batch(
    name: str, numbers: Iterable[int], raws: list[bytes], pseudonymiser: Pseudonymiser | None
) -> Iterator[InboundEvent | Rejected]:
    if not raws:
        return
    if b"child_id" not in b"\n".join(raws):  # one search; no line holds "\n" inside "child_id"
        events = decode_events(raws)
        if events is not None:
            yield from events
            return
    for number, raw in zip(numbers, raws, strict=True):
        try:
            yield _line_event(raw, pseudonymiser)
        except _Rejected as exc:
            yield Rejected(name, f"line {number}", exc.reason)
        except ValidationError as exc:
            yield Rejected(name, f"line {number}", validation_summary(exc))


def _line_event(raw: bytes, pseudonymiser: Pseudonymiser | None) -> InboundEvent:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _Rejected("not UTF-8 text") from None
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise _Rejected(f"not JSON: {exc.msg}") from None
    if not isinstance(record, dict):
        raise _Rejected("not a JSON object")
    if "child_id" not in record and "merged_child_id" not in record:
        return decode_event(line)  # validated as it is, so a bad line's reason names its own fields
    for raw_name, key_name in (("child_id", "child_key"), ("merged_child_id", "merged_child_key")):
        if raw_name not in record:
            continue
        if key_name in record:
            raise _Rejected(f"both {raw_name} and {key_name} given")
        if pseudonymiser is None:
            raise _Rejected(f"{raw_name} given but no pseudonymisation key to replace it with {key_name}")
        value, la_code = record.pop(raw_name), record.get("la_code")
        if not isinstance(la_code, str) or not isinstance(value, str | int) or not str(value).strip():
            raise _Rejected(f"{raw_name} needs a text la_code and a non-empty id to be pseudonymised")
        record[key_name], record["pseudonym_key_id"] = pseudonymiser.pseudonymise_child(la_code, str(value))
    return decode_event(json.dumps(record))
