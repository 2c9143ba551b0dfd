"""Writers for the generated history: canonical events (JSONL), CIN census returns (XML), the referral table (CSV).

They format text directly instead of going through the pydantic models, because the models cost ~16 us an
event and the benchmark writes ten million. `bench.history` validates a sample with the real codec instead.
"""

from __future__ import annotations

import datetime as dt
import random
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
DAY_SECONDS = 86_400


@dataclass(slots=True)
class Referral:
    """One referral record of one child: its day (index from the history start) and how it ended."""

    day: int
    second: int  # seconds since the history start, local time: when the referral was opened
    referral_id: str
    source: str
    need: str
    team: str
    nfa_second: int | None  # when it was marked NFA, if it was
    closed_day: int | None  # None while the episode is still open at the end of the history
    reason: str | None


class Calendar:
    """Day strings, London UTC offsets, arrival months and DfE reporting years, looked up by day index."""

    def __init__(self, start: dt.date, days: int) -> None:
        self.start = start
        dates = [start + dt.timedelta(days=i) for i in range(days)]
        self.iso = [d.isoformat() for d in dates]
        # Noon is never inside a clock change, so it gives the offset of the whole working day.
        self.offset = [_offset(d) for d in dates]
        self.month = [(d.year - start.year) * 12 + d.month - start.month for d in dates]
        self.year = [(d.year if d.month >= 4 else d.year - 1) - start.year for d in dates]
        self.clock = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(DAY_SECONDS)]

    def stamp(self, second: int) -> str:
        day, rest = divmod(second, DAY_SECONDS)
        return f"{self.iso[day]}T{self.clock[rest]}{self.offset[day]}"

    def year_label(self, index: int) -> str:
        first = self.start.year + index
        return f"{first}-{(first + 1) % 100:02d}"


def _offset(day: dt.date) -> str:
    utc = dt.datetime.combine(day, dt.time(12), tzinfo=LONDON).utcoffset() or dt.timedelta()
    hours = int(utc.total_seconds()) // 3600
    return f"+{hours:02d}:00"


class Draws(Protocol):
    """The random draws the event log needs (bench.history.Draw)."""

    def random(self) -> float: ...
    def between(self, low: int, high: int) -> int: ...
    def key(self) -> str: ...


class EventLog:
    """Canonical events in arrival order: bucketed by arrival month in temporary files, each sorted at the end.

    Most events arrive minutes to hours after they happened; `late_share` of them arrive 1 to 60 days late,
    which puts them out of event-time order, as back-dated records are in a real feed.
    """

    def __init__(self, path: Path, calendar: Calendar, draw: Draws, late_share: float) -> None:
        self.path = path
        self._calendar = calendar
        self._draw = draw
        self._late_share = late_share
        self._tmp = tempfile.TemporaryDirectory(prefix="events-", dir=path.parent)
        self._buckets: dict[int, IO[str]] = {}
        self.counts: dict[str, int] = {}
        self.late = 0

    def referral(self, la_code: str, child_key: str, r: Referral) -> None:
        tail = (
            f'"referral_id":"{r.referral_id}","referral_date":"{self._calendar.iso[r.day]}",'
            f'"source":"{r.source}","primary_need":"{r.need}","team":"{r.team}"'
        )
        self._emit("ReferralOpened", r.second, la_code, child_key, tail)

    def nfa(self, la_code: str, child_key: str, r: Referral, second: int) -> None:
        self._emit("ReferralMarkedNFA", second, la_code, child_key, f'"referral_id":"{r.referral_id}"')

    def closed(self, la_code: str, child_key: str, r: Referral, second: int) -> None:
        tail = (
            f'"referral_id":"{r.referral_id}","closure_date":"{self._calendar.iso[second // DAY_SECONDS]}",'
            f'"reason":"{r.reason}","closing_team":"{r.team}"'
        )
        self._emit("EpisodeClosed", second, la_code, child_key, tail)

    def _emit(self, kind: str, second: int, la_code: str, child_key: str, tail: str) -> None:
        draw = self._draw
        if draw.random() < self._late_share:
            self.late += 1
            arrival = second + draw.between(DAY_SECONDS, 60 * DAY_SECONDS)
        else:
            arrival = second + draw.between(60, 6 * 3600)
        stamp = self._calendar.stamp
        line = (
            f'{{"type":"{kind}","schema_version":1,"event_id":"{draw.key()}",'
            f'"occurred_at":"{stamp(second)}","recorded_at":"{stamp(arrival)}",'
            f'"la_code":"{la_code}","child_key":"{child_key}",{tail}}}'
        )
        self._bucket(self._calendar.month[arrival // DAY_SECONDS]).write(f"{arrival:011d}\t{line}\n")
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def _bucket(self, month: int) -> IO[str]:
        bucket = self._buckets.get(month)
        if bucket is None:
            bucket = self._buckets[month] = (Path(self._tmp.name) / f"{month:04d}.tsv").open("w", encoding="ascii")
        return bucket

    def finish(self, sample_size: int, rng: random.Random) -> list[str]:
        """Write events.jsonl in arrival order and return a uniform sample of its lines for validation."""
        total = sum(self.counts.values())
        wanted = set(rng.sample(range(total), min(sample_size, total)))
        sample: list[str] = []
        number = 0
        with self.path.open("w", encoding="ascii") as out:
            for month in sorted(self._buckets):
                self._buckets[month].close()
                lines = (Path(self._tmp.name) / f"{month:04d}.tsv").read_text(encoding="ascii").splitlines()
                lines.sort()  # fixed-width arrival second first, so text order is arrival order
                for keyed in lines:
                    line = keyed.split("\t", 1)[1]
                    out.write(line + "\n")
                    if number in wanted:
                        sample.append(line)
                    number += 1
        self._tmp.cleanup()
        return sample


class CensusReturns:
    """One CIN census return per (council, reporting year), holding every episode open at any time in the year.

    An episode still open at the year end is written without its closure, and again in the next year's
    return, as councils do: the ingest recognises it by its natural key and counts it once. Only the
    elements the ingest reads are written (a subset of the DfE schema).
    """

    def __init__(self, root: Path, calendar: Calendar, years: int) -> None:
        self.root = root
        self._calendar = calendar
        self._years = years
        self._children: list[list[str]] = []
        self.files: list[Path] = []
        self.episodes = 0

    def add_child(self, child_id: str, referrals: Sequence[Referral]) -> None:
        """Add a child's referrals; same-day records are one episode (one CINdetails per referral date)."""
        if not self._children:
            self._children = [[] for _ in range(self._years)]
        by_year: list[list[str]] = [[] for _ in range(self._years)]
        iso, year_of = self._calendar.iso, self._calendar.year
        for day, records in _by_day(referrals):
            first = records[0]
            nfa = "1" if any(r.nfa_second is not None for r in records) else "0"
            head = (
                f"<CINdetails><CINreferralDate>{iso[day]}</CINreferralDate>"
                f"<ReferralSource>{first.source}</ReferralSource><PrimaryNeedCode>{first.need}</PrimaryNeedCode>"
            )
            tail = f"<ReferralNFA>{nfa}</ReferralNFA></CINdetails>"
            closed = first.closed_day
            last_year = year_of[closed] if closed is not None else self._years - 1
            for year in range(year_of[day], last_year + 1):
                if year == last_year and closed is not None:
                    ending = f"<CINclosureDate>{iso[closed]}</CINclosureDate>"
                    reason = f"<ReasonForClosure>{first.reason}</ReasonForClosure>"
                    by_year[year].append(head + ending + reason + tail)
                else:
                    by_year[year].append(head + tail)
                self.episodes += 1
        for year, episodes in enumerate(by_year):
            if episodes:
                ids = f"<ChildIdentifiers><LAchildID>{child_id}</LAchildID></ChildIdentifiers>"
                self._children[year].append(f"<Child>{ids}{''.join(episodes)}</Child>\n")

    def end_council(self, la_code: str) -> None:
        for year, children in enumerate(self._children):
            label = self._calendar.year_label(year)
            path = self.root / label / f"{la_code}.xml"
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w", encoding="ascii") as out:
                out.write(self._header(la_code, year))
                out.writelines(children)
                out.write("</Children>\n</Message>\n")
            self.files.append(path)
        self._children = []

    def _header(self, la_code: str, year: int) -> str:
        first = self._calendar.start.year + year
        return (
            "<?xml version='1.0' encoding='utf-8'?>\n<Message><Header><CollectionDetails><Collection>CIN</Collection>"
            f"<Year>{first}</Year><ReferenceDate>{first + 1}-03-31</ReferenceDate></CollectionDetails>"
            f"<Source><SourceLevel>L</SourceLevel><LEA>{la_code}</LEA><SoftwareCode>frontdoor-bench</SoftwareCode>"
            f"<Release>1</Release><SerialNo>001</SerialNo><DateTime>{first + 1}-05-15T09:00:00</DateTime></Source>"
            "</Header>\n<Children>\n"
        )


def _by_day(referrals: Sequence[Referral]) -> list[tuple[int, list[Referral]]]:
    grouped: dict[int, list[Referral]] = {}
    for r in referrals:
        grouped.setdefault(r.day, []).append(r)
    return sorted(grouped.items())


class ReferralTable:
    """One CSV row per referral record (same-day duplicates included) for the DuckDB baseline."""

    HEADER = "la_code,child_key,referral_date,nfa\n"

    def __init__(self, path: Path, calendar: Calendar) -> None:
        self.path = path
        self._iso = calendar.iso
        self._out = path.open("w", encoding="ascii")
        self._out.write(self.HEADER)
        self.rows = 0

    def add(self, la_code: str, child_key: str, r: Referral) -> None:
        nfa = "true" if r.nfa_second is not None else "false"
        self._out.write(f"{la_code},{child_key},{self._iso[r.day]},{nfa}\n")
        self.rows += 1

    def close(self) -> None:
        self._out.close()
