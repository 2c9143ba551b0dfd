"""Indicators in DfE Children in Need census terms, computed from children's histories in event time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

from services.core.calendar import minus_months
from services.core.config import Rules
from services.core.definitions import referrals
from services.core.facts import Kind
from services.core.history import ChildHistory


@dataclass(frozen=True, slots=True)
class Referral:
    """One referral in DfE terms: one (council, child, referral date), however many records it has.

    `rereferral` is the core's one decision (definitions.is_rereferral), under the definition in force on `day`.
    """

    la_code: str
    child_key: str
    day: dt.date
    nfa: bool
    records: int  # distinct referral records collapsed into it: >1 when same-day duplicates were collapsed
    rereferral: bool


def referrals_of(history: ChildHistory, rules: Rules) -> list[Referral]:
    """A child's referrals in date order; one is NFA if any of its records was marked NFA."""
    nfa_refs = {f.ref for f in history.facts if f.kind is Kind.REFERRAL_NFA}
    return [
        Referral(history.la_code, history.child_key, r.day, not r.refs.isdisjoint(nfa_refs), len(r.refs), r.rereferral)
        for r in referrals(history.facts, rules, history.la_code)
    ]


@dataclass(frozen=True, slots=True)
class RereferralStats:
    """The C1 figures for one period: referral-level (the DfE headline) and child-level rates."""

    referrals: int
    rereferrals: int
    rereferral_rate: float
    children_referred: int
    children_rereferred: int
    child_rereferral_rate: float
    nfa_referrals: int
    same_day_collapsed: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 6) if whole else 0.0


def rereferral_stats(histories: Iterable[ChildHistory], start: dt.date, end: dt.date, rules: Rules) -> RereferralStats:
    """Referrals dated in [start, end]; each is a re-referral if the same child had one in the window before.

    Previous referrals are looked up across the whole history, so a look-back crosses the period start,
    and NFA referrals count both as current and as previous referrals (CIN census guidance).
    """
    return _stats([referrals_of(h, rules) for h in histories], start, end)


def _stats(children_referrals: Iterable[list[Referral]], start: dt.date, end: dt.date) -> RereferralStats:
    referrals = rereferrals = children = children_re = nfa = collapsed = 0
    for days in children_referrals:
        in_period = [r for r in days if start <= r.day <= end]
        if not in_period:
            continue
        children += 1
        flagged = [r for r in in_period if r.rereferral]
        referrals += len(in_period)
        rereferrals += len(flagged)
        children_re += 1 if flagged else 0
        nfa += sum(1 for r in in_period if r.nfa)
        collapsed += sum(r.records - 1 for r in in_period)
    return RereferralStats(
        referrals=referrals,
        rereferrals=rereferrals,
        rereferral_rate=_rate(rereferrals, referrals),
        children_referred=children,
        children_rereferred=children_re,
        child_rereferral_rate=_rate(children_re, children),
        nfa_referrals=nfa,
        same_day_collapsed=collapsed,
    )


def reporting_year_start(day: dt.date) -> dt.date:
    """1 April of the DfE reporting year (April to March) that contains `day`."""
    return dt.date(day.year if day.month >= 4 else day.year - 1, 4, 1)


def snapshot(histories: Iterable[ChildHistory], as_of: dt.date, rules: Rules) -> dict[str, dict[str, object]]:
    """Per council: the rolling 12 months to `as_of` and the reporting year to date, in event time."""
    # Each child's referrals are worked out once and shared by both periods.
    by_council: dict[str, list[list[Referral]]] = {}
    for history in histories:
        by_council.setdefault(history.la_code, []).append(referrals_of(history, rules))
    return snapshot_of(by_council, as_of)


def snapshot_of(by_council: Mapping[str, list[list[Referral]]], as_of: dt.date) -> dict[str, dict[str, object]]:
    """`snapshot` from each council's children's referrals (`referrals_of`), worked out wherever they were."""
    rolling_start = minus_months(as_of, 12) + dt.timedelta(days=1)
    return {
        la_code: {
            "as_of": as_of.isoformat(),
            "rolling_12_months": _stats(children, rolling_start, as_of).as_dict(),
            "reporting_year_to_date": _stats(children, reporting_year_start(as_of), as_of).as_dict(),
        }
        for la_code, children in sorted(by_council.items())
    }
