"""The DfE and Ofsted definitions, one public function each: the rules, indicators and aggregates all call these.

Each takes what it needs already worked out (dates, counts), so the live worker can call it per referral and the
aggregates' hot path stays cheap. Sources are cited as in docs/definitions.md: [CIN guide], [C1], [D3], [Oldham].
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from services.core.calendar import minus_months, rereferral_window_start
from services.core.config import RuleConfig, Rules
from services.core.facts import Fact, Kind

if TYPE_CHECKING:  # only for the annotation: history imports the rules, which import this module
    from services.core.history import ChildHistory

_ENDINGS = (Kind.EPISODE_CLOSED, Kind.REFERRAL_NFA)


@dataclass(slots=True)
class ReferralRecords:
    """One referral in DfE terms and the records it collapsed: its first record gives its source and need.

    `rereferral` is `is_rereferral` decided once, under the definition in force on `day`.
    """

    day: dt.date
    first: Fact
    previous_day: dt.date | None  # the child's previous referral's date, None for the first
    rereferral: bool
    refs: set[str] = field(default_factory=set)


def referrals(facts: Sequence[Fact], rules: Rules, la_code: str) -> list[ReferralRecords]:
    """A child's referrals in event-time order [CIN guide: one referral per (council, child, referral date)].

    Same-day referral records collapse into one referral. Where the council's `same_day_referrals` on that day
    is "count_after_closure", a record starts a separate referral when the day's latest referral was closed
    (EpisodeClosed or ReferralMarkedNFA, dated that day) at or before this record's time: on equal times the
    ending comes first, as it does in the day's order of facts. Each referral is judged by `is_rereferral` as
    it is found. Facts must be in event-time order; the answer for a prefix of them is a prefix of the answer,
    so an alert at facts[i] may call this on facts[: i + 1].
    """
    found: list[ReferralRecords] = []
    latest_on: dict[dt.date, ReferralRecords] = {}
    referral = Kind.REFERRAL
    for position, f in enumerate(facts):
        if f.kind is not referral:
            continue
        current = latest_on.get(f.day)
        if current is None or (
            f.ref not in current.refs
            and rules.at(la_code, f.day).same_day_referrals == "count_after_closure"
            and _closed_before(current, f, facts[:position])
        ):
            previous_day = found[-1].day if found else None
            rereferral = previous_day is not None and is_rereferral(f.day, previous_day, rules.at(la_code, f.day))
            current = latest_on[f.day] = ReferralRecords(f.day, f, previous_day, rereferral, {f.ref})
            found.append(current)
        else:
            current.refs.add(f.ref)
    return found


def _closed_before(referral: ReferralRecords, record: Fact, earlier: Sequence[Fact]) -> bool:
    """Whether one of the referral's records was closed or marked NFA on `record`'s day, at or before it."""
    return any(
        e.kind in _ENDINGS and e.day == record.day and e.ref in referral.refs and e.occurred_at <= record.occurred_at
        for e in earlier
    )


def is_rereferral(day: dt.date, previous_day: dt.date | None, config: RuleConfig) -> bool:
    """Whether a referral dated `day` is a re-referral [CIN guide; C1].

    `previous_day` is the date of the same child's latest earlier referral in the same council (None if none),
    counting NFA referrals. It is a re-referral when that date is on or after `day` minus 12 calendar months
    (or 365 days, `rereferral_window="365d"`). A separate same-day referral (see `referrals`) has
    `previous_day == day`, so it is a re-referral; collapsed same-day records never reach here.
    """
    return previous_day is not None and rereferral_window_start(day, config) <= previous_day <= day


def is_two_referrals_in_six_months(day: dt.date, previous_day: dt.date | None, config: RuleConfig) -> bool:
    """Whether a referral dated `day` follows another within `two_referrals_window_months` (6) months [Oldham]."""
    return previous_day is not None and minus_months(day, config.two_referrals_window_months) <= previous_day <= day


def is_subsequent_plan(previous_plans_recorded: int | None, earlier_plans: int) -> bool:
    """A child protection plan for a second or subsequent time, ever [D3].

    Either the plan's record says there were previous plans (the census's NumberOfPreviousCPP) or an earlier
    plan of this child is in the history.
    """
    return earlier_plans > 0 or (previous_plans_recorded or 0) > 0


def is_subsequent_plan_within_two_years(
    start: dt.date, earlier_plan_ends: Iterable[dt.date], config: RuleConfig
) -> bool:
    """A plan starting on `start` when an earlier plan ended within two years before it [D3].

    Within: on or after `start` minus `repeat_cpp_window_months` (24) calendar months, and on or before `start`.
    """
    window_start = minus_months(start, config.repeat_cpp_window_months)
    return any(window_start <= end <= start for end in earlier_plan_ends)


class PlanStart(NamedTuple):
    """One child protection plan [D3]: one (child, start date), however many records or returns repeat it."""

    start: dt.date
    subsequent_ever: bool
    subsequent_within_two_years: bool


def plans(facts: Sequence[Fact], rules: Rules, la_code: str) -> list[PlanStart]:
    """A child's plans in start order, each judged by `is_subsequent_plan` and `..._within_two_years`.

    Ever: an earlier start date in the data, or NumberOfPreviousCPP > 0 on any record of this start. Within two
    years: a plan that started before this one (or whose start is not in the data) ended within the window;
    NumberOfPreviousCPP alone never makes it true.
    """
    recorded: dict[dt.date, int] = {}  # start date -> the largest NumberOfPreviousCPP its records give
    start_of: dict[str, dt.date] = {}  # plan id -> its start date
    for f in facts:
        if f.kind is Kind.CPP_STARTED:
            recorded[f.day] = max(recorded.get(f.day, 0), f.number or 0)
            start_of.setdefault(f.ref, f.day)
    if not recorded:
        return []
    ends = [(g.ref, g.day) for g in facts if g.kind is Kind.CPP_ENDED]
    found: list[PlanStart] = []
    for earlier, (start, previous) in enumerate(sorted(recorded.items())):
        earlier_ends = (day for ref, day in ends if start_of.get(ref, dt.date.min) < start)
        within = is_subsequent_plan_within_two_years(start, earlier_ends, rules.at(la_code, start))
        found.append(PlanStart(start, is_subsequent_plan(previous, earlier), within))
    return found


class ContactCount(NamedTuple):
    """Distinct contacts in the repeated-contacts window, and whether they reach its threshold."""

    contacts: int
    reached: bool


def repeated_contacts(facts: Iterable[Fact], day: dt.date, config: RuleConfig) -> ContactCount:
    """Distinct contacts received in the `repeated_contacts_window_days` (90) days ending on `day`.

    Contacts are those of Ofsted's Annex A list 1; the threshold and window are council practice (see "Repeated
    contacts" in docs/definitions.md). `facts` are the child's facts up to and including the one being judged;
    the same contact id recorded twice counts once. The threshold is reached at `repeated_contacts_min` (3)
    contacts; the rule adds that the child has no open referral.
    """
    first = day - dt.timedelta(days=config.repeated_contacts_window_days - 1)
    count = len({f.ref for f in facts if f.kind is Kind.CONTACT and first <= f.day <= day})
    return ContactCount(count, count >= config.repeated_contacts_min)


def rereferral_flags(history: ChildHistory, rules: Rules) -> list[tuple[dt.date, bool]]:
    """Each of a child's referrals (date, is a re-referral), in order, exactly as the core's rules decide them.

    A date appears twice only when the council counts a separate same-day referral after a closure.
    """
    return [(referral.day, referral.rereferral) for referral in referrals(history.facts, rules, history.la_code)]
