"""Demand at each month end (open referrals, open assessments, assessments past 45 working days), as changes.

A stock at a month end is not additive over months, but its changes are: a record open at the end of month M
(opened on or before M's last day, not closed by then) counts once under `<stock>_from` in the month it opened
and once under `<stock>_until` in the month it closed, so the stock at the end of M is the running sum of
`_from` minus that of `_until` up to M. Every count stays positive (council totals drop entries that reach zero
or below), a child's contribution does not depend on the month asked about, and `series` does the running sums.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence

from services.core.definitions import ReferralRecords
from services.core.records import Records
from services.core.workdays import OutsideBankHolidayDataError, add_working_days

AggregateKey = tuple[str, str, str]
MonthOf = Callable[[dt.date], str]  # a date's "YYYY-MM"
ASSESSMENT_WORKING_DAYS = 45  # Working Together: an assessment concludes within 45 working days of the referral

REFERRALS_OPEN = "referrals_open_month_end"
ASSESSMENTS_OPEN = "assessments_open_month_end"
PAST_45_FROM_REFERRAL = "assessments_past_45wd_from_referral"
PAST_45_FROM_START = "assessments_past_45wd_from_start"
STOCKS = (REFERRALS_OPEN, ASSESSMENTS_OPEN, PAST_45_FROM_REFERRAL, PAST_45_FROM_START)
CHANGE_MEASURES = tuple(f"{stock}{end}" for stock in STOCKS for end in ("_from", "_until"))
_FROM = {stock: stock + "_from" for stock in STOCKS}  # the measure names, made once, not per record
_UNTIL = {stock: stock + "_until" for stock in STOCKS}

_OVERDUE_FROM: dict[dt.date, dt.date | None] = {}  # day -> first day past 45 working days after it; few thousand


def overdue_from(day: dt.date) -> dt.date | None:
    """The first day on which something due within 45 working days of `day` is past due; None outside the data."""
    if day not in _OVERDUE_FROM:
        try:
            _OVERDUE_FROM[day] = add_working_days(day, ASSESSMENT_WORKING_DAYS) + dt.timedelta(days=1)
        except OutsideBankHolidayDataError:
            _OVERDUE_FROM[day] = None
    return _OVERDUE_FROM[day]


def add_open(
    counts: Counter[AggregateKey], month: MonthOf, measure: str, opened: dt.date, closed: dt.date | None
) -> None:
    """Open at every month end from `opened`'s month up to before `closed`'s: `_from` there, `_until` here.

    `measure` is one of STOCKS.
    """
    first = month(opened)
    if closed is None:
        counts[(first, _FROM[measure], "")] += 1
        return
    last = month(closed)
    if last > first:  # "YYYY-MM" strings order as months do
        counts[(first, _FROM[measure], "")] += 1
        counts[(last, _UNTIL[measure], "")] += 1


def add_demand(
    records: Records, found: Sequence[ReferralRecords], counts: Counter[AggregateKey], month: MonthOf
) -> None:
    """Each referral open from its date to its earliest closure or NFA; each assessment from start to authorisation.

    An assessment is past 45 working days at a month end when it is still open and the month end is after the
    45th working day from its referral's date (Working Together, `..._from_referral`: only assessments whose
    referral_id names a referral in the history) or from its own start date (`..._from_start`).
    """
    ended, referral_day = records.ended, {}
    for referral in found:
        refs = referral.refs
        if len(refs) == 1:  # the usual case: one record, no generator
            (ref,) = refs
            referral_day[ref] = referral.day
            closed = ended.get(ref)
        else:
            referral_day.update(dict.fromkeys(refs, referral.day))
            closed = min((ended[r] for r in refs if r in ended), default=None)
        add_open(counts, month, REFERRALS_OPEN, referral.day, closed)
    for ref, f in records.assessments.items():
        done = records.authorised.get(ref)
        add_open(counts, month, ASSESSMENTS_OPEN, f.day, done)
        if (due := overdue_from(f.day)) is not None:
            add_open(counts, month, PAST_45_FROM_START, due, done)
        if f.link in referral_day and (due := overdue_from(referral_day[f.link])) is not None:
            add_open(counts, month, PAST_45_FROM_REFERRAL, max(due, f.day), done)  # open only once started
