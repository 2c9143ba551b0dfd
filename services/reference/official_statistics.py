"""DfE "Children in need" tables C1, D3, B1 and C4 read from package data: calibration and the external benchmark."""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Generic, TypeVar

NATIONAL = "National"
REGIONAL = "Regional"
LOCAL_AUTHORITY = "Local authority"

# c suppressed, u low reliability, z not applicable, x not available; empty means not published.
SUPPRESSION_MARKERS = frozenset({"", "c", "u", "z", "x"})

C1_FILE = "c1_children_in_need_referrals_and_rereferrals_2013_to_2025.csv"
D3_FILE = "d3_cpps_subsequent_plan_2013_to_2025.csv"
B1_FILE = "b1_children_in_need_2013_to_2025.csv"
C4_FILE = "c4_children_in_need_section_47s_and_icpcs_2013_to_2025.csv"

_C1_COUNTS = (
    "referral_count",
    "rereferral_count",
    "no_further_action_count",
    "not_in_need_count",
    "referral_child_count",
    "rereferral_child_count",
)
_C1_PERCENTS = ("rereferral_percent", "no_further_action_percent", "not_in_need_percent", "rereferral_child_percent")
_D3_COUNTS = ("CPP_start", "CPP_subsequent")
_D3_PERCENTS = ("CPP_subsequent_percent",)
_B1_COUNTS = (
    "Anypoint_episodes",
    "Anypoint_child",
    "Started_episodes",
    "Started_child",
    "Ended_episodes",
    "Ended_child",
    "At31_episodes",
    "awaiting_assessment",
)

# C4's ICPC timeliness: working days from the S47 enquiry's start to the initial conference (15 is the standard).
_C4_COUNTS = ("Section47", "Section47_child", "ICPC", "ICPC_child", "Duration_0-10_days", "Duration_11-15_days")


@dataclass(frozen=True, slots=True)
class AreaRow:
    """Identifier columns shared by every table; codes and names are "" where they do not apply."""

    time_period: int  # the year ending 31 March, e.g. 2025 for 2024-25
    geographic_level: str
    region_code: str
    region_name: str
    old_la_code: str  # three-digit DfE code, e.g. "886" for Kent
    new_la_code: str  # ONS code, e.g. "E10000016"
    la_name: str

    @property
    def key(self) -> tuple[int, str, str, str, str]:
        return (self.time_period, self.geographic_level, self.region_code, self.old_la_code, self.new_la_code)


@dataclass(frozen=True, slots=True)
class C1Row(AreaRow):
    """C1: referrals, re-referrals within 12 months, NFA and assessed-not-in-need, in the year."""

    referral_count: int | None
    rereferral_count: int | None
    rereferral_percent: float | None
    no_further_action_count: int | None
    no_further_action_percent: float | None
    not_in_need_count: int | None
    not_in_need_percent: float | None
    referral_child_count: int | None
    rereferral_child_count: int | None
    rereferral_child_percent: float | None


@dataclass(frozen=True, slots=True)
class D3Row(AreaRow):
    """D3: child protection plans starting in the year, and those that were a second or subsequent plan."""

    cpp_start: int | None
    cpp_subsequent: int | None
    cpp_subsequent_percent: float | None


@dataclass(frozen=True, slots=True)
class B1Row(AreaRow):
    """B1: children in need episodes and children, at any point, started, ended and at 31 March."""

    anypoint_episodes: int | None
    anypoint_child: int | None
    started_episodes: int | None
    started_child: int | None
    ended_episodes: int | None
    ended_child: int | None
    at31_episodes: int | None
    awaiting_assessment: int | None


@dataclass(frozen=True, slots=True)
class C4Row(AreaRow):
    """C4: section 47 enquiries and initial child protection conferences in the year, and ICPC timeliness."""

    section47: int | None
    section47_child: int | None
    icpc: int | None
    icpc_child: int | None
    duration_0_10_days: int | None
    duration_11_15_days: int | None

    @property
    def icpc_within_15_days_percent(self) -> float | None:
        """ICPCs held within 15 working days of the S47 start, as a percentage of ICPCs (one decimal place)."""
        if self.icpc is None or self.duration_0_10_days is None or self.duration_11_15_days is None or not self.icpc:
            return None
        return round(100 * (self.duration_0_10_days + self.duration_11_15_days) / self.icpc, 1)


Row = TypeVar("Row", bound=AreaRow)


def _number(value: str, kind: Callable[[str], Any]) -> Any:
    text = value.strip()
    if text in SUPPRESSION_MARKERS:
        return None
    return kind(text)  # raises ValueError on an unknown marker: the package data would be corrupt


def _area(record: Mapping[str, str]) -> dict[str, Any]:
    return {
        "time_period": int(record["time_period"]),
        "geographic_level": record["geographic_level"].strip(),
        "region_code": record["region_code"].strip(),
        "region_name": record["region_name"].strip(),
        "old_la_code": record["old_la_code"].strip(),
        "new_la_code": record["new_la_code"].strip(),
        "la_name": record["la_name"].strip(),
    }


def _parse(text: str, row_type: type[Row], counts: Iterable[str], percents: Iterable[str] = ()) -> list[Row]:
    """Rows in file order, keeping the first of any rows that repeat the same area and year."""
    counts, percents = tuple(counts), tuple(percents)
    rows: dict[tuple[int, str, str, str, str], Row] = {}
    for record in csv.DictReader(io.StringIO(text)):
        fields = _area(record)
        fields |= {name.lower().replace("-", "_"): _number(record[name], int) for name in counts}
        fields |= {name.lower(): _number(record[name], float) for name in percents}
        row = row_type(**fields)
        rows.setdefault(row.key, row)
    return list(rows.values())


def parse_c1(text: str) -> list[C1Row]:
    return _parse(text, C1Row, _C1_COUNTS, _C1_PERCENTS)


def parse_d3(text: str) -> list[D3Row]:
    return _parse(text, D3Row, _D3_COUNTS, _D3_PERCENTS)


def parse_b1(text: str) -> list[B1Row]:
    return _parse(text, B1Row, _B1_COUNTS)


def parse_c4(text: str) -> list[C4Row]:
    return _parse(text, C4Row, _C4_COUNTS)


def _read(filename: str) -> str:
    # utf-8-sig: DfE exports sometimes start with a byte-order mark.
    return resources.files(__package__).joinpath("data", filename).read_text(encoding="utf-8-sig")


class _Table(Generic[Row]):
    """One packaged table, parsed on first use and indexed by (year, old or new LA code)."""

    def __init__(self, filename: str, parse: Callable[[str], list[Row]]) -> None:
        self._filename = filename
        self._parse = parse

    @functools.cached_property
    def rows(self) -> tuple[Row, ...]:
        return tuple(self._parse(_read(self._filename)))

    @functools.cached_property
    def _by_la(self) -> dict[tuple[int, str], Row]:
        index: dict[tuple[int, str], Row] = {}
        for row in self.rows:
            if row.geographic_level == LOCAL_AUTHORITY:
                index[(row.time_period, row.old_la_code)] = row
                index[(row.time_period, row.new_la_code)] = row
        return index

    def for_la(self, la_code: str, year: int) -> Row | None:
        return self._by_la.get((year, la_code.strip()))

    def national(self, year: int) -> Row | None:
        return next((r for r in self.rows if r.time_period == year and r.geographic_level == NATIONAL), None)

    def councils(self, year: int) -> list[Row]:
        return [r for r in self.rows if r.time_period == year and r.geographic_level == LOCAL_AUTHORITY]


_C1 = _Table(C1_FILE, parse_c1)
_D3 = _Table(D3_FILE, parse_d3)
_B1 = _Table(B1_FILE, parse_b1)
_C4 = _Table(C4_FILE, parse_c4)


def load_c1() -> list[C1Row]:
    return list(_C1.rows)


def load_d3() -> list[D3Row]:
    return list(_D3.rows)


def load_b1() -> list[B1Row]:
    return list(_B1.rows)


def load_c4() -> list[C4Row]:
    return list(_C4.rows)


def c1_for(la_code: str, year: int) -> C1Row | None:
    """A council's C1 row by its three-digit DfE code (or ONS code) and year ending 31 March."""
    return _C1.for_la(la_code, year)


def d3_for(la_code: str, year: int) -> D3Row | None:
    return _D3.for_la(la_code, year)


def b1_for(la_code: str, year: int) -> B1Row | None:
    return _B1.for_la(la_code, year)


def national_c1(year: int) -> C1Row | None:
    return _C1.national(year)


def national_d3(year: int) -> D3Row | None:
    return _D3.national(year)


def national_b1(year: int) -> B1Row | None:
    return _B1.national(year)


def councils_c1(year: int) -> list[C1Row]:
    return _C1.councils(year)


def median_council_c1(year: int) -> C1Row | None:
    """The council with the median referral count that year (the lower median if the count is even)."""
    ranked = sorted(
        (r for r in _C1.councils(year) if r.referral_count is not None),
        key=lambda r: (r.referral_count or 0, r.old_la_code),
    )
    return ranked[(len(ranked) - 1) // 2] if ranked else None
