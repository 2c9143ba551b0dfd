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
from services.core.facts import Fact, Kind

AggregateKey = tuple[str, str, str]
MonthOf = Callable[[dt.date], str]  # a date's "YYYY-MM"
GroupOf = Callable[[str | None], str]  # a source code's group
STEP_DOWN = ClosureReason.CLOSED_AFTER_ASSESSMENT_EARLY_HELP.value  # RC9: closed to early help
NOT_CLOSED = "open"  # the previous referral had not closed by the re-referral's date
NO_TEAM = "unknown"


def add_funnel(facts: Sequence[Fact], counts: Counter[AggregateKey], month: MonthOf, group: GroupOf) -> None:
    contacts: dict[str, Fact] = {}
    referred: dict[str, set[str]] = {}  # contact id -> referral record ids
    assessed: dict[str, set[str]] = {}  # referral record id -> assessment ids
    in_need: set[str] = set()
    for f in facts:
        if f.kind is Kind.CONTACT:
            contacts.setdefault(f.ref, f)
        elif f.kind is Kind.REFERRAL and f.link:
            referred.setdefault(f.link, set()).add(f.ref)
        elif f.kind is Kind.ASSESSMENT_STARTED and f.link:
            assessed.setdefault(f.link, set()).add(f.ref)
        elif f.kind is Kind.ASSESSMENT_AUTHORISED and f.flag:
            in_need.add(f.ref)
    for contact_id, contact in contacts.items():
        referrals = referred.get(contact_id)
        if not referrals:
            continue
        key_month, key_group = month(contact.day), group(contact.code)
        counts[(key_month, "funnel_referred", key_group)] += 1
        assessments = set().union(*(assessed.get(r, ()) for r in referrals))
        if assessments:
            counts[(key_month, "funnel_assessed", key_group)] += 1
            if assessments & in_need:
                counts[(key_month, "funnel_in_need", key_group)] += 1


def add_previous_closures(
    facts: Sequence[Fact], found: Sequence[ReferralRecords], counts: Counter[AggregateKey], month: MonthOf
) -> None:
    """Closures by reason in their month; each re-referral by its previous referral's closing team and reason.

    The previous referral's closure is its first EpisodeClosed in event time dated on or before the re-referral;
    a re-referral whose previous referral had not closed by then is counted under "open".
    """
    closures: dict[str, Fact] = {}
    for f in facts:
        if f.kind is Kind.EPISODE_CLOSED and f.ref not in closures:
            closures[f.ref] = f
            counts[(month(f.day), "closures_by_reason", f.code or NO_TEAM)] += 1
    previous: ReferralRecords | None = None
    for referral in found:
        if referral.rereferral and previous is not None:
            ends = [closures[r] for r in previous.refs if r in closures and closures[r].day <= referral.day]
            closure = min(ends, key=lambda f: f.sort_key) if ends else None
            key_month = month(referral.day)
            team = (closure.team or NO_TEAM) if closure else NOT_CLOSED
            reason = (closure.code or NO_TEAM) if closure else NOT_CLOSED
            counts[(key_month, "rereferrals_by_previous_team", team)] += 1
            counts[(key_month, "rereferrals_by_previous_reason", reason)] += 1
        previous = referral
