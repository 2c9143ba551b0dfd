"""Council-level aggregates as each child's contribution: additive, so council totals are sums over children.

A council's totals are the sum of its children's contributions: the live worker adds what a changed child
contributes now and takes away what it contributed before, and `report` sums them over the histories.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable

from schemas.codes import ReferralSource, source_group
from services.core.config import Rules
from services.core.definitions import is_two_referrals_in_six_months, plans, referrals
from services.core.demand import CHANGE_MEASURES, add_demand
from services.core.facts import Fact
from services.core.funnel import add_funnel, add_previous_closures
from services.core.history import ChildHistory
from services.core.records import Records, index
from services.core.windows import (
    WINDOW_MEASURES,
    Pattern,
    add_window_totals,
    child_windows,
    month_index,
    month_name,
    pattern_of,
)

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
    *WINDOW_MEASURES,  # a child once per window of months (services.core.windows)
    "funnel_referred",  # label: contact's source group; contacts (by month received) that a referral names
    "funnel_assessed",  # ...whose referral has an assessment naming it
    "funnel_in_need",  # ...one of whose assessments found the child in need
    "closures_by_reason",  # label: RC1..RC9; referrals closed in the month (RC9: step-down to early help)
    "rereferrals_by_previous_team",  # label: the previous referral's closing team, "unknown", or "open"
    "rereferrals_by_previous_reason",  # label: the previous referral's closure reason, or "open"
    *CHANGE_MEASURES,  # month-end stocks as +1/-1 changes (services.core.demand); the series sums them
)


class _MonthOf(dict[dt.date, str]):
    """date -> "YYYY-MM", filled as dates are met: a few thousand dates."""

    def __missing__(self, day: dt.date) -> str:
        name = self[day] = month_name(month_index(day))
        return name


_month = _MonthOf().__getitem__  # one C-level lookup on the hot path, no Python frame once a date is known


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
    counts: Counter[AggregateKey] = Counter()
    pattern = _add_own_counts(history, rules, counts)
    # The window counts' keys are theirs alone: dict.update, not a Counter's summing update.
    dict.update(counts, child_windows(pattern))
    return counts


def council_totals(histories: Iterable[ChildHistory], rules: Rules) -> Counter[AggregateKey]:
    """The sum of the children's `contribution`s (entries of 0 dropped), as `report` needs it for a council.

    Each child's window counts depend only on its `windows.Pattern`, which many children share, so they are
    worked out once per pattern and multiplied by its children instead of being summed child by child. The
    other counts are added straight into the council's totals, as `contribution` adds them into the child's.
    """
    totals: Counter[AggregateKey] = Counter()
    patterns: Counter[Pattern] = Counter()
    for history in histories:
        patterns[_add_own_counts(history, rules, totals)] += 1
    add_window_totals(patterns, totals)  # 0s (not re-referred) add nothing, and keys summing to 0 are dropped below
    return Counter({key: n for key, n in totals.items() if n > 0})


def _add_own_counts(history: ChildHistory, rules: Rules, counts: Counter[AggregateKey]) -> Pattern:
    """Add the child's counts other than its window counts to `counts`; the pattern its window counts follow from."""
    facts, la_code = history.facts, history.la_code
    found = referrals(facts, rules, la_code)
    records = index(facts)
    ended, nfa = records.ended, records.nfa
    months: list[tuple[dt.date, bool, bool]] = []  # each referral's (date, re-referral, second in six months)
    for referral in found:
        day, first, refs, previous = referral.day, referral.first, referral.refs, referral.previous_day
        second = previous is not None and is_two_referrals_in_six_months(day, previous, rules.at(la_code, day))
        months.append((day, referral.rereferral, second))
        month, group, need = _month(day), _group(first.code), first.need or "unknown"
        counts[(month, "referrals", group)] += 1
        counts[(month, "referrals_by_need", need)] += 1
        if referral.rereferral:
            counts[(month, "rereferrals", group)] += 1
            counts[(month, "rereferrals_by_need", need)] += 1
        if not refs.isdisjoint(nfa):
            counts[(month, "nfa_referrals", group)] += 1
        if refs.isdisjoint(ended):
            counts[(month, "referrals_open", "")] += 1
    if records.contacts or records.decisions:  # most children have no contact, assessment or plan recorded
        _add_contacts(records, counts)
        add_funnel(records, counts, _month, _group)
    if records.starts or records.authorisations:
        _add_assessments(records, counts)
    if records.plans:
        _add_plans(records.plans, counts, rules, la_code)
    add_previous_closures(records, found, counts, _month)
    add_demand(records, found, counts, _month)
    return pattern_of(months)


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
