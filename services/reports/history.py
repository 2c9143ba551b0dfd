"""Council totals from history: each council's events through its own Engine, councils in parallel processes.

Councils are independent (a child, its merges and its definitions belong to one council), so the events are
first split into files per council, in arrival order (services.reports.split), and each council is replayed on
its own, as the live worker does for a council's partition. The totals are the sum of the children's
`contribution`s, exactly what the worker holds per council; a council's replay is the same code in a child
process or in this one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import itertools
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from schemas.codec import encode
from schemas.events import InboundEvent
from services.core.aggregates import AggregateKey, council_totals
from services.core.config import Rules
from services.core.engine import Engine
from services.core.history import ChildHistory
from services.core.indicators import Referral, referrals_of
from services.ingest.identity import Pseudonymiser
from services.ingest.jsonl import iter_jsonl
from services.ingest.result import Rejected
from services.reports.split import (
    CouncilLines,
    council_of,
    jsonl_text_lines,
    split_by_council,
    split_files_by_council,
)

__all__ = ["CouncilReplay", "council_of", "jsonl_lines", "replay_council", "replay_council_files", "replay_councils"]
jsonl_lines = jsonl_text_lines  # the pack reads text lines and picks its council with council_of


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


Part = Path | CouncilLines  # a council's file, or its lines split out of a file (rejections name that file's lines)


def replay_council(
    la_code: str,
    paths: Part | Sequence[Part],
    definitions: Sequence[Rules],
    pseudonym_key: bytes | None,
    keep_alerts: bool = False,
    *,
    keep_histories: bool = False,
) -> CouncilReplay:
    """One council's events (one file, or its files in order) through the core; its totals under each definition.

    The histories do not depend on the definition (offline rules keep all history), so one replay serves all.
    """
    files = [paths] if isinstance(paths, Path | CouncilLines) else list(paths)
    with _without_cycle_collection():
        return _replay(
            la_code, files, definitions, pseudonym_key, keep_alerts=keep_alerts, keep_histories=keep_histories
        )


@contextlib.contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Pause the cycle collector: a replay makes millions of objects that live until its end and form no cycles.

    Without this, each collection walks every history kept so far: about half the time of a large council.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _replay(
    la_code: str,
    paths: Sequence[Part],
    definitions: Sequence[Rules],
    pseudonym_key: bytes | None,
    *,
    keep_alerts: bool,
    keep_histories: bool,
) -> CouncilReplay:
    result = CouncilReplay(la_code)
    engine = Engine(definitions[0], alerts=keep_alerts)
    pseudonymiser = Pseudonymiser(pseudonym_key) if pseudonym_key is not None else None
    apply, events = engine.apply, 0
    for item in itertools.chain.from_iterable(_items(part, pseudonymiser) for part in paths):
        if isinstance(item, Rejected):
            result.rejected.append(item)
            continue
        outcome, messages = apply(item)
        events += 1
        if keep_alerts:
            result.outcomes[outcome.value] += 1
            result.alerts += [encode(message) for message in messages]
    result.events = events
    if keep_alerts:
        result.referrals = [referrals_of(history, definitions[0]) for history in engine.children.values()]
        result.last_day = max((h.last_day for h in engine.children.values() if h.last_day), default=None)
    if keep_histories:
        result.histories = list(engine.children.values())
    result.totals = [council_totals(engine.children.values(), rules) for rules in definitions]
    return result


def _items(part: Part, pseudonymiser: Pseudonymiser | None) -> Iterator[InboundEvent | Rejected]:
    if isinstance(part, Path):
        return iter_jsonl(part, pseudonymiser)
    return iter_jsonl(part.path, pseudonymiser, source=part.source, line_number=part.line_number)


def replay_councils(
    lines: Iterable[bytes],
    definitions: Sequence[Rules],
    *,
    jobs: int = 1,
    pseudonym_key: bytes | None = None,
    keep_alerts: bool = False,
) -> dict[str, CouncilReplay]:
    """Every council's replay, `jobs` councils at a time (1: in this process); the same answer for any `jobs`."""
    with tempfile.TemporaryDirectory(prefix="frontdoor-report-") as directory:
        parts = {la: [path] for la, path in split_by_council(lines, Path(directory)).items()}
        return _replay_all(parts, definitions, jobs, pseudonym_key, keep_alerts)


def replay_council_files(
    files: Sequence[Path],
    definitions: Sequence[Rules],
    *,
    jobs: int = 1,
    pseudonym_key: bytes | None = None,
    keep_alerts: bool = False,
) -> dict[str, CouncilReplay]:
    """`replay_councils` of the files' lines, split by council `jobs` byte ranges at a time: the same answer."""
    with tempfile.TemporaryDirectory(prefix="frontdoor-report-") as directory:
        parts = split_files_by_council(files, Path(directory), jobs)
        return _replay_all(parts, definitions, jobs, pseudonym_key, keep_alerts)


def _replay_all(
    parts: Mapping[str, Sequence[Part]],
    definitions: Sequence[Rules],
    jobs: int,
    pseudonym_key: bytes | None,
    keep_alerts: bool,
) -> dict[str, CouncilReplay]:
    def size(paths: Sequence[Part]) -> int:
        return sum((path if isinstance(path, Path) else path.path).stat().st_size for path in paths)

    ordered = sorted(parts.items(), key=lambda item: -size(item[1]))  # largest first: less idle tail
    if jobs <= 1 or len(ordered) <= 1:
        done = [replay_council(la, paths, definitions, pseudonym_key, keep_alerts) for la, paths in ordered]
    else:
        with ProcessPoolExecutor(max_workers=min(jobs, len(ordered))) as pool:
            futures = [
                pool.submit(replay_council, la, paths, definitions, pseudonym_key, keep_alerts) for la, paths in ordered
            ]
            done = [future.result() for future in futures]
    return {replay.la_code: replay for replay in sorted(done, key=lambda r: r.la_code)}
