"""One council's history for the pack and the dip sample: its replay, `report --by` documents and re-referral list.

The series are `report --by month` and `--by quarter`'s own documents (series_report.series_document over the
same replay), so every figure in a pack is a figure of that report; nothing here defines an indicator.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schemas.codec import encode
from services.core.config import Rules
from services.core.rereferral_list import Rereferral, rereferrals_of
from services.ingest.identity import Pseudonymiser
from services.reference.official_statistics import load_c1
from services.reports.history import CouncilReplay, council_of, jsonl_lines, replay_council
from services.reports.series_report import series_document


@dataclass(frozen=True, slots=True)
class CouncilSeries:
    """A council's `report --by month` and `--by quarter` documents and its re-referrals, from one replay."""

    la_code: str
    name: str
    months: dict[str, Any]  # the --by month document
    quarters: dict[str, Any]  # the --by quarter document
    rereferrals: tuple[Rereferral, ...]
    events: int
    rejected: int


def council_name(la_code: str) -> str:
    """The council's name in DfE's C1 table (latest year), or its code."""
    names = {row.old_la_code: row.la_name for row in sorted(load_c1(), key=lambda r: r.time_period)}
    return names.get(la_code) or f"Council {la_code}"


def census_lines(paths: Sequence[Path], pseudonymiser: Pseudonymiser) -> Iterator[str]:
    """CIN census returns as canonical event lines, as `report --cin-census` reads them."""
    from services.ingest.cin_census import iter_cin_census  # noqa: PLC0415  # lxml is only needed here
    from services.ingest.result import IngestResult  # noqa: PLC0415

    for event in iter_cin_census(list(paths), pseudonymiser, IngestResult()):
        yield encode(event).decode()


def input_lines(events: Sequence[Path] | None, census: Sequence[Path] | None, key: bytes | None) -> Iterator[str]:
    """The events' lines, or the census returns' events pseudonymised with `key` (required for census input)."""
    if events:
        return jsonl_lines(events)
    if key is None:
        raise ValueError("census input needs a pseudonymisation key")
    return census_lines(census or [], Pseudonymiser(key))


def replay_one_council(lines: Iterable[str], la_code: str, rules: Rules, key: bytes | None) -> CouncilReplay:
    """The council's lines (others skipped) through `history.replay_council`, keeping the children's histories."""
    with tempfile.TemporaryDirectory(prefix="frontdoor-pack-") as directory:
        path = Path(directory) / "council.jsonl"
        with path.open("w", encoding="utf-8") as out:
            for line in lines:
                if line.strip() and council_of(line) == la_code:
                    out.write(line if line.endswith("\n") else line + "\n")
        return replay_council(la_code, path, [rules], key, keep_histories=True)


def council_series(
    replay: CouncilReplay, rules: Rules, neighbours: Mapping[str, Sequence[str]] | None = None
) -> CouncilSeries:
    """The report's documents by month and quarter, and every re-referral of the council's children."""
    peers = neighbours or {}
    listing = [r for history in replay.histories for r in rereferrals_of(history, rules)]
    listing.sort(key=lambda r: (r.referral_date, r.child_key))
    return CouncilSeries(
        la_code=replay.la_code,
        name=council_name(replay.la_code),
        months=series_document({replay.la_code: replay}, "month", peers),
        quarters=series_document({replay.la_code: replay}, "quarter", peers),
        rereferrals=tuple(listing),
        events=replay.events,
        rejected=len(replay.rejected),
    )
