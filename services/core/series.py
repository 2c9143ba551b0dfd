"""A council's series of every indicator by month, quarter or reporting year, from its totals alone. Pure.

The totals are the sum of its children's `aggregates.contribution`s: what the live worker holds per council and
what `report --by` sums offline, so live and offline series are equal by construction. Counts are integers;
`*_rate` keys are fractions (None when the denominator is 0). Month-end keys are stocks, and rolling keys look
back 12 months from the period's end, so a quarter or year takes them from its last month; the rest are summed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Literal

from schemas.codes import ClosureReason, PrimaryNeed, SourceGroup
from services.core.demand import STOCKS
from services.core.funnel import NOT_CLOSED, STEP_DOWN

Period = Literal["month", "quarter", "year"]
Row = dict[str, str | int | float | None]
AggregateKey = tuple[str, str, str]

GROUPS = tuple(g.value for g in SourceGroup)
NEEDS = (*(n.value for n in PrimaryNeed), "unknown")
REASONS = tuple(r.value for r in ClosureReason)
EVENT_MEASURES = ("contacts", "referrals", "assessments_started", "cpp_starts", "contact_decisions")

# measure -> key: counts of the month, summed over a group's labels
_SUMMED = {
    "referrals": "referrals",
    "rereferrals": "rereferrals",
    "nfa_referrals": "nfa_referrals",
    "cpp_starts": "cpp_started",
    "cpp_repeat_ever": "cpp_subsequent_ever",
    "cpp_repeat_within_two_years": "cpp_subsequent_within_2y",
    "contacts": "contacts",
    "funnel_referred": "funnel_referred",
    "funnel_assessed": "funnel_assessed",
    "funnel_in_need": "funnel_in_need",
    "assessments_started": "assessments_started",
    "children_referred": "children_referred",
    "children_rereferred": "children_rereferred",
    "children_referred_r12": "children_referred_r12",
    "children_rereferred_r12": "children_rereferred_r12",
}
# measure -> (key prefix, fixed labels shown even when 0; None: only the labels present)
_BY_LABEL: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "contacts": ("contacts", GROUPS),
    "referrals": ("referrals", GROUPS),
    "nfa_referrals": ("nfa_referrals", GROUPS),
    "funnel_referred": ("funnel_referred", GROUPS),
    "funnel_assessed": ("funnel_assessed", GROUPS),
    "funnel_in_need": ("funnel_in_need", GROUPS),
    "referrals_by_need": ("referrals_need", NEEDS),
    "closures_by_reason": ("closures", REASONS),
    "rereferrals_by_previous_reason": ("rereferrals_previous_reason", (*REASONS, NOT_CLOSED)),
    "rereferrals_by_previous_team": ("rereferrals_previous_team", None),
}
ROLLING = ("referrals_r12", "rereferrals_r12", "children_referred_r12", "children_rereferred_r12")
LAST_OF_PERIOD = frozenset((*STOCKS, *ROLLING, "rereferral_rate_r12", "children_rereferral_rate_r12"))
RATES = {  # rate key -> (numerator, denominator)
    "rereferral_rate": ("rereferrals", "referrals"),
    "nfa_rate": ("nfa_referrals", "referrals"),
    "rereferral_rate_r12": ("rereferrals_r12", "referrals_r12"),
    "children_rereferral_rate_r12": ("children_rereferred_r12", "children_referred_r12"),
    "cpp_subsequent_rate": ("cpp_subsequent_ever", "cpp_started"),
    "cpp_subsequent_within_2y_rate": ("cpp_subsequent_within_2y", "cpp_started"),
    "contact_to_referral_rate": ("funnel_referred", "contacts"),
    "referral_to_assessment_rate": ("funnel_assessed", "funnel_referred"),
    "assessment_to_in_need_rate": ("funnel_in_need", "funnel_assessed"),
    "rereferrals_after_step_down_rate": ("rereferrals_after_step_down", "rereferrals"),
    "step_down_rereferral_rate": ("rereferrals_after_step_down", "step_downs"),
}


def _month_index(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def _month_name(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def months_covered(totals: Mapping[AggregateKey, int]) -> list[str]:
    """Every month from the first to the last with a dated event (contact, referral, assessment, plan)."""
    dated = [_month_index(m) for (m, measure, _), n in totals.items() if n and measure in EVENT_MEASURES]
    return [_month_name(i) for i in range(min(dated), max(dated) + 1)] if dated else []


def _rate(numerator: object, denominator: object) -> float | None:
    if not isinstance(numerator, int) or not isinstance(denominator, int) or denominator <= 0:
        return None
    return round(numerator / denominator, 6)


def _add_rates(row: Row) -> Row:
    for key, (numerator, denominator) in RATES.items():
        row[key] = _rate(row.get(numerator), row.get(denominator))
    return row


def monthly_series(totals: Mapping[AggregateKey, int], months: Iterable[str] | None = None) -> list[Row]:
    """One row per month (default: `months_covered`) with every key the issue lists; see the module docstring."""
    shown = list(months_covered(totals) if months is None else months)
    by_month: dict[str, dict[tuple[str, str], int]] = defaultdict(dict)
    for (month, measure, label), n in totals.items():
        by_month[month][(measure, label)] = n
    stocks = _stocks(totals, shown)
    referrals = {m: sum(n for (measure, _), n in v.items() if measure == "referrals") for m, v in by_month.items()}
    rereferrals = {m: sum(n for (measure, _), n in v.items() if measure == "rereferrals") for m, v in by_month.items()}
    rows: list[Row] = []
    for month in shown:
        cells = by_month.get(month, {})
        row: Row = {"month": month}
        row |= dict.fromkeys(_SUMMED.values(), 0)
        for (measure, label), n in sorted(cells.items()):
            if (key := _SUMMED.get(measure)) is not None:
                row[key] = int(row[key] or 0) + n
            if (labelled := _BY_LABEL.get(measure)) is not None and (labelled[1] is None or label in labelled[1]):
                row[f"{labelled[0]}_{label}"] = int(row.get(f"{labelled[0]}_{label}") or 0) + n
        for prefix, fixed in _BY_LABEL.values():
            for label in fixed or ():
                row.setdefault(f"{prefix}_{label}", 0)
        window = [_month_name(i) for i in range(_month_index(month) - 11, _month_index(month) + 1)]
        row["referrals_r12"] = sum(referrals.get(m, 0) for m in window)
        row["rereferrals_r12"] = sum(rereferrals.get(m, 0) for m in window)
        row["step_downs"] = row[f"closures_{STEP_DOWN}"]
        row["rereferrals_after_step_down"] = row[f"rereferrals_previous_reason_{STEP_DOWN}"]
        row |= stocks[month]
        rows.append(_add_rates(row))
    return rows


def _stocks(totals: Mapping[AggregateKey, int], shown: list[str]) -> dict[str, dict[str, int]]:
    """Each stock at each shown month's end: the running sum of its `_from` less its `_until` (see demand)."""
    change: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(STOCKS, 0))
    for (month, measure, _), n in totals.items():
        for stock in STOCKS:
            if measure == stock + "_from":
                change[_month_index(month)][stock] += n
            elif measure == stock + "_until":
                change[_month_index(month)][stock] -= n
    levels, running, pending = {}, dict.fromkeys(STOCKS, 0), sorted(change)
    for month in sorted(shown, key=_month_index):
        index = _month_index(month)
        while pending and pending[0] <= index:
            for stock, n in change[pending.pop(0)].items():
                running[stock] += n
        levels[month] = dict(running)
    return levels


def month_keys() -> tuple[str, ...]:
    """Every key a month row has whatever the data (not `month`, nor keys named by data: a closing team's)."""
    return tuple(key for key in monthly_series({}, ["2000-01"])[0] if key != "month")


def period_of(month: str, period: Period) -> str:
    """ "2024-05" -> "2024-05", "2024-Q2" (calendar quarter) or "2024-25" (reporting year, April to March)."""
    year, number = int(month[:4]), int(month[5:7])
    if period == "month":
        return month
    if period == "quarter":
        return f"{year}-Q{(number - 1) // 3 + 1}"
    start = year if number >= 4 else year - 1
    return f"{start}-{(start + 1) % 100:02d}"


def series_by(totals: Mapping[AggregateKey, int], period: Period, months: Iterable[str] | None = None) -> list[Row]:
    """The series by month, calendar quarter or reporting year; a year's children are its distinct children."""
    rows = monthly_series(totals, months)
    if period == "month":
        return rows
    grouped: dict[str, list[Row]] = {}
    for row in rows:
        grouped.setdefault(period_of(str(row["month"]), period), []).append(row)
    out: list[Row] = []
    for name, members in grouped.items():
        combined: Row = {period: name, "months": len(members)}
        for key in dict.fromkeys(k for member in members for k in member):  # every key, in first-seen order
            if key == "month" or key in RATES:
                continue
            if key in LAST_OF_PERIOD:
                combined[key] = members[-1].get(key)
            else:
                combined[key] = sum(int(m.get(key) or 0) for m in members)
        if period == "year":  # distinct children in the reporting year: the year-to-date count at its last month
            last = str(members[-1]["month"])
            combined["children_referred"] = totals.get((last, "children_referred_ytd", ""), 0)
            combined["children_rereferred"] = totals.get((last, "children_rereferred_ytd", ""), 0)
        else:  # a child referred in two months of a quarter would count twice
            combined["children_referred"] = combined["children_rereferred"] = None
        out.append(_add_rates(combined))
    return out
