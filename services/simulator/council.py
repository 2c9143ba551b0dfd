"""One council's front door: its child population, daily MASH contacts and which children get re-referred."""

from __future__ import annotations

import math
import random

from schemas.codes import ContactOutcome, ReferralSource
from schemas.events import ContactDecided, ContactReceived, ReferralOpened
from services.ingest.identity import Pseudonymiser
from services.simulator.journeys import Journeys, Referral, add_working_days, lookup_table
from services.simulator.model import (
    CONTACT_HOUR_WEIGHTS,
    CONTACT_SOURCE_MIX,
    PRIMARY_NEED_MIX,
    REFERRAL_SOURCE_MIX,
    CouncilProfile,
)
from services.simulator.timeline import Emitter

NEVER = -(10**9)  # "last referral" of a child never referred
# Re-referral gaps stay inside 12 calendar months (>= 365 days) and returners' gaps outside them
# (<= 366 days), so every referral's status is unambiguous whichever leap-day convention counts it.
REREFERRAL_MAX_GAP_DAYS = 362
RETURNER_GAP_DAYS = (380, 1100)
PICK_ATTEMPTS = 12
RECENT_CONTACT_DAYS = 120
QUIET_OUTCOMES = lookup_table(
    {ContactOutcome.NFA: 30.0, ContactOutcome.ADVICE_SIGNPOST: 35.0, ContactOutcome.EARLY_HELP: 35.0}
)
REFERRAL_SOURCES = lookup_table(REFERRAL_SOURCE_MIX)
CONTACT_SOURCES = lookup_table(CONTACT_SOURCE_MIX)
PRIMARY_NEEDS = lookup_table(PRIMARY_NEED_MIX)
CONTACT_HOURS = lookup_table(dict(enumerate(CONTACT_HOUR_WEIGHTS)), size=500)


def poisson(rng: random.Random, mean: float) -> int:
    if mean > 40.0:  # normal approximation: plenty at front-door volumes, and far cheaper
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


class CouncilSimulation:
    """Children are integers; per child we keep its key, last referral day and the day its episode closes.

    Re-referrals are steered, not left to chance: a credit grows by the configured rate with every referral
    and a re-referral spends one, so each year's share tracks the C1 rate to within a couple of referrals.
    A re-referral picks a child whose last referral was 1-362 days earlier and whose episode has closed.
    """

    def __init__(
        self, profile: CouncilProfile, rng: random.Random, emitter: Emitter, pseudonymiser: Pseudonymiser
    ) -> None:
        self.profile = profile
        self._rng = rng
        self._random = rng.random
        self._emitter = emitter
        self._emit = emitter.emit
        self._journeys = Journeys(profile, rng, emitter)
        self._pseudonymiser = pseudonymiser
        self._keys: list[str] = []
        self._last_referral: list[int] = []
        self._episode_end: list[int] = []
        self._referred_on: dict[int, list[int]] = {}
        self._contacted_on: dict[int, list[int]] = {}  # children contacted without a referral, by day
        self._credit = 0.0
        self._referrals_per_day = profile.annual_referrals / 365.25
        self._areas = profile.areas
        self._counter = 0

    def run_day(self, day: int, weight: float) -> None:
        """All contacts received on `day` (weight: its seasonal volume relative to an average day)."""
        mean = self._referrals_per_day * weight
        for _ in range(poisson(self._rng, mean)):
            self._referral(day)
        for _ in range(poisson(self._rng, mean * (self.profile.contacts_per_referral - 1.0))):
            self._quiet_contact(day)
        self._referred_on.pop(day - RETURNER_GAP_DAYS[1] - 1, None)
        self._contacted_on.pop(day - RECENT_CONTACT_DAYS - 1, None)

    def _ref(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}{self.profile.la_code}-{self._counter:08d}"

    def _new_child(self) -> int:
        child = len(self._keys)
        la = self.profile.la_code
        self._keys.append(self._pseudonymiser.pseudonymise_child(la, f"{la}-{child:07d}").pseudonym)
        self._last_referral.append(NEVER)
        self._episode_end.append(NEVER)
        return child

    def _contact_second(self) -> int:
        return CONTACT_HOURS[int(self._random() * len(CONTACT_HOURS))] * 3600 + int(self._random() * 3600)

    def _decision(self, day: int, second: int) -> tuple[int, int]:
        """The MASH decides within a working day: the same day if early enough, else next working morning."""
        rnd = self._random
        same_day = rnd() < (0.8 if (day - 1) % 7 < 5 else 0.3)  # weekends: the emergency duty team
        if same_day and second < 15 * 3600:
            return day, second + 1800 + int(rnd() * 3 * 3600)
        return add_working_days(day, 1), 9 * 3600 + int(rnd() * 4 * 3600)

    def _pick(self, pool: dict[int, list[int]], day: int) -> int | None:
        children = pool.get(day)
        return children[int(self._random() * len(children))] if children else None

    def _rereferred_child(self, day: int, referral_day: int) -> int | None:
        rnd = self._random
        for _ in range(PICK_ATTEMPTS):
            # Gaps lean short (about 40% inside three months) before the closed-episode filter.
            previous = referral_day - 1 - int((REREFERRAL_MAX_GAP_DAYS - 1) * rnd() ** 1.6)
            child = self._pick(self._referred_on, previous)
            if child is not None and self._last_referral[child] == previous and self._episode_end[child] < day:
                return child
        return None

    def _first_time_child(self, day: int, referral_day: int) -> int:
        """A child with no referral in the last 12 months: a returner, a recently contacted child, or new."""
        u = self._random()
        for _ in range(3):
            if u < 0.2:
                child = self._pick(self._referred_on, referral_day - self._rng.randint(*RETURNER_GAP_DAYS))
            elif u < 0.5:
                child = self._pick(self._contacted_on, day - 1 - int(self._random() * RECENT_CONTACT_DAYS))
            else:
                break
            if (
                child is not None
                and referral_day - self._last_referral[child] >= RETURNER_GAP_DAYS[0]
                and self._episode_end[child] < day
            ):
                return child
        return self._new_child()

    def _contact(self, day: int, second: int, key: str, source: ReferralSource) -> str:
        contact_id, received = self._ref("C"), self._emitter.at(day, second)
        self._emit(
            ContactReceived, day, second, key, occurred=received, correctable=True,
            contact_id=contact_id, received_at=received, source=source,
        )  # fmt: skip
        return contact_id

    def _referral(self, day: int) -> None:
        """A contact that the MASH decides is a referral, and everything the referral leads to."""
        second = self._contact_second()
        referral_day, decided = self._decision(day, second)
        self._credit = min(self._credit + self.profile.rereferral_rate, 2.0)
        child = self._rereferred_child(day, referral_day) if self._random() < self._credit else None
        if child is not None:
            self._credit -= 1.0
        else:
            child = self._first_time_child(day, referral_day)
        key, area = self._keys[child], self._areas[child % len(self._areas)]
        source = REFERRAL_SOURCES[int(self._random() * len(REFERRAL_SOURCES))]
        contact_id = self._contact(day, second, key, source)
        self._emit(ContactDecided, referral_day, decided, key, contact_id=contact_id, outcome=ContactOutcome.REFERRAL)
        referral = Referral(child, key, self._ref("R"), referral_day, decided + 60, area)
        self._emit(
            ReferralOpened, referral_day, referral.second, key, correctable=True,
            referral_id=referral.referral_id, referral_date=self._emitter.date(referral_day), source=source,
            contact_id=contact_id, primary_need=PRIMARY_NEEDS[int(self._random() * len(PRIMARY_NEEDS))],
            team=f"Assessment Team {area}",
        )  # fmt: skip
        self._last_referral[child] = referral_day
        self._referred_on.setdefault(referral_day, []).append(child)
        self._episode_end[child] = self._journeys.follow(referral)

    def _quiet_contact(self, day: int) -> None:
        """A contact that ends at the front door: advice, early help or no further action."""
        u = self._random()
        child = None
        if u < 0.25:  # the same child contacted again
            child = self._pick(self._contacted_on, day - 1 - int(self._random() * 90))
        elif u < 0.55:  # a child already known to children's social care
            child = self._pick(self._referred_on, day - 1 - int(self._random() * 365))
        if child is None:
            child = self._new_child()
            self._contacted_on.setdefault(day, []).append(child)
        second, key = self._contact_second(), self._keys[child]
        decided_day, decided = self._decision(day, second)
        contact_id = self._contact(day, second, key, CONTACT_SOURCES[int(self._random() * len(CONTACT_SOURCES))])
        outcome = QUIET_OUTCOMES[int(self._random() * len(QUIET_OUTCOMES))]
        self._emit(ContactDecided, decided_day, decided, key, contact_id=contact_id, outcome=outcome)
