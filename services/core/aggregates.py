"""Council-level aggregates as each child's contribution: additive, so council totals are sums over children.

A council's totals are the sum of its children's contributions: the live worker adds what a changed child
contributes now and takes away what it contributed before, and `report` sums them over the histories.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from schemas.codes import ReferralSource, source_group
from services.core.config import Rules
from services.core.definitions import is_two_referrals_in_six_months, plans, referrals
from services.core.demand import CHANGE_MEASURES, add_demand
from services.core.facts import Fact
from services.core.funnel import add_funnel, add_previous_closures
from services.core.history import ChildHistory
from services.core.indicators import reporting_year_start
from services.core.records import Records, index

# (month "YYYY-MM", measure, label). The council is the key the contribution is published under.
AggregateKey = tuple[str, str, str]

MEASURES = (
    "contacts",  # label: source group; distinct contacts received in the month
    "contact_decisions",  # label: outcome (referral, strategy_s47, nfa, advice_signpost, early_help)
    "contacts_undecided",  # label: source group; contacts with no decision yet, by month received
    "referrals",  # label: source group; DfE referrals (council, child, date) in the month
    "rereferrals",  # label: source group
    "referrals_by_need",  # label: primary need N0..N9 or "unknown"
    "rereferrals_by_need",  # label: primary need
    "nfa_referrals",  # label: source group
    "assessments_started",
    "assessments_authorised",
    "assessments_not_in_need",
    "assessments_open",  # label: start date; summed over dates older than 45 working days by the metrics layer
    "referrals_open",  # open caseload: referrals not closed and not marked NFA
    "cpp_starts",
    "cpp_repeat_ever",
    "cpp_repeat_within_two_years",
    "children_referred_r12",  # month = end of a rolling 12 months in which the child was referred
    "children_rereferred_r12",
    "children_two_referrals_r6",  # month M: a referral in M-5..M had a previous referral within the window
    "children_referred_ytd",  # month = a month of the reporting year; referred since 1 April up to its end
    "children_rereferred_ytd",
    "children_referred",  # 1 in each month the child was referred
    "children_rereferred",  # 1 in each month the child was re-referred
    "funnel_referred",  # label: contact's source group; contacts (by month received) that a referral names
    "funnel_assessed",  # ...whose referral has an assessment naming it
    "funnel_in_need",  # ...one of whose assessments found the child in need
    "closures_by_reason",  # label: RC1..RC9; referrals closed in the month (RC9: step-down to early help)
    "rereferrals_by_previous_team",  # label: the previous referral's closing team, "unknown", or "open"
    "rereferrals_by_previous_reason",  # label: the previous referral's closure reason, or "open"
    *CHANGE_MEASURES,  # month-end stocks as +1/-1 changes (services.core.demand); the series sums them
)


_MONTH_NAMES: dict[int, str] = {}  # month index (year * 12 + month - 1) -> "YYYY-MM"; a few hundred at most


def _month_name(index: int) -> str:
    name = _MONTH_NAMES.get(index)
    if name is None:
        name = _MONTH_NAMES[index] = f"{index // 12:04d}-{index % 12 + 1:02d}"
    return name


def _month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


_MONTH_OF: dict[dt.date, str] = {}  # date -> "YYYY-MM": one lookup on the hot path; a few thousand dates


def _month(day: dt.date) -> str:
    name = _MONTH_OF.get(day)
    if name is None:
        name = _MONTH_OF[day] = _month_name(_month_index(day))
    return name


_GROUPS: dict[str, str] = {}  # Annex A source code -> its group


def _group(code: str | None) -> str:
    if not code:
        return "unknown"
    group = _GROUPS.get(code)
    if group is None:
        group = _GROUPS[code] = source_group(ReferralSource(code)).value
    return group


def contribution(history: ChildHistory, rules: Rules) -> Counter[AggregateKey]:
    """Everything this child adds to its council's monthly aggregates, from its history in event time.

    Referrals and re-referrals are the core's (definitions.referrals), each under the council's definition in
    force on its date; `rules` may be a CouncilRules (the live worker passes `engine.rules`) or one RuleConfig.
    """
    facts, la_code = history.facts, history.la_code
    counts: Counter[AggregateKey] = Counter()
    found = referrals(facts, rules, la_code)
    records = index(facts)
    ended, nfa = records.ended.keys(), records.nfa
    two_in_six: list[bool] = []
    for referral in found:
        day, first, refs = referral.day, referral.first, referral.refs
        two_in_six.append(is_two_referrals_in_six_months(day, referral.previous_day, rules.at(la_code, day)))
        month, group, need = _month(day), _group(first.code), first.need or "unknown"
        counts[(month, "referrals", group)] += 1
        counts[(month, "referrals_by_need", need)] += 1
        if referral.rereferral:
            counts[(month, "rereferrals", group)] += 1
            counts[(month, "rereferrals_by_need", need)] += 1
        if refs & nfa:
            counts[(month, "nfa_referrals", group)] += 1
        if not refs & ended:
            counts[(month, "referrals_open", "")] += 1
    _add_contacts(records, counts)
    _add_assessments(records, counts)
    _add_plans(facts, counts, rules, la_code)
    add_funnel(records, counts, _month, _group)
    add_previous_closures(records, found, counts, _month)
    add_demand(records, found, counts, _month)
    # The child-level windows depend only on the referral days and which were re-referrals or second referrals
    # in six months: children share a few thousand such patterns, so they are worked out once each. Their keys
    # are theirs alone: dict.update.
    days = tuple(r.day for r in found)
    flags = tuple(r.rereferral for r in found)
    dict.update(counts, _child_windows(days, flags, tuple(two_in_six)))
    return counts


_WINDOWS: dict[tuple[tuple[dt.date, ...], tuple[bool, ...], tuple[bool, ...]], dict[AggregateKey, int]] = {}
_WINDOWS_LIMIT = 2_000  # about 15 MB when full (7 kB an entry); cleared, not evicted


def _child_windows(
    days: tuple[dt.date, ...], flags: tuple[bool, ...], two_in_six: tuple[bool, ...]
) -> dict[AggregateKey, int]:
    key = (days, flags, two_in_six)
    windows = _WINDOWS.get(key)
    if windows is None:
        if len(_WINDOWS) >= _WINDOWS_LIMIT:
            _WINDOWS.clear()
        counts: Counter[AggregateKey] = Counter()
        _add_children(list(days), {d for d, flag in zip(days, flags, strict=True) if flag}, counts)
        _add_two_in_six(days, two_in_six, counts)
        windows = _WINDOWS[key] = dict(counts)
    return windows


def _add_two_in_six(days: tuple[dt.date, ...], two_in_six: tuple[bool, ...], counts: Counter[AggregateKey]) -> None:
    """Children on the weekly review list: once per month whose trailing six months hold such a referral."""
    months: set[int] = set()
    for day, flagged in zip(days, two_in_six, strict=True):
        if flagged:
            first = _month_index(day)
            months.update(range(first, first + 6))
    for month in sorted(months):
        counts[(_month_name(month), "children_two_referrals_r6", "")] = 1


def _add_contacts(records: Records, counts: Counter[AggregateKey]) -> None:
    decided = {f.ref for f in records.decisions}
    for f in records.contacts.values():
        counts[(_month(f.day), "contacts", _group(f.code))] += 1
        if f.ref not in decided:
            counts[(_month(f.day), "contacts_undecided", _group(f.code))] += 1
    for f in records.decisions:
        counts[(_month(f.day), "contact_decisions", f.code or "unknown")] += 1


def _add_assessments(records: Records, counts: Counter[AggregateKey]) -> None:
    authorised = records.authorised
    for f in records.starts:
        counts[(_month(f.day), "assessments_started", "")] += 1
        if f.ref not in authorised:
            counts[(_month(f.day), "assessments_open", f.day.isoformat())] += 1
    for f in records.authorisations:
        counts[(_month(f.day), "assessments_authorised", "")] += 1
        if f.flag is False:
            counts[(_month(f.day), "assessments_not_in_need", "")] += 1


def _add_plans(facts: list[Fact], counts: Counter[AggregateKey], rules: Rules, la_code: str) -> None:
    for plan in plans(facts, rules, la_code):
        month = _month(plan.start)
        counts[(month, "cpp_starts", "")] += 1
        if plan.subsequent_ever:
            counts[(month, "cpp_repeat_ever", "")] += 1
        if plan.subsequent_within_two_years:
            counts[(month, "cpp_repeat_within_two_years", "")] += 1


def _add_children(days: list[dt.date], rereferred: set[dt.date], counts: Counter[AggregateKey]) -> None:
    """Child-level counts are not additive over months, so each child counts once per window it falls in."""
    r12: dict[int, bool] = {}  # month index -> re-referred in the rolling 12 months ending that month
    ytd: dict[int, bool] = {}
    for day in days:
        flagged = day in rereferred
        first = _month_index(day)
        for month in range(first, first + 12):  # rolling windows ending in this month and the next 11
            r12[month] = r12.get(month, False) or flagged
        year_end = (reporting_year_start(day).year + 1) * 12 + 2  # March, the reporting year's last month
        for month in range(first, year_end + 1):
            ytd[month] = ytd.get(month, False) or flagged
    # Each key below is this function's alone, so plain assignment (a Counter's += calls back into Python).
    for day in days:  # the month's own children: one each, re-referred if any of its referrals that month was
        key = _month(day)
        counts[(key, "children_referred", "")] = 1
        counts[(key, "children_rereferred", "")] = max(counts[(key, "children_rereferred", "")], day in rereferred)
    for month, flagged in r12.items():
        key = _month_name(month)
        counts[(key, "children_referred_r12", "")] = 1
        counts[(key, "children_rereferred_r12", "")] = int(flagged)
    for month, flagged in ytd.items():
        key = _month_name(month)
        counts[(key, "children_referred_ytd", "")] = 1
        counts[(key, "children_rereferred_ytd", "")] = int(flagged)
