"""History mode: a seeded, calibrated front-door event stream for one or more councils, a day at a time."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Sequence

from schemas.events import InboundEvent
from services.ingest.identity import Pseudonymiser, event_id
from services.simulator.council import REFERRAL_SOURCES, CouncilSimulation
from services.simulator.model import CouncilProfile, Disorder, day_weight, mean_day_weight
from services.simulator.timeline import Emitter, Timeline

WARM_UP_YEARS = 1


def add_years(day: dt.date, years: float) -> dt.date:
    """Whole calendar years (29 February becomes 28 February), then any fraction as days."""
    whole = int(years)
    leap_day = (day.month, day.day) == (2, 29)
    moved = day.replace(year=day.year + whole, day=28 if leap_day else day.day)
    return moved + dt.timedelta(days=round((years - whole) * 365.25))


def history_start(today: dt.date, years: float) -> dt.date:
    """The first reported day of a history of `years` that ends on the first day of `today`'s month."""
    return add_years(today.replace(day=1), -years)


def simulate(
    councils: Sequence[CouncilProfile],
    start: dt.date,
    years: float,
    seed: int,
    *,
    pseudonymiser: Pseudonymiser | None = None,
    disorder: Disorder | None = None,
) -> Iterator[InboundEvent]:
    """Events from a warm-up year before `start` until `start + years`, in delivery order.

    The warm-up year is emitted too, so the first reported year starting at `start` has 12 months of
    look-back for re-referrals; count from `start`. Delivery order is event-time order except for the
    configured late, back-dated, duplicated and corrected events. The same arguments always give the same
    events, ids included. Child ids are synthetic ("886-0001234") and pass through `pseudonymiser`, so
    child_key is a keyed HMAC (without one, a key derived from the seed). Each council draws from its own
    seeded random stream, so adding a council does not change another council's events.
    """
    if years <= 0:
        raise ValueError(f"years must be positive, got {years}")
    codes = [c.la_code for c in councils]
    if len(set(codes)) != len(codes):
        raise ValueError(f"each council may appear once: {codes}")
    pseudonymiser = pseudonymiser or Pseudonymiser(f"frontdoor-simulator:{seed}".encode())
    timeline = Timeline(end_day=add_years(start, years).toordinal())
    seed_tag = event_id("frontdoor-simulator", seed)[:8]
    simulations = []
    for profile in councils:
        rng = random.Random(f"{seed}:{profile.la_code}")  # noqa: S311 - synthetic data, not cryptography
        emitter = Emitter(
            timeline,
            rng,
            la_code=profile.la_code,
            id_prefix=f"sim-{seed_tag}-{profile.la_code}-",
            disorder=disorder or Disorder(),
            correction_sources=REFERRAL_SOURCES,
            pseudonym_key_id=pseudonymiser.key_id(profile.la_code),
        )
        simulations.append(CouncilSimulation(profile, rng, emitter, pseudonymiser))
    return _days(simulations, timeline, first_day=add_years(start, -WARM_UP_YEARS).toordinal())


def _days(simulations: list[CouncilSimulation], timeline: Timeline, first_day: int) -> Iterator[InboundEvent]:
    mean_weight = mean_day_weight()
    for day in range(first_day, timeline.end_day):
        weight = day_weight(dt.date.fromordinal(day)) / mean_weight
        for simulation in simulations:
            simulation.run_day(day, weight)
        yield from timeline.flush(day)
