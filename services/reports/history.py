"""Council totals from history: each council's events through its own Engine, councils in parallel processes.

Councils are independent (a child, its merges and its definitions belong to one council), so the events are
first split into one file per council, in arrival order, and each council is replayed on its own, as the live
worker does for a council's partition. The totals are the sum of the children's `contribution`s, exactly what the
worker holds per council; a council's replay is the same code in a child process or in this one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import orjson

from schemas.codec import encode
from services.core.aggregates import AggregateKey, contribution
from services.core.config import Rules
from services.core.engine import Engine
from services.core.history import ChildHistory
from services.core.indicators import Referral, referrals_of
from services.ingest.identity import Pseudonymiser
from services.ingest.result import Rejected
from services.ingest.tabular import iter_jsonl

_LA_CODE = re.compile(r'"la_code"\s*:\s*"([^"]*)"')
UNKNOWN_COUNCIL = "unknown"  # lines whose council cannot be read: replayed alone, so they are rejected with a reason


@dataclass(slots=True)
class CouncilReplay:
    """One council's totals under each definition asked for (the first is the report's), and what its replay met."""

    la_code: str
    totals: list[Counter[AggregateKey]] = field(default_factory=list)
    events: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    # Kept only for `replay`: its alert messages in arrival order, outcomes, and what its snapshot needs.
    alerts: list[bytes] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    referrals: list[list[Referral]] = field(default_factory=list)
    last_day: dt.date | None = None
    # Kept only for the pack and the dip sample: every child's history, for the child-level re-referral list.
    histories: list[ChildHistory] = field(default_factory=list)


def council_of(line: str) -> str:
    match = _LA_CODE.search(line)
    if match is not None:
        return match.group(1)
    with contextlib.suppress(orjson.JSONDecodeError):
        record = orjson.loads(line)
        if isinstance(record, dict) and isinstance(record.get("la_code"), str):
            return str(record["la_code"])
    return UNKNOWN_COUNCIL


def split_by_council(lines: Iterable[str], directory: Path) -> dict[str, Path]:
    """Write each council's lines, in their order, to its own file in `directory`; blank lines are dropped."""
    paths: dict[str, Path] = {}
    handles: dict[str, TextIO] = {}
    try:
        for line in lines:
            if not line.strip():
                continue
            la_code = council_of(line)
            handle = handles.get(la_code)
            if handle is None:
                paths[la_code] = directory / f"council-{len(paths)}.jsonl"
                handle = handles[la_code] = paths[la_code].open("w", encoding="utf-8")
            handle.write(line if line.endswith("\n") else line + "\n")
    finally:
        for handle in handles.values():
            handle.close()
    return paths


def replay_council(
    la_code: str,
    path: Path,
    definitions: Sequence[Rules],
    pseudonym_key: bytes | None,
    keep_alerts: bool = False,
    *,
    keep_histories: bool = False,
) -> CouncilReplay:
    """One council's events in arrival order through the core; its totals under each definition.

    The histories do not depend on the definition (offline rules keep all history), so one replay serves all.
    """
    result = CouncilReplay(la_code)
    engine = Engine(definitions[0], alerts=keep_alerts)
    pseudonymiser = Pseudonymiser(pseudonym_key) if pseudonym_key is not None else None
    for item in iter_jsonl(path, pseudonymiser):
        if isinstance(item, Rejected):
            result.rejected.append(item)
            continue
        outcome, messages = engine.apply(item)
        result.events += 1
        if keep_alerts:
            result.outcomes[outcome.value] += 1
            result.alerts += [encode(message) for message in messages]
    if keep_alerts:
        result.referrals = [referrals_of(history, definitions[0]) for history in engine.children.values()]
        result.last_day = max((h.last_day for h in engine.children.values() if h.last_day), default=None)
    if keep_histories:
        result.histories = list(engine.children.values())
    for rules in definitions:
        totals: Counter[AggregateKey] = Counter()
        for history in engine.children.values():
            totals.update(contribution(history, rules))
        result.totals.append(+totals)
    return result


def replay_councils(
    lines: Iterable[str],
    definitions: Sequence[Rules],
    *,
    jobs: int = 1,
    pseudonym_key: bytes | None = None,
    keep_alerts: bool = False,
) -> dict[str, CouncilReplay]:
    """Every council's replay, `jobs` councils at a time (1: in this process); the same answer for any `jobs`."""
    with tempfile.TemporaryDirectory(prefix="frontdoor-report-") as directory:
        paths = split_by_council(lines, Path(directory))
        ordered = sorted(paths.items(), key=lambda item: -item[1].stat().st_size)  # largest first: less idle tail
        if jobs <= 1 or len(ordered) <= 1:
            done = [replay_council(la, path, definitions, pseudonym_key, keep_alerts) for la, path in ordered]
        else:
            with ProcessPoolExecutor(max_workers=min(jobs, len(ordered))) as pool:
                futures = [
                    pool.submit(replay_council, la, path, definitions, pseudonym_key, keep_alerts)
                    for la, path in ordered
                ]
                done = [future.result() for future in futures]
    return {replay.la_code: replay for replay in sorted(done, key=lambda r: r.la_code)}


def jsonl_lines(paths: Iterable[Path]) -> Iterator[str]:
    for path in paths:
        with path.open(encoding="utf-8-sig") as handle:
            yield from handle
