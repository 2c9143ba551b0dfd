"""A simulated council sender for the receiver's broker test and bench: a cohort, then daily deltas and purges.

Built from the calibrated simulator's events (services/simulator): each child's DfE CSC API record (spec v0.7
shape) as the case system would show it on a day, from the events recorded by then. Day 0 sends every child's
full record; each later day sends, like the pilot's sender, a partial record (the required fields and the
episodes that changed) for each changed child, an item purge for each withdrawn episode and a whole-child purge
for each child taken out of the cohort. Synthetic children only; nothing is copied from a real payload.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from schemas.events import (
    AssessmentAuthorised,
    AssessmentStarted,
    CPPEnded,
    CPPStarted,
    EpisodeClosed,
    EventRetracted,
    ICPCHeld,
    InboundEvent,
    ReferralMarkedNFA,
    ReferralOpened,
    S47Started,
)

Record = dict[str, Any]


@dataclass(slots=True)
class _Episode:
    referral: ReferralOpened
    nfa: bool = False
    closure: EpisodeClosed | None = None
    assessments: dict[str, dict[str, Any]] = field(default_factory=dict)
    s47s: dict[str, dict[str, Any]] = field(default_factory=dict)
    plans: dict[str, dict[str, Any]] = field(default_factory=dict)


def _short(item_id: str) -> str:
    return item_id.rsplit("-", 1)[-1][:16]


def _episode_json(episode: _Episode) -> Record:
    referral = episode.referral
    body: Record = {
        "social_care_episode_id": f"EP-{_short(referral.referral_id)}",
        "referral_date": referral.referral_date.isoformat(),
        "referral_source": referral.source.value,
        "referral_no_further_action_flag": episode.nfa,
    }
    if episode.closure is not None:
        body |= {
            "closure_date": episode.closure.closure_date.isoformat(),
            "closure_reason": episode.closure.reason.value,
        }
    body |= {
        "child_and_family_assessments": [dict(a, purge=False) for a in episode.assessments.values()],
        "section_47_assessments": [dict(s, purge=False) for s in episode.s47s.values()],
        "child_protection_plans": [dict(p, purge=False) for p in episode.plans.values()],
        "purge": False,
    }
    return body


def records_as_of(events: Sequence[InboundEvent], identities: dict[str, str], day: dt.date) -> dict[str, Record]:
    """Every referred child's full record as the case system shows it at the end of `day`, by council child id."""
    retracted = {e.retracted_event_id for e in events if isinstance(e, EventRetracted) and e.recorded_at.date() <= day}
    episodes: dict[str, dict[str, _Episode]] = defaultdict(dict)
    seen: set[str] = set()
    for event in events:
        if event.recorded_at.date() > day or event.event_id in retracted or event.event_id in seen:
            continue
        seen.add(event.event_id)
        _fold(episodes[event.child_key], event)
    records = {}
    for child_key, by_referral in episodes.items():
        if not by_referral or child_key not in identities:
            continue
        la_child_id = identities[child_key]
        records[la_child_id] = {
            "la_child_id": la_child_id,
            "mis_child_id": f"MIS-{la_child_id}",
            "child_details": {"unique_pupil_number_unknown_reason": "UN1", "sex": "U", "purge": False},
            "social_care_episodes": [_episode_json(e) for e in by_referral.values()],
            "purge": False,
        }
    return records


def _fold(by_referral: dict[str, _Episode], event: InboundEvent) -> None:  # noqa: PLR0912  # one branch per event type
    if isinstance(event, ReferralOpened):
        by_referral.setdefault(event.referral_id, _Episode(event))
        return
    referral_id = getattr(event, "referral_id", None)
    episode = by_referral.get(referral_id) if referral_id else None
    if episode is None:
        episode = next(reversed(by_referral.values()), None) if by_referral else None
    if episode is None:
        return
    if isinstance(event, ReferralMarkedNFA):
        episode.nfa = True
    elif isinstance(event, EpisodeClosed):
        episode.closure = event
    elif isinstance(event, AssessmentStarted):
        item = {"child_and_family_assessment_id": f"CFA-{_short(event.assessment_id)}"}
        episode.assessments[event.assessment_id] = item | {"start_date": event.start_date.isoformat()}
    elif isinstance(event, AssessmentAuthorised):
        for ep in by_referral.values():
            if event.assessment_id in ep.assessments:
                ep.assessments[event.assessment_id]["authorisation_date"] = event.authorised_date.isoformat()
                ep.assessments[event.assessment_id]["factors"] = list(event.factors)
    elif isinstance(event, S47Started):
        item = {"section_47_assessment_id": f"S47-{_short(event.s47_id)}", "start_date": event.start_date.isoformat()}
        episode.s47s[event.s47_id] = item
    elif isinstance(event, ICPCHeld) and event.s47_id is not None:
        for ep in by_referral.values():
            if event.s47_id in ep.s47s:
                ep.s47s[event.s47_id] |= {"icpc_required_flag": True, "icpc_date": event.icpc_date.isoformat()}
    elif isinstance(event, CPPStarted):
        item = {"child_protection_plan_id": f"CPP-{_short(event.plan_id)}", "start_date": event.start_date.isoformat()}
        episode.plans[event.plan_id] = item
    elif isinstance(event, CPPEnded):
        for ep in by_referral.values():
            if event.plan_id in ep.plans:
                ep.plans[event.plan_id]["end_date"] = event.end_date.isoformat()


@dataclass(slots=True)
class Withdrawals:
    """What the council takes back during the run: episodes (by child and episode id) and whole children."""

    episodes: dict[str, set[str]] = field(default_factory=dict)  # child -> episode ids, from the day given
    children: set[str] = field(default_factory=set)

    def apply(self, records: dict[str, Record]) -> dict[str, Record]:
        kept = {}
        for child, record in records.items():
            if child in self.children:
                continue
            gone = self.episodes.get(child, set())
            episodes = [e for e in record["social_care_episodes"] if e["social_care_episode_id"] not in gone]
            if episodes:
                kept[child] = record | {"social_care_episodes": episodes}
        return kept


def partial(current: Record, previous: Record) -> Record | None:
    """The pilot sender's delta: the required fields and each episode that is new or changed; None if nothing is."""
    before = {e["social_care_episode_id"]: e for e in previous["social_care_episodes"]}
    changed = [
        _with_withdrawn_items(e, before.get(e["social_care_episode_id"]))
        for e in current["social_care_episodes"]
        if before.get(e["social_care_episode_id"]) != e
    ]
    withdrawn = sorted(set(before) - {e["social_care_episode_id"] for e in current["social_care_episodes"]})
    if not changed and not withdrawn:
        return None
    purged = [{"social_care_episode_id": episode_id, "purge": True} for episode_id in withdrawn]
    required = {k: current[k] for k in ("la_child_id", "mis_child_id", "child_details")}
    return required | {"social_care_episodes": changed + purged}


ITEM_LISTS = {
    "child_and_family_assessments": "child_and_family_assessment_id",
    "section_47_assessments": "section_47_assessment_id",
    "child_protection_plans": "child_protection_plan_id",
}


def _with_withdrawn_items(episode: Record, previous: Record | None) -> Record:
    """A changed episode, plus `purge: true` for each of its items the case system no longer shows."""
    if previous is None:
        return episode
    changed = dict(episode)
    for name, id_field in ITEM_LISTS.items():
        now = {item[id_field] for item in episode[name]}
        gone = [item[id_field] for item in previous[name] if item[id_field] not in now]
        changed[name] = episode[name] + [{id_field: item_id, "purge": True} for item_id in gone]
    return changed


def daily_sends(
    events: Sequence[InboundEvent],
    identities: dict[str, str],
    first_day: dt.date,
    days: int,
    withdrawals: dict[int, Withdrawals],
) -> Iterator[tuple[dt.date, list[Record]]]:
    """(day, the records sent that night): the full cohort on `first_day`, then `days` nights of deltas and purges.

    `withdrawals[n]` (cumulative: each holds everything withdrawn by night n) applies from night n on.
    """
    sent: dict[str, Record] = {}
    current = Withdrawals()
    for night in range(days + 1):
        day = first_day + dt.timedelta(days=night)
        current = withdrawals.get(night, current)
        records = current.apply(records_as_of(events, identities, day))
        batch: list[Record] = []
        for child, record in records.items():
            if child not in sent:
                batch.append(record)
            elif (delta := partial(record, sent[child])) is not None:
                batch.append(delta)
        for child in sorted(set(sent) - set(records)):
            batch.append({"la_child_id": child, "mis_child_id": sent[child]["mis_child_id"], "purge": True})
        sent = records
        yield day, batch


def batches(records: Sequence[Record], size: int) -> Iterator[bytes]:
    """The request bodies the sender posts: JSON arrays of `size` records (the pilot's BATCH_SIZE is 100)."""
    for start in range(0, len(records), size):
        yield json.dumps(records[start : start + size]).encode()
