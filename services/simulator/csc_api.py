"""Fake DfE CSC API records from the simulator's children: a full cohort, then each day's deltas and purges.

The simulator's events (no disorder, raw synthetic ids) are folded into each child's record as a case system
would hold it; the sender then posts what changed each day, as the pilot's pipeline builds deltas. A small share
of items is withdrawn (purged) and of referral dates corrected, and a few children leave the cohort, so every
kind of record the door must handle appears. Everything is synthetic and seeded: the same arguments always give
the same records. `truth` is each child's final full record, for comparing with what a receiver made of it.
"""

from __future__ import annotations

import copy
import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from schemas.csc_api import ITEM_ID
from schemas.events import (
    AssessmentAuthorised,
    AssessmentStarted,
    CPPEnded,
    CPPStarted,
    EpisodeClosed,
    ICPCHeld,
    InboundEvent,
    ReferralMarkedNFA,
    ReferralOpened,
    S47Started,
)
from services.ingest.identity import LONDON, Pseudonymiser
from services.simulator.history import simulate
from services.simulator.model import NO_DISORDER, CouncilProfile

Record = dict[str, Any]


@dataclass(frozen=True, slots=True)
class SenderDay:
    """What the sender posts after one day: envelopes `{"la_code": 886, "Children": record}`."""

    day: dt.date
    kind: str  # "full" (the first send, every child) or "delta"
    records: list[Record]


@dataclass(frozen=True, slots=True)
class Withdrawals:
    """Daily shares of the children whose record changed that day."""

    item_share: float = 0.02  # an assessment, enquiry or plan withdrawn as entered in error
    correction_share: float = 0.02  # a referral date corrected by one to three days
    child_share: float = 0.002  # the child leaves the cohort (a whole-child purge)


@dataclass
class CscSender:
    """A council's sender over `days` days after `start`; iterate `days_sent()` once, then read `truth`."""

    profile: CouncilProfile
    start: dt.date
    days: int
    seed: int = 1
    withdrawals: Withdrawals = field(default_factory=Withdrawals)
    truth: dict[str, Record] = field(default_factory=dict)

    def days_sent(self) -> Iterator[SenderDay]:
        """The full cohort as of the day before `start`, then one batch of deltas per day with any event."""
        rng = random.Random(f"csc-api:{self.seed}:{self.profile.la_code}")  # noqa: S311 - synthetic data
        folder = _Folder(self.profile.la_code, rng)
        years = max(self.days, 1) / 365.25
        events = simulate(
            [self.profile], self.start, years, self.seed, pseudonymiser=Pseudonymiser(None), disorder=NO_DISORDER
        )
        current: dt.date | None = None
        sent_full = False
        for event in events:
            day = event.occurred_at.astimezone(LONDON).date()
            if current is not None and day != current and day >= self.start:
                if not sent_full:
                    sent_full = True
                    yield SenderDay(self.start - dt.timedelta(days=1), "full", folder.full_cohort())
                    folder.changed.clear()
                else:
                    yield SenderDay(current, "delta", folder.deltas(self.withdrawals))
            current = day
            folder.fold(event)
        if current is not None:
            yield SenderDay(
                current,
                "delta" if sent_full else "full",
                folder.deltas(self.withdrawals) if sent_full else folder.full_cohort(),
            )
        self.truth = {k: v for k, v in folder.records.items() if not folder.is_gone(k)}


class _Folder:
    """Children's records built from their events, with the last-sent copy of each to make deltas from."""

    def __init__(self, la_code: str, rng: random.Random) -> None:
        self.la_code = la_code
        self.rng = rng
        self.records: dict[str, Record] = {}
        self.sent: dict[str, Record] = {}
        self.changed: set[str] = set()
        self.gone: set[str] = set()
        self.withdrawn: set[str] = set()  # item ids purged: later events about them are not recorded
        self.where: dict[str, tuple[str, str]] = {}  # s47 or plan id -> (child, episode id)

    def is_gone(self, child: str) -> bool:
        return child in self.gone

    def fold(self, event: InboundEvent) -> None:
        """One simulated event into its child's record, as the case system would record it."""
        child = event.child_key
        if child in self.gone:
            return
        record = self.records.get(child) or self._new_record(child)
        episodes = record["social_care_episodes"]
        if isinstance(event, ReferralOpened):
            episodes.append(
                {"social_care_episode_id": event.referral_id, "referral_date": event.referral_date.isoformat(),
                 "referral_source": event.source.value, "referral_no_further_action_flag": False, "purge": False}
            )  # fmt: skip
        elif isinstance(event, AssessmentStarted | S47Started | CPPStarted):
            name = STARTED_LIST[type(event)]
            item = {ITEM_ID[name]: _item_id(event), "start_date": event.start_date.isoformat(), "purge": False}
            self._add(episodes, event.referral_id, name, item)
        elif (change := _item_change(event)) is not None:
            in_list, item_id, values = change
            if in_list is None:
                self._set(episodes, item_id, **values)
            else:
                self._set_item(episodes, in_list, item_id, **values)
        else:
            return  # contacts are not in this payload (they come from the SSD's contacts table)
        self.records[child] = record
        self.changed.add(child)

    def _new_record(self, child: str) -> Record:
        rnd = self.rng
        born = dt.date(2008, 1, 1) + dt.timedelta(days=rnd.randrange(17 * 365))
        details = {
            "unique_pupil_number": f"SYN{rnd.randrange(10**9):09d}",
            "first_name": "Synthetic", "surname": f"Child{child[-5:]}", "date_of_birth": born.isoformat(),
            "sex": rnd.choice(["M", "F"]), "ethnicity": rnd.choice(["WBRI", "WOTH", "MWBC", "ABAN", "BAFR", "REFU"]),
            "postcode": "ZZ99 3ZZ", "uasc_flag": False, "purge": False,
        }  # fmt: skip
        return {
            "la_child_id": child,
            "mis_child_id": f"MIS-{child}",
            "child_details": details,
            "social_care_episodes": [],
        }

    def _set(self, episodes: list[Record], episode_id: str, **values: Any) -> None:
        for episode in episodes:
            if episode["social_care_episode_id"] == episode_id:
                episode.update(values)

    def _add(self, episodes: list[Record], episode_id: str | None, name: str, item: Record) -> None:
        """Under its episode, or (S47s and plans, which name none) under the child's latest referral."""
        if not episodes:
            return
        if episode_id is None:
            target: Record | None = episodes[-1]
        else:
            target = next((e for e in episodes if e["social_care_episode_id"] == episode_id), None)
        if target is not None:  # None: its episode was withdrawn
            target.setdefault(name, []).append(item)

    def _set_item(self, episodes: list[Record], name: str, item_id: str, **values: Any) -> None:
        if item_id in self.withdrawn:
            return
        for episode in episodes:
            for item in episode.get(name, []):
                if item[ITEM_ID[name]] == item_id:
                    item.update(values)

    def full_cohort(self) -> list[Record]:
        self.sent = {child: _copy(record) for child, record in self.records.items()}
        return [self._envelope(record) for record in self.records.values()]

    def deltas(self, withdrawals: Withdrawals) -> list[Record]:
        """Each changed child's delta (after the day's withdrawals), or its purge; then the day starts afresh."""
        sent: list[Record] = []
        for child in sorted(self.changed):
            if self.rng.random() < withdrawals.child_share and child in self.sent:
                self.gone.add(child)
                del self.sent[child]
                sent.append(self._envelope({"la_child_id": child, "mis_child_id": f"MIS-{child}", "purge": True}))
                continue
            self._withdraw_or_correct(self.records[child], withdrawals)
            before = self.sent.get(child, {})
            change = record_delta(before, self.records[child])
            self.sent[child] = _copy(self.records[child])
            if change.get("social_care_episodes") or not before:
                required = {k: self.records[child][k] for k in ("la_child_id", "mis_child_id", "child_details")}
                sent.append(self._envelope(required | change))
        self.changed.clear()
        return sent

    def _withdraw_or_correct(self, record: Record, withdrawals: Withdrawals) -> None:
        rnd, episodes = self.rng, record["social_care_episodes"]
        if episodes and rnd.random() < withdrawals.correction_share:
            episode = rnd.choice(episodes)
            day = dt.date.fromisoformat(episode["referral_date"]) - dt.timedelta(days=rnd.randint(1, 3))
            episode["referral_date"] = day.isoformat()
        if episodes and rnd.random() < withdrawals.item_share:
            episode = rnd.choice(episodes)
            lists = [
                n
                for n in ("child_and_family_assessments", "section_47_assessments", "child_protection_plans")
                if episode.get(n)
            ]
            if lists:
                name = rnd.choice(lists)
                item = episode[name].pop(rnd.randrange(len(episode[name])))
                self.withdrawn.add(item[ITEM_ID[name]])
            elif len(episodes) > 1:
                episodes.remove(episode)

    def _envelope(self, record: Record) -> Record:
        return {"la_code": int(self.la_code), "Children": record}


# The list each kind of item starts in; S47s and plans name no referral in the simulator, so they go under the
# child's latest episode.
STARTED_LIST: dict[type[InboundEvent], str] = {
    AssessmentStarted: "child_and_family_assessments",
    S47Started: "section_47_assessments",
    CPPStarted: "child_protection_plans",
}


def _item_id(event: AssessmentStarted | S47Started | CPPStarted) -> str:
    if isinstance(event, AssessmentStarted):
        return event.assessment_id
    return event.s47_id if isinstance(event, S47Started) else event.plan_id


def _item_change(event: InboundEvent) -> tuple[str | None, str, dict[str, Any]] | None:
    """(list, item id, new values) for an event that updates an item; list None: the episode itself."""
    match event:
        case ReferralMarkedNFA():
            return None, event.referral_id, {"referral_no_further_action_flag": True}
        case EpisodeClosed():
            closed = {"closure_date": event.closure_date.isoformat(), "closure_reason": event.reason.value}
            return None, event.referral_id, closed
        case AssessmentAuthorised():
            authorised = {"authorisation_date": event.authorised_date.isoformat(), "factors": list(event.factors)}
            return "child_and_family_assessments", event.assessment_id, authorised
        case ICPCHeld() if event.s47_id is not None:
            held = {"icpc_required_flag": True, "icpc_date": event.icpc_date.isoformat()}
            return "section_47_assessments", event.s47_id, held
        case CPPEnded():
            return "child_protection_plans", event.plan_id, {"end_date": event.end_date.isoformat()}
    return None


def record_delta(before: Record, after: Record) -> Record:
    """What changed from `before` to `after`, as the sender sends it: changed fields (a cleared one as null),
    new items whole, changed items by id with their changed fields, and removed items as `purge: true`."""
    changed: Record = {}
    for name in [*after, *(k for k in before if k not in after)]:  # in order: the same bytes on every run
        old, new = before.get(name), after.get(name)
        if name in ITEM_ID:
            items = _item_delta(old or [], new or [], ITEM_ID[name])
            if items:
                changed[name] = items
        elif old != new:
            changed[name] = new
    return changed


def _item_delta(before: list[Record], after: list[Record], id_field: str) -> list[Record]:
    old = {item[id_field]: item for item in before}
    new = {item[id_field]: item for item in after}
    items: list[Record] = [{id_field: key, "purge": True} for key in old if key not in new]
    for key, item in new.items():
        if key not in old:
            items.append(item)
        elif change := record_delta(old[key], item):
            items.append({id_field: key} | change)
    return items


def _copy(record: Record) -> Record:
    return copy.deepcopy(record)
