"""What happens after a referral: NFA, assessment, S47, ICPC, child protection plan and episode closure."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from schemas.codes import ClosureReason
from schemas.events import (
    AssessmentAuthorised,
    AssessmentStarted,
    CPPEnded,
    CPPStarted,
    EpisodeClosed,
    ICPCHeld,
    ReferralMarkedNFA,
    S47Started,
)
from services.simulator.model import (
    ASSESSED_SHARE_OF_NON_NFA,
    CIN_CLOSURE_MIX,
    CPP_PER_ICPC,
    FACTOR_MIX,
    CouncilProfile,
)
from services.simulator.timeline import Emitter

T = TypeVar("T")
OFFICE_START_SECONDS = 9 * 3600
OFFICE_SECONDS = 8 * 3600
CLOSING_SECONDS = 17 * 3600  # cases are closed at the end of the day, after that day's other steps
RC8 = ClosureReason.CLOSED_AFTER_ASSESSMENT_NFA
RC9 = ClosureReason.CLOSED_AFTER_ASSESSMENT_EARLY_HELP


def lookup_table(mix: Mapping[T, float], size: int = 2000) -> tuple[T, ...]:
    """A table to sample a categorical mix with one random() and an index (much faster than choices())."""
    total = sum(mix.values())
    table: list[T] = []
    for value, weight in mix.items():
        table.extend([value] * round(size * weight / total))
    return tuple(table)


def add_working_days(day: int, count: int) -> int:
    """Day ordinal `count` weekdays after `day` (bank holidays ignored): the count-th weekday after it."""
    weekday = (day - 1) % 7  # ordinal 1 (1 January of year 1) was a Monday
    if count <= 0:
        return day
    if weekday >= 5:  # from a weekend, count as from the Friday before
        day, weekday = day - (weekday - 4), 4
    weeks, rest = divmod(count, 5)
    day += weeks * 7 + rest
    return day + 2 if weekday + rest >= 5 else day


FACTORS = lookup_table(FACTOR_MIX)
CIN_CLOSURES = lookup_table(CIN_CLOSURE_MIX)


@dataclass(frozen=True, slots=True)
class Referral:
    """The referral a journey follows; `day`/`second` are when it was opened (local time)."""

    child: int
    key: str
    referral_id: str
    day: int
    second: int
    area: str


class Journeys:
    """Emits one council's events that follow a referral; `follow` returns the day the episode closes."""

    def __init__(self, profile: CouncilProfile, rng: random.Random, emitter: Emitter) -> None:
        self._p = profile
        self._rng = rng
        self._random = rng.random
        self._emitter = emitter
        self._emit = emitter.emit
        self._nin = profile.not_in_need_given_assessed
        self._s47 = profile.s47_given_not_nfa
        self._icpc = profile.icpc_given_s47_in_need
        self._plans_before: dict[int, int] = {}  # child -> child protection plans they have had
        self._repeat_credit = 0.0

    def _office(self) -> int:
        return OFFICE_START_SECONDS + int(self._random() * OFFICE_SECONDS)

    def _office_after(self, referral: Referral, day: int) -> int:
        """Office hours on `day`, but after the referral if that is the same day."""
        second = self._office()
        return max(second, referral.second + 300) if day == referral.day else second

    def follow(self, referral: Referral) -> int:
        rnd, day, area = self._random, referral.day, referral.area
        worker = f"worker-{1 + int(rnd() * self._p.workers):03d}"
        if rnd() < self._p.nfa_rate:
            return self._nfa(referral, worker)
        assessed = rnd() < ASSESSED_SHARE_OF_NON_NFA
        in_need = not assessed or rnd() >= self._nin
        end = self._assessment(referral, in_need) if assessed else day
        if rnd() < self._s47:
            plan_end = self._s47_enquiry(referral, in_need)
            if plan_end is not None:  # after the plan, stepped down to a child in need plan, then closed
                close_day = plan_end + self._rng.randint(30, 150)
                return self._close(referral, close_day, self._cin_closure(), f"Children in Need Team {area}", worker)
        if not in_need:
            return self._close(referral, end, RC8 if rnd() < 0.6 else RC9, f"Assessment Team {area}", worker)
        if not assessed:  # no assessment: transferred out, or services ceased within weeks
            reason = ClosureReason.SERVICES_CEASED if rnd() < 0.7 else ClosureReason.TRANSFERRED_OTHER_LA
            return self._close(referral, day + self._rng.randint(5, 30), reason, f"Assessment Team {area}", worker)
        close_day = end + int(self._rng.triangular(30, 330, 120))  # a child in need plan, then closure
        return self._close(referral, close_day, self._cin_closure(), f"Children in Need Team {area}", worker)

    def _cin_closure(self) -> ClosureReason:
        return CIN_CLOSURES[int(self._random() * len(CIN_CLOSURES))]

    def _nfa(self, referral: Referral, worker: str) -> int:
        rnd, day = self._random, referral.day
        if referral.second < 15 * 3600 and rnd() < 0.7:
            nfa_day, second = day, referral.second + 600 + int(rnd() * 6600)
        else:
            nfa_day, second = add_working_days(day, 1 + int(rnd() * 3)), self._office()
        self._emit(ReferralMarkedNFA, nfa_day, second, referral.key, referral_id=referral.referral_id)
        # As the CIN census records it: an NFA referral's episode closes on the NFA date, reason RC8.
        return self._close(referral, nfa_day, RC8, f"Assessment Team {referral.area}", worker)

    def _assessment(self, referral: Referral, in_need: bool) -> int:
        rnd, rng, emitter = self._random, self._rng, self._emitter
        start = add_working_days(referral.day, int(rnd() * 3))
        # ~83% within the 45 working-day limit; the whole spread averages ~33 working days (DfE: 33).
        duration = int(rng.triangular(3, 45, 30)) if rnd() < 0.83 else int(rng.triangular(46, 110, 55))
        authorised = add_working_days(start, duration)
        assessment_id = emitter.next_id()
        self._emit(
            AssessmentStarted, start, self._office_after(referral, start), referral.key,
            assessment_id=assessment_id, referral_id=referral.referral_id, start_date=emitter.date(start),
        )  # fmt: skip
        self._emit(
            AssessmentAuthorised, authorised, self._office(), referral.key,
            assessment_id=assessment_id, authorised_date=emitter.date(authorised),
            factors=self._factors(in_need), child_in_need=in_need,
        )  # fmt: skip
        return authorised

    def _factors(self, in_need: bool) -> tuple[str, ...]:
        rnd = self._random
        if not in_need and rnd() < 0.5:
            return ("21",)  # no factors identified
        count = 1 if not in_need else 1 + int(rnd() * 3)
        return tuple(sorted({FACTORS[int(rnd() * len(FACTORS))] for _ in range(count)}))

    def _s47_enquiry(self, referral: Referral, in_need: bool) -> int | None:
        """S47, perhaps an ICPC and a plan; returns the day the plan ends, or None without a plan."""
        rnd, emitter = self._random, self._emitter
        start = add_working_days(referral.day, int(rnd() * 3))
        s47_id = emitter.next_id()
        second = self._office_after(referral, start)
        self._emit(S47Started, start, second, referral.key, s47_id=s47_id, start_date=emitter.date(start))
        if not in_need or rnd() >= self._icpc:
            return None
        icpc = add_working_days(start, self._icpc_working_days())
        plan = rnd() < CPP_PER_ICPC
        self._emit(
            ICPCHeld, icpc, self._office(), referral.key,
            s47_id=s47_id, icpc_date=emitter.date(icpc), plan_started=plan,
        )  # fmt: skip
        return self._plan(referral, icpc) if plan else None

    def _icpc_working_days(self) -> int:
        # C4 2025: 8.7% within 10 working days, 72.7% in 11-15, 8.9% in 16-20, 9.7% after 20.
        u, randint = self._random(), self._rng.randint
        if u < 0.087:
            return randint(5, 10)
        if u < 0.814:
            return randint(11, 15)
        return randint(16, 20) if u < 0.903 else randint(21, 35)

    def _plan(self, referral: Referral, start: int) -> int:
        """A child protection plan; previous_plans tracks D3's second-or-subsequent share for this council."""
        emitter, rnd = self._emitter, self._random
        self._repeat_credit = min(self._repeat_credit + self._p.repeat_plan_rate, 2.0)
        known = self._plans_before.get(referral.child)
        if known is not None:  # a plan earlier in this simulation: a repeat, whatever the quota says
            previous = known
        elif rnd() < self._repeat_credit:  # plans before the simulated history began
            previous = 1 if rnd() < 0.75 else 2
        else:
            previous = 0
        if previous:
            self._repeat_credit -= 1.0
        self._plans_before[referral.child] = previous + 1
        plan_id = emitter.next_id()
        self._emit(
            CPPStarted, start, self._office(), referral.key,
            plan_id=plan_id, start_date=emitter.date(start), previous_plans=previous,
        )  # fmt: skip
        end = start + int(self._rng.triangular(60, 600, 200))
        self._emit(CPPEnded, end, self._office(), referral.key, plan_id=plan_id, end_date=emitter.date(end))
        return end

    def _close(self, referral: Referral, day: int, reason: ClosureReason, team: str, worker: str) -> int:
        self._emit(
            EpisodeClosed, day, CLOSING_SECONDS + int(self._random() * 3600), referral.key,
            referral_id=referral.referral_id, closure_date=self._emitter.date(day), reason=reason,
            closing_team=team, closing_worker=worker,
        )  # fmt: skip
        return day
