"""The simulated delivery timeline: events bucketed by delivery day, stamped, and deliberately disordered."""

from __future__ import annotations

import datetime as dt
import functools
import random
from collections.abc import Sequence
from typing import Any, TypeVar

from schemas.codes import ReferralSource
from schemas.events import EventRetracted, InboundEvent
from services.ingest.identity import LONDON
from services.simulator.model import Disorder

SECONDS_PER_DAY = 86_400
E = TypeVar("E", bound=InboundEvent)


def _spring_forward_day(year: int) -> int:
    last_of_march = dt.date(year, 3, 31)
    return last_of_march.toordinal() - (last_of_march.weekday() - 6) % 7


@functools.cache
def _seconds_of_day() -> tuple[dt.timedelta, ...]:
    """Every second of a day as a timedelta: adding one to a cached midnight is the cheapest timestamp."""
    return tuple(dt.timedelta(seconds=s) for s in range(SECONDS_PER_DAY))


class Timeline:
    """Shared by every council in a run. Times are (day ordinal, local seconds); the stream is delivery order."""

    def __init__(self, end_day: int) -> None:
        self.end_day = end_day  # exclusive: nothing is delivered on or after it
        # day -> {delivery key: event}; a dict rather than (key, event) tuples spares the garbage collector.
        self._buckets: dict[int, dict[int, InboundEvent]] = {}
        self._seq = 0
        self._flushed_through = -1

    def deliver(self, day: int, second: int, event: InboundEvent) -> None:
        if second >= SECONDS_PER_DAY:
            day, second = day + second // SECONDS_PER_DAY, second % SECONDS_PER_DAY
        if day >= self.end_day:
            return
        if day <= self._flushed_through:
            raise ValueError(f"{type(event).__name__} delivered on day {day}, already flushed: a simulator bug")
        self._seq += 1
        bucket = self._buckets.get(day)
        if bucket is None:
            bucket = self._buckets[day] = {}
        bucket[(second << 32) | self._seq] = event  # second of the day, then arrival order: never ties

    def flush(self, day: int) -> list[InboundEvent]:
        """Everything delivered on `day`, in delivery order; call once per day, after all councils ran it."""
        self._flushed_through = day
        bucket = self._buckets.pop(day, None)
        if not bucket:
            return []
        return [bucket[key] for key in sorted(bucket)]


class Emitter:
    """One council's stamping of events: ids, London times, recording lag and the configured disorder."""

    def __init__(
        self,
        timeline: Timeline,
        rng: random.Random,
        *,
        la_code: str,
        id_prefix: str,
        disorder: Disorder,
        correction_sources: Sequence[ReferralSource],
        pseudonym_key_id: str | None = None,
    ) -> None:
        self._timeline = timeline
        self._key_id = pseudonym_key_id  # the council's key that made the child keys, recorded on every event
        self._rng = rng
        self._random = rng.random
        self._la_code = la_code
        self._id_prefix = id_prefix
        self._ids = 0
        self._late = disorder.late_share
        self._late_or_backdated = disorder.late_share + disorder.backdated_share
        self._duplicate = disorder.duplicate_share
        self._correction = disorder.correction_share
        # Spread the usual case's uniform draw over -400..1300 s: ~24% recorded at once, the rest within ~20 min.
        self._lag_scale = 1700.0 / max(1e-9, 1.0 - self._late_or_backdated)
        self._correction_sources = correction_sources
        self._dates: dict[int, dt.date] = {}
        self._midnights: dict[int, dt.datetime] = {}  # every day but the spring-forward one
        self._seconds = _seconds_of_day()

    def next_id(self) -> str:
        self._ids += 1
        return f"{self._id_prefix}{self._ids:x}"

    def date(self, day: int) -> dt.date:
        found = self._dates.get(day)
        if found is None:
            found = self._dates[day] = dt.date.fromordinal(day)
        return found

    def at(self, day: int, second: int) -> dt.datetime:
        """Local London time; seconds past midnight may run into later days."""
        if second < SECONDS_PER_DAY:
            midnight = self._midnights.get(day)
            if midnight is not None:
                return midnight + self._seconds[second]  # wall-clock arithmetic, as in the local day
        return self._at_slowly(day, second)

    def _at_slowly(self, day: int, second: int) -> dt.datetime:
        day, second = day + second // SECONDS_PER_DAY, second % SECONDS_PER_DAY
        d = self.date(day)
        midnight = dt.datetime(d.year, d.month, d.day, tzinfo=LONDON)
        if day != _spring_forward_day(d.year):
            self._midnights[day] = midnight
        elif 3600 <= second < 7200:
            second = 7200  # 01:00-02:00 does not exist that night; keep time order in UTC too
        return midnight + self._seconds[second]

    def emit(
        self,
        cls: type[E],
        day: int,
        second: int,
        child_key: str,
        *,
        occurred: dt.datetime | None = None,
        correctable: bool = False,
        **fields: Any,
    ) -> E:
        """Build (and so validate) one event, then deliver it, perhaps late, out of order or twice."""
        occurred_at = occurred if occurred is not None else self.at(day, second)
        u = self._random()
        if u >= self._late_or_backdated:  # the usual case: delivered in event-time order, recorded soon
            lag = int((u - self._late_or_backdated) * self._lag_scale) - 400
            recorded_at = self.at(day, second + lag) if lag > 0 else occurred_at
            delivered = second
        elif u < self._late:  # recorded days after the fact, and delivered then
            delivered = second + self._rng.randint(SECONDS_PER_DAY, 21 * SECONDS_PER_DAY)
            recorded_at = self.at(day, delivered)
        else:  # recorded promptly, but a delayed batch delivers it days later
            recorded_at = occurred_at
            delivered = second + self._rng.randint(SECONDS_PER_DAY, 14 * SECONDS_PER_DAY)
        self._ids += 1
        event = cls(
            event_id=f"{self._id_prefix}{self._ids:x}",
            occurred_at=occurred_at,
            recorded_at=recorded_at,
            la_code=self._la_code,
            child_key=child_key,
            pseudonym_key_id=self._key_id,
            **fields,
        )
        self._timeline.deliver(day, delivered, event)
        w = self._random()
        if w < self._duplicate:  # at-least-once delivery: the very same event again
            self._timeline.deliver(day, delivered + self._rng.randint(60, 2 * SECONDS_PER_DAY), event)
        elif correctable and w < self._duplicate + self._correction:
            self._correct(event, day, delivered)
        return event

    def _correct(self, event: InboundEvent, day: int, delivered: int) -> None:
        """Entered in error: retract it some days later, then re-issue it, corrected, under a new id."""
        noticed = delivered + self._rng.randint(SECONDS_PER_DAY, 10 * SECONDS_PER_DAY)
        noticed_at = self.at(day, noticed)
        retraction = EventRetracted(
            event_id=self.next_id(),
            occurred_at=noticed_at,
            recorded_at=noticed_at,
            la_code=self._la_code,
            child_key=event.child_key,
            pseudonym_key_id=self._key_id,
            retracted_event_id=event.event_id,
        )
        self._timeline.deliver(day, noticed, retraction)
        reissued_second = noticed + self._rng.randint(60, 3600)
        changes = {"event_id": self.next_id(), "recorded_at": self.at(day, reissued_second)}
        if hasattr(event, "source"):
            sources = self._correction_sources
            changes["source"] = sources[int(self._random() * len(sources))]
        corrected = type(event).model_validate(event.model_dump() | changes)
        self._timeline.deliver(day, reissued_second, corrected)
