"""Generate a deterministic referral history for the benchmarks: ~150 English councils over ten reporting years.

Council sizes follow DfE table C1 (the latest year's referrals per council), scaled to `--referrals`. Each child
has a chain of referrals: after each one, another follows within 12 months with probability WITHIN_12M, or
later with probability LATER, which gives a re-referral rate near the national 22%. About 6.5% of referrals
are NFA; most episodes close. A few referral records are same-day duplicates, and a few events arrive late.

Run: python -m bench.history --referrals 200000 --out /tmp/frontdoor-bench
"""

from __future__ import annotations

import argparse
import bisect
import csv
import datetime as dt
import itertools
import json
import math
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.history_writers import DAY_SECONDS, Calendar, CensusReturns, EventLog, Referral, ReferralTable

REPO = Path(__file__).resolve().parents[1]
C1_CANDIDATES = (
    REPO / "services/reference/data/c1_children_in_need_referrals_and_rereferrals_2013_to_2025.csv",
    REPO.parent
    / "shared/reference-data/official-statistics/c1_children_in_need_referrals_and_rereferrals_2013_to_2025.csv",
)
WORK_DIR = Path(tempfile.gettempdir()) / "frontdoor-bench"  # large files: outside the repository
HISTORY_END = dt.date(2025, 3, 31)  # the end of the 2024-25 reporting year
WITHIN_12M = 0.23  # calibrated so that about 22% of referrals are re-referrals (C1 England: 22.6%)
LATER = 0.12
NFA_SHARE = 0.065  # C1 England 2024-25: 6.5%
ASSESSED_AND_CLOSED = 0.35  # closed after assessment (RC8/RC9) within weeks
MEDIAN_EPISODE_DAYS = 150
SOURCES = ("6", "2A", "3A", "3E", "3F", "5A", "5B", "5C", "1A", "1C", "2B", "4", "7", "8", "9", "10")
SOURCE_WEIGHTS = (29, 19, 4, 4, 6, 7, 3, 3, 5, 2, 3, 3, 3, 6, 1, 2)
NEEDS = ("N1", "N2", "N3", "N4", "N5", "N6", "N7", "N8", "N9", "N0")
NEED_WEIGHTS = (55, 3, 5, 10, 14, 2, 1, 1, 8, 1)
OTHER_REASONS = ("RC7", "RC1", "RC2", "RC3", "RC4", "RC5", "RC6")
OTHER_REASON_WEIGHTS = (86, 1, 1, 3, 2, 5, 2)
RC9_FROM = dt.date(2024, 4, 1)  # RC9 (closed after assessment, referred to early help) started in 2024-25


class Draw:
    """The few draws the generator makes millions of times, at a third of the cost of random.randint/choices."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311  # synthetic data, not security
        self.random = self.rng.random

    def between(self, low: int, high: int) -> int:
        """A whole number from low to high inclusive."""
        return low + int(self.random() * (high - low + 1))

    def weighted(self, values: tuple[str, ...], cumulative: list[float]) -> str:
        return values[bisect.bisect(cumulative, self.random() * cumulative[-1])]

    def key(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"


def cumulative(weights: tuple[int, ...]) -> list[float]:
    return [float(w) for w in itertools.accumulate(weights)]


SOURCE_CUM = cumulative(SOURCE_WEIGHTS)
NEED_CUM = cumulative(NEED_WEIGHTS)
OTHER_REASON_CUM = cumulative(OTHER_REASON_WEIGHTS)


@dataclass(frozen=True, slots=True)
class Council:
    la_code: str
    name: str
    weight: int


def councils() -> list[Council]:
    """English councils with their latest C1 referral count; synthetic sizes if the table is not at hand."""
    path = next((p for p in C1_CANDIDATES if p.exists()), None)
    if path is None:
        rng = random.Random(0)  # noqa: S311  # synthetic data, not security
        return [Council(f"{800 + i}", f"Council {i}", int(rng.lognormvariate(8.0, 0.6))) for i in range(150)]
    with path.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["geographic_level"] == "Local authority"]
    latest = max(r["time_period"] for r in rows)
    found = {
        r["old_la_code"]: Council(r["old_la_code"], r["la_name"], int(r["referral_count"]))
        for r in rows
        if r["time_period"] == latest and r["referral_count"].isdigit() and len(r["old_la_code"]) == 3
    }
    return sorted(found.values(), key=lambda c: c.la_code)


def quotas(found: list[Council], total: int) -> list[int]:
    """Split `total` referrals in proportion to council size, exactly (largest remainder)."""
    weight = sum(c.weight for c in found)
    exact = [total * c.weight / weight for c in found]
    shares = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(found)), key=lambda i: exact[i] - shares[i], reverse=True)
    for i in by_remainder[: total - sum(shares)]:
        shares[i] += 1
    return shares


class Generator:
    """Draws children and their referrals council by council, and hands every record to the three writers."""

    def __init__(self, out: Path, seed: int, years: int, late_share: float, duplicate_share: float) -> None:
        self.draw = Draw(seed)
        self.start = dt.date(HISTORY_END.year - years, 4, 1)
        self.last_day = (HISTORY_END - self.start).days
        self.calendar = Calendar(self.start, self.last_day + 70)  # late arrivals land up to 60 days after
        self.duplicate_share = duplicate_share
        self.rc9_from = (RC9_FROM - self.start).days
        self.events = EventLog(out / "events.jsonl", self.calendar, self.draw, late_share)
        self.census = CensusReturns(out / "cin", self.calendar, years)
        self.table = ReferralTable(out / "referrals.csv", self.calendar)
        self.children = 0
        self.last_event_day = 0
        self._referral_seq = 0

    def council(self, council: Council, quota: int) -> None:
        made = 0
        while made < quota:
            days = self._chain(quota - made)
            made += len(days)
            self.children += 1
            child_key = self.draw.key()
            records = list(self._records(days))
            for r in records:
                self._emit(council.la_code, child_key, r)
            self.census.add_child(f"{council.la_code}C{self.children:08d}", records)
        self.census.end_council(council.la_code)

    def _chain(self, budget: int) -> list[int]:
        """One child's distinct referral days: a first referral, then repeats while the chain continues."""
        draw = self.draw
        days: list[int] = []
        day = draw.between(0, self.last_day)
        while day <= self.last_day and len(days) < budget:
            days.append(day)
            u = draw.random()
            if u < WITHIN_12M:
                day += draw.between(1, 365)
            elif u < WITHIN_12M + LATER:
                day += draw.between(366, 3 * 365)
            else:
                break
        return days

    def _records(self, days: list[int]) -> Iterator[Referral]:
        for i, day in enumerate(days):
            next_day = days[i + 1] if i + 1 < len(days) else None
            yield self._referral(day, next_day)
            if self.draw.random() < self.duplicate_share:
                yield self._referral(day, next_day)  # the same referral recorded twice

    def _referral(self, day: int, next_day: int | None) -> Referral:
        draw = self.draw
        self._referral_seq += 1
        second = day * DAY_SECONDS + draw.between(8 * 3600, 18 * 3600)
        nfa_second = None
        if draw.random() < NFA_SHARE:
            nfa_second = second + draw.between(0, 2) * DAY_SECONDS + draw.between(600, 7200)
            if nfa_second // DAY_SECONDS > self.last_day:
                nfa_second = second + 600
        closed_day, reason = self._closure(day, next_day, nfa_second)
        return Referral(
            day=day,
            second=second,
            referral_id=f"R{self._referral_seq:09d}",
            source=draw.weighted(SOURCES, SOURCE_CUM),
            need=draw.weighted(NEEDS, NEED_CUM),
            team=f"Team {draw.between(1, 6)}",
            nfa_second=nfa_second,
            closed_day=closed_day,
            reason=reason,
        )

    def _closure(self, day: int, next_day: int | None, nfa_second: int | None) -> tuple[int | None, str | None]:
        draw = self.draw
        if nfa_second is not None:
            closed, reason = nfa_second // DAY_SECONDS, "RC8"
        elif draw.random() < ASSESSED_AND_CLOSED:
            closed = day + draw.between(5, 45)
            reason = "RC9" if closed >= self.rc9_from and draw.random() < 0.4 else "RC8"
        else:
            closed = day + int(draw.rng.lognormvariate(math.log(MEDIAN_EPISODE_DAYS), 0.8))
            reason = draw.weighted(OTHER_REASONS, OTHER_REASON_CUM)
        if next_day is not None and closed > next_day:
            closed = next_day  # a new referral means the previous episode had ended
        return (closed, reason) if closed <= self.last_day else (None, None)

    def _emit(self, la_code: str, child_key: str, r: Referral) -> None:
        self.events.referral(la_code, child_key, r)
        self.table.add(la_code, child_key, r)
        last = r.day
        if r.nfa_second is not None:
            self.events.nfa(la_code, child_key, r, r.nfa_second)
            last = max(last, r.nfa_second // DAY_SECONDS)
        if r.closed_day is not None:
            closed_second = r.closed_day * DAY_SECONDS + self.draw.between(9 * 3600, 17 * 3600)
            self.events.closed(la_code, child_key, r, max(closed_second, r.second + 60))
            last = max(last, r.closed_day)
        self.last_event_day = max(self.last_event_day, last)


def validate_sample(lines: list[str]) -> int:
    """Decode sampled lines with the real codec: the fast writer must produce canonical events."""
    from schemas.codec import decode_event  # noqa: PLC0415  # only the check needs pydantic

    for line in lines:
        decode_event(line)
    return len(lines)


def to_parquet(csv_path: Path) -> Path | None:
    """A Parquet copy of the referral table for the DuckDB baseline (DuckDB is a dev dependency only)."""
    try:
        import duckdb  # noqa: PLC0415

        from bench.duckdb_baseline import CSV_TO_PARQUET  # noqa: PLC0415  # imports duckdb
    except ImportError:
        return None
    parquet = csv_path.with_suffix(".parquet")
    duckdb.connect().execute(CSV_TO_PARQUET, [str(csv_path), str(parquet)])
    return parquet


def generate(
    out: Path, *, referrals: int, seed: int, years: int, late_share: float, duplicate_share: float
) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    gen = Generator(out, seed, years, late_share, duplicate_share)
    found = councils()
    for council, quota in zip(found, quotas(found, referrals), strict=True):
        gen.council(council, quota)
    gen.table.close()
    drawn = time.perf_counter()
    sample = gen.events.finish(1000, random.Random(seed + 1))  # noqa: S311  # sampling, not security
    validated = validate_sample(sample)
    parquet = to_parquet(gen.table.path)
    manifest = {
        "seed": seed,
        "history_start": gen.start.isoformat(),
        "history_end": HISTORY_END.isoformat(),
        "last_event_day": gen.calendar.iso[gen.last_event_day],
        "councils": len(found),
        "children": gen.children,
        "referrals": referrals,
        "referral_records": gen.table.rows,
        "events": sum(gen.events.counts.values()),
        "events_by_type": gen.events.counts,
        "late_events": gen.events.late,
        "census_returns": len(gen.census.files),
        "census_episodes": gen.census.episodes,
        "census_years": [gen.calendar.year_label(y) for y in range(years)],
        "validated_sample": validated,
        "files": {
            "events": str(gen.events.path),
            "census_dir": str(gen.census.root),
            "referrals_csv": str(gen.table.path),
            "referrals_parquet": str(parquet) if parquet else None,
        },
        "seconds": {"draw_and_write": round(drawn - started, 2), "total": round(time.perf_counter() - started, 2)},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.history", description=__doc__.splitlines()[0])
    parser.add_argument("--referrals", type=int, default=5_000_000, help="distinct referrals (council, child, date)")
    parser.add_argument("--out", type=Path, default=WORK_DIR)
    parser.add_argument("--seed", type=int, default=20250331)
    parser.add_argument("--years", type=int, default=10, help="reporting years, ending 2024-25")
    parser.add_argument("--late-share", type=float, default=0.01, help="share of events arriving 1-60 days late")
    parser.add_argument("--duplicate-share", type=float, default=0.005, help="share of same-day duplicate records")
    args = parser.parse_args(argv)
    manifest = generate(
        args.out,
        referrals=args.referrals,
        seed=args.seed,
        years=args.years,
        late_share=args.late_share,
        duplicate_share=args.duplicate_share,
    )
    sys.stdout.write(json.dumps(manifest, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
