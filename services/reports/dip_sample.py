"""The audit dip sample: re-referrals of a quarter drawn per stratum, proportionally, reproducibly from a seed.

Allocation (docs/reports.md): each non-empty stratum's quota is size x its share of the population; each gets
the whole part of its quota but at least one (and never more than it holds), and the places left go to the
largest remainders (ties: the larger stratum, then its name). Drawing: Python's `random.Random(seed)` samples
each stratum in name order from its re-referrals sorted by date and pseudonym, so a seed gives one sample.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from services.core.rereferral_list import Rereferral

By = Literal["closing-team", "closure-reason", "none"]
STRATUM: dict[str, Callable[[Rereferral], str]] = {
    "closing-team": lambda r: r.previous_team,
    "closure-reason": lambda r: r.previous_closure_reason,
    "none": lambda r: "all",
}
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


def quarter_days(quarter: str) -> tuple[dt.date, dt.date]:
    """ "2024-Q3" -> (2024-07-01, 2024-09-30): calendar quarters, as `report --by quarter`."""
    match = _QUARTER.match(quarter)
    if match is None:
        raise ValueError(f"quarter {quarter!r}: expected YYYY-QN, e.g. 2024-Q3")
    year, number = int(match.group(1)), int(match.group(2))
    first = dt.date(year, number * 3 - 2, 1)
    following = dt.date(year + (number == 4), 1 if number == 4 else number * 3 + 1, 1)
    return first, following - dt.timedelta(days=1)


def allocate(population: Mapping[str, int], size: int) -> dict[str, int]:
    """Places per stratum: proportional by largest remainder, at least one per non-empty stratum."""
    strata = {name: n for name, n in population.items() if n > 0}
    total = sum(strata.values())
    if size >= total:
        return dict(strata)
    if size < len(strata):
        raise ValueError(f"a sample of {size} cannot take one from each of {len(strata)} non-empty strata")
    quota = {name: size * n / total for name, n in strata.items()}
    places = {name: min(n, max(1, math.floor(quota[name]))) for name, n in strata.items()}

    def order(name: str) -> tuple[float, int, str]:
        return (quota[name] - places[name], strata[name], name)

    while sum(places.values()) < size:
        name = max((s for s in strata if places[s] < strata[s]), key=order)
        places[name] += 1
    while sum(places.values()) > size:  # the minimum of one pushed it over: take back from the most over quota
        name = min((s for s in strata if places[s] > 1), key=order)
        places[name] -= 1
    return places


@dataclass(frozen=True, slots=True)
class DipSample:
    la_code: str
    quarter: str
    by: str
    seed: int
    size: int
    population: dict[str, int]  # stratum -> re-referrals in the quarter
    allocation: dict[str, int]  # stratum -> drawn
    drawn: tuple[tuple[str, Rereferral], ...]  # (stratum, re-referral), in stratum then date order

    def rows(self) -> list[dict[str, Any]]:
        """The sample as flat rows (CSV, JSON): pseudonyms and dates, never a child's own identifier."""
        out = []
        for stratum, r in self.drawn:
            record = asdict(r)
            out.append(
                {"stratum": stratum, "pseudonym": record.pop("child_key")}
                | {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in record.items()}
            )
        return out

    def same_concern(self) -> int:
        return sum(1 for _, r in self.drawn if r.same_concern)


def draw_dip_sample(
    rereferrals: Sequence[Rereferral], la_code: str, quarter: str, *, size: int, by: By, seed: int
) -> DipSample:
    """The quarter's re-referrals of `la_code`, stratified `by`, `size` of them drawn with `seed`."""
    first, last = quarter_days(quarter)
    stratum = STRATUM[by]
    groups: dict[str, list[Rereferral]] = {}
    for r in rereferrals:
        if r.la_code == la_code and first <= r.referral_date <= last:
            groups.setdefault(stratum(r), []).append(r)
    population = {name: len(members) for name, members in sorted(groups.items())}
    allocation = allocate(population, size)
    rng = random.Random(seed)  # noqa: S311  # an audit sample, reproducible by design; not a secret
    drawn: list[tuple[str, Rereferral]] = []
    for name in sorted(groups):
        members = sorted(groups[name], key=lambda r: (r.referral_date, r.child_key))
        chosen = rng.sample(members, allocation.get(name, 0))
        drawn += [(name, r) for r in sorted(chosen, key=lambda r: (r.referral_date, r.child_key))]
    return DipSample(la_code, quarter, by, seed, size, population, allocation, tuple(drawn))
