"""Live mode: pace a feed to a target rate or to its own event times, and a feed of events happening now."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from schemas.events import InboundEvent
from services.ingest.identity import LONDON, Pseudonymiser
from services.simulator.history import simulate
from services.simulator.model import CouncilProfile, Disorder

LIVE_YEARS = 100.0  # the live feed never runs out in practice
_DATE_FIELDS = ("referral_date", "start_date", "authorised_date", "icpc_date", "end_date", "closure_date")


@dataclass(frozen=True, slots=True)
class LiveRun:
    """What a paced run did: events sent and seconds taken on the injected clock."""

    sent: int
    elapsed_seconds: float

    @property
    def rate_per_second(self) -> float:
        return self.sent / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0


async def _each(events: AsyncIterator[InboundEvent] | Iterable[InboundEvent]) -> AsyncIterator[InboundEvent]:
    if isinstance(events, AsyncIterator):
        async for event in events:
            yield event
    else:
        for event in events:
            yield event


async def run_live(
    events: AsyncIterator[InboundEvent] | Iterable[InboundEvent],
    send: Callable[[InboundEvent], Awaitable[None]],
    rate_per_second: float | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    realtime_schedule: bool = False,
    duration_seconds: float | None = None,
    time_scale: float = 1.0,
    tick_seconds: float = 0.01,
    burst_seconds: float = 1.0,
) -> LiveRun:
    """Send events paced by a token bucket (`rate_per_second`) or by their occurred_at times.

    Event n is due at n / rate seconds; the sender sleeps at least `tick_seconds` and then sends every
    event already due in one burst, so 1,000 events/s needs ~100 wake-ups, not 1,000. If sending falls
    behind by more than `burst_seconds`, the missed credit is dropped rather than flooding the broker.
    With `realtime_schedule`, an event is due (occurred_at - first occurred_at) / time_scale seconds
    after the start; late and back-dated events fall due at once. `clock` is monotonic seconds.
    """
    if rate_per_second is not None and rate_per_second <= 0:
        raise ValueError(f"rate_per_second must be positive, got {rate_per_second}")
    if time_scale <= 0:
        raise ValueError(f"time_scale must be positive, got {time_scale}")
    started = clock()
    origin = 0.0  # seconds after `started` at which the bucket's credit is counted from
    first_event_time: dt.datetime | None = None
    sent = 0
    async for event in _each(events):
        if realtime_schedule:
            first_event_time = first_event_time or event.occurred_at
            due = (event.occurred_at - first_event_time).total_seconds() / time_scale
        elif rate_per_second is not None:
            due = origin + sent / rate_per_second
        else:
            due = 0.0
        now = clock() - started
        if duration_seconds is not None and max(due, now) >= duration_seconds:
            break
        if due > now:
            await sleep(max(due - now, tick_seconds))
        elif rate_per_second is not None and not realtime_schedule and now - due > burst_seconds:
            origin += now - due - burst_seconds
        await send(event)
        sent += 1
    return LiveRun(sent=sent, elapsed_seconds=clock() - started)


def _restamped(event: InboundEvent, now: dt.datetime) -> InboundEvent:
    """The same fact moved to `now`, keeping how late it was recorded; validated like any new event."""
    lateness = event.recorded_at - event.occurred_at
    occurred = now - lateness
    changes: dict[str, Any] = {"occurred_at": occurred, "recorded_at": now}
    fields = type(event).model_fields
    changes |= {name: occurred.date() for name in _DATE_FIELDS if name in fields}
    if "received_at" in fields:
        changes["received_at"] = occurred
    return type(event).model_validate(event.model_dump() | changes)


def live_feed(
    profile: CouncilProfile,
    clock: Callable[[], dt.datetime],
    seed: int,
    *,
    pseudonymiser: Pseudonymiser | None = None,
    disorder: Disorder | None = None,
    backfill: bool = True,
) -> Iterator[InboundEvent]:
    """An endless calibrated feed for a demo: a year of history, then events stamped "now".

    The simulation starts a warm-up year before today (by `clock`, aware datetimes). Events recorded
    before now are yielded as they are (the back-fill that gives re-referrals their look-back; skip it
    with `backfill=False`). Every later event is yielded re-stamped to the clock's current time, dates
    included, so however fast the feed is paced (see `run_live`) the events are happening today.
    """
    today = clock().astimezone(LONDON).date()
    for event in simulate([profile], today, LIVE_YEARS, seed, pseudonymiser=pseudonymiser, disorder=disorder):
        now = clock()
        if event.recorded_at <= now:
            if backfill:
                yield event
            continue
        yield _restamped(event, now.astimezone(LONDON))
