"""The front-door funnel linked by ids, and re-referrals by how the previous episode closed: a child's counts.

Funnel: a contact, then a referral whose `contact_id` is that contact, then an assessment whose `referral_id` is
one of that referral's records, then an authorised assessment finding the child in need. Each stage is counted
in the contact's month, under the contact's source group, so the stages of one month's contacts form a funnel.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence

from schemas.codes import ClosureReason
from services.core.definitions import ReferralRecords
from services.core.facts import Fact
from services.core.records import Records

AggregateKey = tuple[str, str, str]
MonthOf = Callable[[dt.date], str]  # a date's "YYYY-MM"
GroupOf = Callable[[str | None], str]  # a source code's group
STEP_DOWN = ClosureReason.CLOSED_AFTER_ASSESSMENT_EARLY_HELP.value  # RC9: closed to early help
NOT_CLOSED = "open"  # the previous referral had not closed by the re-referral's date
NO_TEAM = "unknown"


def add_funnel(records: Records, counts: Counter[AggregateKey], month: MonthOf, group: GroupOf) -> None:
    for contact_id, referrals in records.referred.items():
        contact = records.contacts.get(contact_id)
        if contact is None:
            continue
        key_month, key_group = month(contact.day), group(contact.code)
        counts[(key_month, "funnel_referred", key_group)] += 1
        assessments = set().union(*(records.assessed.get(r, ()) for r in referrals))
        if assessments:
            counts[(key_month, "funnel_assessed", key_group)] += 1
            if assessments & records.in_need:
                counts[(key_month, "funnel_in_need", key_group)] += 1


def previous_closure(records: Records, previous: ReferralRecords, day: dt.date) -> Fact | None:
    """The previous referral's closure as a re-referral dated `day` sees it: its first EpisodeClosed in event
    time dated on or before `day`; None when it had not closed by then."""
    closures = records.closures
    ends = [closures[r] for r in previous.refs if r in closures and closures[r].day <= day]
    if len(ends) <= 1:  # the usual case: one record, so no ordering to do
        return ends[0] if ends else None
    return min(ends, key=lambda f: f.sort_key)


def add_previous_closures(
    records: Records, found: Sequence[ReferralRecords], counts: Counter[AggregateKey], month: MonthOf
) -> None:
    """Closures by reason in their month; each re-referral by its previous referral's closing team and reason.

    The previous referral's closure is `previous_closure`; a re-referral whose previous referral had not closed by
    then is counted under "open".
    """
    for f in records.closures.values():
        counts[(month(f.day), "closures_by_reason", f.code or NO_TEAM)] += 1
    previous: ReferralRecords | None = None
    for referral in found:
        if referral.rereferral and previous is not None:
            closure = previous_closure(records, previous, referral.day)
            key_month = month(referral.day)
            team = (closure.team or NO_TEAM) if closure else NOT_CLOSED
            reason = (closure.code or NO_TEAM) if closure else NOT_CLOSED
            counts[(key_month, "rereferrals_by_previous_team", team)] += 1
            counts[(key_month, "rereferrals_by_previous_reason", reason)] += 1
        previous = referral
