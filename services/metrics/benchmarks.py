"""DfE C1, D3 and C4 benchmark figures for one council: England, its region, its statistical neighbours and itself."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from services.reference.official_statistics import (
    NATIONAL,
    REGIONAL,
    AreaRow,
    C1Row,
    C4Row,
    D3Row,
    load_c1,
    load_c4,
    load_d3,
)

ENGLAND, REGION, NEIGHBOURS = "england", "region", "neighbours"

# The published percentages each benchmark gauge shows, as fractions (DfE rounds them to one decimal place).
C1_FIGURES: dict[str, Callable[[C1Row], float | None]] = {
    "rereferral": lambda r: r.rereferral_percent,
    "child_rereferral": lambda r: r.rereferral_child_percent,
    "referral_nfa": lambda r: r.no_further_action_percent,
    "assessed_not_in_need": lambda r: r.not_in_need_percent,
}
D3_FIGURES: dict[str, Callable[[D3Row], float | None]] = {
    "cpp_second_or_subsequent": lambda r: r.cpp_subsequent_percent,
}
C4_FIGURES: dict[str, Callable[[C4Row], float | None]] = {
    "icpc_within_15_days": lambda r: r.icpc_within_15_days_percent,
}
TREND_FIGURES = ("rereferral", "cpp_second_or_subsequent")

Row = TypeVar("Row", bound=AreaRow)


@dataclass(frozen=True, slots=True)
class BenchmarkPoint:
    figure: str  # a key of C1_FIGURES or D3_FIGURES
    area: str  # england, region, neighbours, or the council's own la_code
    year: int  # the year ending 31 March
    value: float  # a fraction from 0 to 1


def _fraction(percent: float | None) -> float | None:
    return None if percent is None else round(percent / 100, 6)


class _Rows(Generic[Row]):
    """One table's rows indexed for the lookups a council's benchmarks need."""

    def __init__(self, rows: Sequence[Row]) -> None:
        self.national: dict[int, Row] = {}
        self.regional: dict[tuple[int, str], Row] = {}
        self.councils: dict[tuple[int, str], Row] = {}
        for row in rows:
            if row.geographic_level == NATIONAL:
                self.national[row.time_period] = row
            elif row.geographic_level == REGIONAL:
                self.regional[(row.time_period, row.region_code)] = row
            elif row.old_la_code:
                self.councils[(row.time_period, row.old_la_code)] = row
        self.years = tuple(sorted(self.national))

    def areas(self, la_code: str, neighbours: Sequence[str], year: int) -> dict[str, list[Row]]:
        own = self.councils.get((year, la_code))
        out: dict[str, list[Row]] = {}
        if year in self.national:
            out[ENGLAND] = [self.national[year]]
        if own is not None:
            out[la_code] = [own]
            if (year, own.region_code) in self.regional:
                out[REGION] = [self.regional[(year, own.region_code)]]
        peers = [self.councils[(year, code)] for code in neighbours if (year, code) in self.councils]
        if peers:
            out[NEIGHBOURS] = peers
        return out

    def points(
        self, figures: Mapping[str, Callable[[Row], float | None]], la_code: str, neighbours: Sequence[str]
    ) -> list[BenchmarkPoint]:
        points: list[BenchmarkPoint] = []
        for year in self.years:
            for area, area_rows in self.areas(la_code, neighbours, year).items():
                for figure, read in figures.items():
                    values = [v for v in (read(r) for r in area_rows) if v is not None]
                    value = _fraction(statistics.fmean(values) if area == NEIGHBOURS else values[0]) if values else None
                    if value is not None:
                        points.append(BenchmarkPoint(figure, area, year, value))
        return points


class Benchmarks:
    """Benchmarks read from the shipped DfE tables, for the neighbours the caller names (configured or DfE's model).

    The neighbours' figure is the simple mean of the neighbours' published percentages, as DfE's
    benchmarking tools show it; councils whose figure is suppressed are left out of the mean.
    """

    def __init__(self, c1: Sequence[C1Row] | None = None, d3: Sequence[D3Row] | None = None) -> None:
        self._c1 = _Rows(load_c1() if c1 is None else c1)
        self._d3 = _Rows(load_d3() if d3 is None else d3)
        self._c4: _Rows[C4Row] | None = None  # read on first use: only the series report shows C4

    @property
    def latest_year(self) -> int:
        return self._c1.years[-1]

    def latest_england(self, figure: str) -> float | None:
        row = self._c1.national.get(self.latest_year)
        return None if row is None or figure not in C1_FIGURES else _fraction(C1_FIGURES[figure](row))

    def for_council(self, la_code: str, neighbours: Sequence[str] = ()) -> list[BenchmarkPoint]:
        """Every figure for every area in every year that has it; the latest year is `latest_year`."""
        return self._c1.points(C1_FIGURES, la_code, neighbours) + self._d3.points(D3_FIGURES, la_code, neighbours)

    def with_c4(self, la_code: str, neighbours: Sequence[str] = ()) -> list[BenchmarkPoint]:
        """`for_council` and C4's ICPC timeliness (the series report shows it; the gauges do not)."""
        if self._c4 is None:
            self._c4 = _Rows(load_c4())
        return self.for_council(la_code, neighbours) + self._c4.points(C4_FIGURES, la_code, neighbours)
