"""Indicator values from a council's aggregate totals at a date: pure, no Prometheus, unit-tested by hand."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from schemas.codes import PrimaryNeed, SourceGroup
from services.core.aggregates import AggregateKey
from services.core.indicators import reporting_year_start
from services.core.workdays import OutsideBankHolidayDataError, add_working_days, working_days_between

Totals = Mapping[AggregateKey, int]

# Measures these gauges read that services.core.aggregates does not publish yet (see docs/metrics.md):
# a child counts once in month M if a referral dated in M-5..M had a previous referral within 6 months;
TWO_REFERRALS_MEASURE = "children_two_referrals_r6"
# a contact with no ContactDecided yet, counted in the month it was received.
UNDECIDED_CONTACTS_MEASURE = "contacts_undecided"

ASSESSMENT_WORKING_DAYS = 45  # Working Together: assessments complete within 45 working days of referral
PROGRESSED_DECISIONS = ("referral", "strategy_s47")  # contact decisions that take a contact into social care
SOURCE_GROUPS = tuple(g.value for g in SourceGroup)
PRIMARY_NEEDS = (*(n.value for n in PrimaryNeed), "unknown")


def month_key(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def months_ending(day: dt.date, count: int) -> tuple[str, ...]:
    """The `count` calendar months ending with `day`'s month, oldest first."""
    index = day.year * 12 + day.month - 1
    return tuple(f"{(i // 12):04d}-{(i % 12 + 1):02d}" for i in range(index - count + 1, index + 1))


def ratio(part: int, whole: int) -> float | None:
    """A fraction from 0 to 1 (6 decimal places, as the core's rates); None when there is no denominator."""
    return round(part / whole, 6) if whole else None


class _Index:
    """Totals indexed by measure, then month, then label, so each window sum is a few dict lookups."""

    def __init__(self, totals: Totals) -> None:
        self.by_measure: dict[str, dict[str, dict[str, int]]] = {}
        for (month, measure, label), value in totals.items():
            if value:
                months = self.by_measure.setdefault(measure, {})
                labels = months.setdefault(month, {})
                labels[label] = labels.get(label, 0) + value

    def total(self, measure: str, months: Iterable[str] | None = None, label: str | None = None) -> int:
        by_month = self.by_measure.get(measure, {})
        picked = by_month.values() if months is None else (by_month.get(m, {}) for m in months)
        if label is None:
            return sum(sum(labels.values()) for labels in picked)
        return sum(labels.get(label, 0) for labels in picked)

    def labelled(self, measure: str, months: Iterable[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for month in months:
            for label, value in self.by_measure.get(measure, {}).get(month, {}).items():
                out[label] = out.get(label, 0) + value
        return out


@dataclass(frozen=True, slots=True)
class SourceGroupFunnel:
    """One Annex A source group over the rolling 12 months. Assessments are not split by source in the totals."""

    contacts: int
    referrals: int
    rereferrals: int
    nfa_referrals: int

    @property
    def contact_to_referral(self) -> float | None:
        return ratio(self.referrals, self.contacts)

    @property
    def rereferral(self) -> float | None:
        return ratio(self.rereferrals, self.referrals)

    @property
    def nfa(self) -> float | None:
        return ratio(self.nfa_referrals, self.referrals)


@dataclass(frozen=True, slots=True)
class NeedBreakdown:
    referrals: int
    rereferrals: int

    @property
    def rereferral(self) -> float | None:
        return ratio(self.rereferrals, self.referrals)


@dataclass(frozen=True, slots=True)
class CouncilIndicators:
    """Every indicator gauge of one council on `as_of` (the English date of "now"), from event-time totals."""

    as_of: dt.date
    referrals_r12: int
    rereferrals_r12: int
    rereferral_r12: float | None
    rereferral_ytd: float | None
    child_rereferral_r12: float | None
    child_rereferral_ytd: float | None
    rereferral_last_quarter: float | None
    rereferral_quarter_before_last: float | None
    children_two_referrals_in_six_months: int
    contact_to_referral: float | None
    referral_to_assessment: float | None
    referral_nfa: float | None
    assessed_not_in_need: float | None
    cpp_second_or_subsequent: float | None
    cpp_second_within_two_years: float | None
    assessments_open_past_45_working_days: int | None  # None when "now" is outside the bank holiday data
    open_caseload: int
    contacts_awaiting_decision: int
    by_source_group: Mapping[str, SourceGroupFunnel]
    by_primary_need: Mapping[str, NeedBreakdown]
    expected_contacts_per_working_day: Mapping[str, float]


def reporting_year_months(day: dt.date) -> tuple[str, ...]:
    """1 April of `day`'s reporting year up to `day`'s month."""
    start = reporting_year_start(day)
    count = (day.year - start.year) * 12 + day.month - start.month + 1
    return months_ending(day, count)


def completed_quarters(day: dt.date) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The last complete calendar quarter before `day`'s quarter, and the one before it (DfE quarters align)."""
    quarter_start = dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    last = months_ending(quarter_start - dt.timedelta(days=1), 3)
    before = months_ending(dt.date.fromisoformat(last[0] + "-01") - dt.timedelta(days=1), 3)
    return last, before


def overdue_assessments(index: _Index, today: dt.date) -> int | None:
    """Assessments still open whose 45th working day after the start date is before today."""
    try:
        cutoff = add_working_days(today, -ASSESSMENT_WORKING_DAYS).isoformat()
    except OutsideBankHolidayDataError:
        return None
    return sum(
        value
        for labels in index.by_measure.get("assessments_open", {}).values()
        for start, value in labels.items()
        if start < cutoff  # ISO dates compare in date order
    )


def expected_contacts(index: _Index, today: dt.date) -> dict[str, float]:
    """Average contacts per working day by source group over the 12 complete months before this one."""
    first_of_month = today.replace(day=1)
    months = months_ending(first_of_month - dt.timedelta(days=1), 12)
    start = dt.date.fromisoformat(months[0] + "-01") - dt.timedelta(days=1)
    try:
        days = working_days_between(start, first_of_month - dt.timedelta(days=1))
    except OutsideBankHolidayDataError:
        return {}
    contacts = index.labelled("contacts", months)
    return {group: round(contacts.get(group, 0) / days, 6) for group in SOURCE_GROUPS} if days else {}


def council_indicators(totals: Totals, today: dt.date) -> CouncilIndicators:
    """All gauges for one council. Rolling 12 months = the current calendar month and the 11 before it."""
    index = _Index(totals)
    r12, ytd, month = months_ending(today, 12), reporting_year_months(today), month_key(today)
    last_quarter, quarter_before = completed_quarters(today)
    referrals, rereferrals = index.total("referrals", r12), index.total("rereferrals", r12)
    decisions = index.labelled("contact_decisions", r12)
    groups = {name: index.labelled(name, r12) for name in ("contacts", "referrals", "rereferrals", "nfa_referrals")}
    needs = {name: index.labelled(name, r12) for name in ("referrals_by_need", "rereferrals_by_need")}
    cpp_starts = index.total("cpp_starts", r12)
    return CouncilIndicators(
        as_of=today,
        referrals_r12=referrals,
        rereferrals_r12=rereferrals,
        rereferral_r12=ratio(rereferrals, referrals),
        rereferral_ytd=ratio(index.total("rereferrals", ytd), index.total("referrals", ytd)),
        child_rereferral_r12=ratio(
            index.total("children_rereferred_r12", [month]), index.total("children_referred_r12", [month])
        ),
        child_rereferral_ytd=ratio(
            index.total("children_rereferred_ytd", [month]), index.total("children_referred_ytd", [month])
        ),
        rereferral_last_quarter=ratio(index.total("rereferrals", last_quarter), index.total("referrals", last_quarter)),
        rereferral_quarter_before_last=ratio(
            index.total("rereferrals", quarter_before), index.total("referrals", quarter_before)
        ),
        children_two_referrals_in_six_months=index.total(TWO_REFERRALS_MEASURE, [month]),
        contact_to_referral=ratio(sum(decisions.get(d, 0) for d in PROGRESSED_DECISIONS), sum(decisions.values())),
        referral_to_assessment=ratio(index.total("assessments_started", r12), referrals),
        referral_nfa=ratio(index.total("nfa_referrals", r12), referrals),
        assessed_not_in_need=ratio(index.total("assessments_not_in_need", r12), referrals),
        cpp_second_or_subsequent=ratio(index.total("cpp_repeat_ever", r12), cpp_starts),
        cpp_second_within_two_years=ratio(index.total("cpp_repeat_within_two_years", r12), cpp_starts),
        assessments_open_past_45_working_days=overdue_assessments(index, today),
        open_caseload=index.total("referrals_open"),
        contacts_awaiting_decision=index.total(UNDECIDED_CONTACTS_MEASURE),
        by_source_group={g: SourceGroupFunnel(*(groups[name].get(g, 0) for name in groups)) for g in SOURCE_GROUPS},
        by_primary_need={
            n: NeedBreakdown(needs["referrals_by_need"].get(n, 0), needs["rereferrals_by_need"].get(n, 0))
            for n in PRIMARY_NEEDS
        },
        expected_contacts_per_working_day=expected_contacts(index, today),
    )
