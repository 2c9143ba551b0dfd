"""A child's records by id, indexed in one pass over its facts: what the funnel, closures and demand counts read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from services.core.facts import Fact, Kind


@dataclass(slots=True)
class Records:
    """First contact and assessment start per id, links between ids, and each record's earliest ending."""

    contacts: dict[str, Fact] = field(default_factory=dict)  # contact id -> its first record
    assessments: dict[str, Fact] = field(default_factory=dict)  # assessment id -> its first start record
    referred: dict[str, set[str]] = field(default_factory=dict)  # contact id -> referral ids naming it
    assessed: dict[str, set[str]] = field(default_factory=dict)  # referral id -> assessment ids naming it
    in_need: set[str] = field(default_factory=set)  # assessment ids authorised as in need
    authorised: dict[str, dt.date] = field(default_factory=dict)  # assessment id -> earliest authorisation
    ended: dict[str, dt.date] = field(default_factory=dict)  # referral id -> earliest closure or NFA
    closures: dict[str, Fact] = field(default_factory=dict)  # referral id -> first EpisodeClosed
    nfa: set[str] = field(default_factory=set)  # referral ids marked NFA
    decisions: list[Fact] = field(default_factory=list)  # every ContactDecided
    starts: list[Fact] = field(default_factory=list)  # every AssessmentStarted record
    authorisations: list[Fact] = field(default_factory=list)  # every AssessmentAuthorised record
    plans: list[Fact] = field(default_factory=list)  # every CPPStarted and CPPEnded record, in order


def index(facts: Sequence[Fact]) -> Records:
    records = Records()
    for f in facts:
        kind = f.kind
        if kind is Kind.REFERRAL:  # the commonest kinds first
            if f.link:
                records.referred.setdefault(f.link, set()).add(f.ref)
        elif kind is Kind.EPISODE_CLOSED or kind is Kind.REFERRAL_NFA:
            records.ended[f.ref] = min(f.day, records.ended.get(f.ref, f.day))
            if kind is Kind.EPISODE_CLOSED:
                records.closures.setdefault(f.ref, f)
            else:
                records.nfa.add(f.ref)
        else:
            _index_other(records, f, kind)
    return records


def _index_other(records: Records, f: Fact, kind: Kind) -> None:
    """Contacts, assessments and plans: fewer than referrals and closures."""
    if kind is Kind.CONTACT:
        records.contacts.setdefault(f.ref, f)
    elif kind is Kind.CONTACT_DECIDED:
        records.decisions.append(f)
    elif kind is Kind.ASSESSMENT_STARTED:
        records.starts.append(f)
        records.assessments.setdefault(f.ref, f)
        if f.link:
            records.assessed.setdefault(f.link, set()).add(f.ref)
    elif kind is Kind.ASSESSMENT_AUTHORISED:
        records.authorisations.append(f)
        records.authorised[f.ref] = min(f.day, records.authorised.get(f.ref, f.day))
        if f.flag:
            records.in_need.add(f.ref)
    elif kind is Kind.CPP_STARTED or kind is Kind.CPP_ENDED:
        records.plans.append(f)
