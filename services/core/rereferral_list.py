"""Each re-referral of a child with how the previous episode ended and whether it came back with the same concern.

The child-level list behind the re-referral breakdowns: the dip sample draws from it and the pack states the
share that came back with the same concern. The closure is `funnel.previous_closure`, the one the series count
re-referrals by team and reason with, so a sample's strata add up to the series' `rereferrals_previous_team_*`.
Same concern: the re-referral's primary need is known and equals the previous referral's (docs/reports.md).
Pure.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from services.core.config import Rules
from services.core.definitions import referrals
from services.core.funnel import NO_TEAM, NOT_CLOSED, previous_closure
from services.core.history import ChildHistory
from services.core.records import index


@dataclass(frozen=True, slots=True)
class Rereferral:
    """One re-referral (a DfE referral judged a re-referral) and its previous referral's ending."""

    la_code: str
    child_key: str  # the pseudonym: the keyed HMAC of the council's child id, never the id itself
    referral_date: dt.date
    previous_referral_date: dt.date
    previous_closure_date: dt.date | None  # None: the previous referral had not closed by the re-referral
    previous_closure_reason: str  # RC1..RC9, "unknown", or "open"
    previous_team: str  # the closing team, "unknown", or "open"
    primary_need: str | None
    previous_primary_need: str | None
    same_concern: bool


def is_same_concern(need: str | None, previous_need: str | None) -> bool:
    """A re-referral came back with the same concern when both primary needs are recorded and equal."""
    return need is not None and need == previous_need


def rereferrals_of(history: ChildHistory, rules: Rules) -> list[Rereferral]:
    """The child's re-referrals in date order, each with its previous referral's closure as the series see it."""
    found = referrals(history.facts, rules, history.la_code)
    if len(found) < 2:
        return []
    records = index(history.facts)
    out: list[Rereferral] = []
    for previous, referral in itertools.pairwise(found):
        if not referral.rereferral:
            continue
        closure = previous_closure(records, previous, referral.day)
        need, previous_need = referral.first.need, previous.first.need
        out.append(
            Rereferral(
                la_code=history.la_code,
                child_key=history.child_key,
                referral_date=referral.day,
                previous_referral_date=previous.day,
                previous_closure_date=closure.day if closure else None,
                previous_closure_reason=(closure.code or NO_TEAM) if closure else NOT_CLOSED,
                previous_team=(closure.team or NO_TEAM) if closure else NOT_CLOSED,
                primary_need=need,
                previous_primary_need=previous_need,
                same_concern=is_same_concern(need, previous_need),
            )
        )
    return out
