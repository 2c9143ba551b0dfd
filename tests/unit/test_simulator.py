"""The synthetic front door reproduces DfE's published rates, deterministically, with realistic disorder."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from schemas.codes import ContactOutcome, ReferralSource, SourceGroup, source_group
from schemas.events import (
    AssessmentAuthorised,
    AssessmentStarted,
    ContactDecided,
    ContactReceived,
    CPPStarted,
    EpisodeClosed,
    EventRetracted,
    FrontDoorEvent,
    InboundEvent,
    ReferralMarkedNFA,
    ReferralOpened,
)
from services.ingest.identity import Pseudonymiser
from services.reference.official_statistics import c1_for, d3_for, median_council_c1, national_c1
from services.simulator.history import history_start, simulate
from services.simulator.journeys import add_working_days
from services.simulator.live import live_feed, run_live
from services.simulator.model import CouncilProfile

YEAR_START = dt.date(2024, 4, 1)  # the 2024-25 reporting year, as C1 2025 counts it
YEAR_END = dt.date(2025, 4, 1)
SEED = 2025
PSEUDONYMISER = Pseudonymiser(b"test-key-not-secret")
LONDON = ZoneInfo("Europe/London")


def council(la_code: str) -> CouncilProfile:
    row = c1_for(la_code, 2025)
    assert row is not None
    return CouncilProfile.from_c1(row, d3_for(la_code, 2025))


def median_profile() -> CouncilProfile:
    row = median_council_c1(2025)
    assert row is not None
    return CouncilProfile.from_c1(row, d3_for(row.old_la_code, 2025))


@functools.cache
def year_of(profile: CouncilProfile, seed: int = SEED) -> tuple[InboundEvent, ...]:
    """The warm-up year and the 2024-25 year, as delivered (immutable, so tests may share it)."""
    return tuple(simulate([profile], YEAR_START, 1, seed, pseudonymiser=PSEUDONYMISER))


def as_recorded(events: Iterable[InboundEvent]) -> list[InboundEvent]:
    """What a careful consumer keeps: each event once, minus retracted ones and the retractions."""
    events = list(events)
    retracted = {e.retracted_event_id for e in events if isinstance(e, EventRetracted)}
    kept: dict[str, InboundEvent] = {}
    for e in events:
        if not isinstance(e, EventRetracted) and e.event_id not in retracted:
            kept.setdefault(e.event_id, e)
    return list(kept.values())


def twelve_months_before(day: dt.date) -> dt.date:
    return day.replace(year=day.year - 1, day=28) if (day.month, day.day) == (2, 29) else day.replace(year=day.year - 1)


def referrals_in_year(events: Iterable[InboundEvent]) -> list[ReferralOpened]:
    referrals = {e.referral_id: e for e in as_recorded(events) if isinstance(e, ReferralOpened)}
    return [r for r in referrals.values() if YEAR_START <= r.referral_date < YEAR_END]


def rereferral_rate(events: Sequence[InboundEvent]) -> tuple[int, float]:
    """DfE: a re-referral if the same child had a referral on or after (date - 12 months), before date."""
    dates: defaultdict[str, list[dt.date]] = defaultdict(list)
    for e in as_recorded(events):
        if isinstance(e, ReferralOpened):
            dates[e.child_key].append(e.referral_date)
    referrals = rereferrals = 0
    for child_dates in dates.values():
        child_dates.sort()
        for i, day in enumerate(child_dates):
            if YEAR_START <= day < YEAR_END:
                referrals += 1
                rereferrals += any(twelve_months_before(day) <= d < day for d in child_dates[:i])
    return referrals, rereferrals / referrals


def test_same_seed_gives_the_same_feed() -> None:
    small = council("857")  # Rutland, ~400 referrals a year
    first = list(simulate([small], YEAR_START, 0.5, 7, pseudonymiser=PSEUDONYMISER))
    again = list(simulate([small], YEAR_START, 0.5, 7, pseudonymiser=PSEUDONYMISER))
    other = list(simulate([small], YEAR_START, 0.5, 8, pseudonymiser=PSEUDONYMISER))

    assert len(first) > 1_000
    assert [e.event_id for e in first] == [e.event_id for e in again]
    assert first == again
    assert [e.event_id for e in first] != [e.event_id for e in other]


def test_a_median_council_year_reproduces_its_rereferral_rate_within_one_point() -> None:
    profile = median_profile()

    referrals, rate = rereferral_rate(year_of(profile))

    assert 3_000 < referrals < 3_800
    assert rate == pytest.approx(profile.rereferral_rate, abs=0.01)


@pytest.mark.slow
def test_a_kent_sized_year_reproduces_its_rereferral_rate_within_one_point() -> None:
    kent = council("886")

    referrals, rate = rereferral_rate(simulate([kent], YEAR_START, 1, SEED, pseudonymiser=PSEUDONYMISER))

    assert 22_000 < referrals < 26_000
    assert rate == pytest.approx(0.216, abs=0.01)


def test_contacts_per_referral_is_about_four_and_a_half() -> None:
    events = year_of(median_profile())
    recorded = as_recorded(events)

    contacts = {
        e.contact_id
        for e in recorded
        if isinstance(e, ContactReceived) and YEAR_START <= e.received_at.date() < YEAR_END
    }
    referrals = referrals_in_year(events)
    outcomes = {e.contact_id: e.outcome for e in recorded if isinstance(e, ContactDecided)}

    assert len(contacts) / len(referrals) == pytest.approx(4.5, abs=0.2)
    settled = [r for r in referrals if r.referral_date < dt.date(2025, 2, 1)]  # late decisions have arrived
    assert all(r.contact_id and outcomes[r.contact_id] is ContactOutcome.REFERRAL for r in settled)


def test_police_and_schools_shares_of_referrals() -> None:
    events = year_of(median_profile())
    referrals = Counter(source_group(r.source) for r in referrals_in_year(events))
    contacts = Counter(source_group(e.source) for e in as_recorded(events) if isinstance(e, ContactReceived))

    def share(counts: Counter[SourceGroup], group: SourceGroup) -> float:
        return counts[group] / sum(counts.values())

    assert share(referrals, SourceGroup.POLICE) == pytest.approx(0.28, abs=0.02)
    assert share(referrals, SourceGroup.SCHOOLS) == pytest.approx(0.21, abs=0.02)
    assert share(referrals, SourceGroup.HEALTH_SERVICES) == pytest.approx(0.15, abs=0.02)
    assert share(contacts, SourceGroup.POLICE) > share(referrals, SourceGroup.POLICE) + 0.05
    assert {r.source for r in referrals_in_year(events)} >= {ReferralSource.LA_EARLY_HELP, ReferralSource.ANONYMOUS}


def test_nfa_share_is_about_six_and_a_half_percent() -> None:
    national = national_c1(2025)
    assert national is not None
    england_in_miniature = CouncilProfile.from_c1(national, la_code="999", annual_referrals=3_400)
    events = year_of(england_in_miniature)

    referral_ids = {r.referral_id for r in referrals_in_year(events)}
    nfa = {e.referral_id for e in as_recorded(events) if isinstance(e, ReferralMarkedNFA)} & referral_ids

    assert england_in_miniature.nfa_rate == pytest.approx(0.065)  # C1 2025 publishes 6.5
    assert len(nfa) / len(referral_ids) == pytest.approx(0.065, abs=0.01)


def test_mondays_are_busier_than_sundays() -> None:
    received = [e.received_at for e in as_recorded(year_of(median_profile())) if isinstance(e, ContactReceived)]
    by_weekday = Counter(r.weekday() for r in received)
    in_year = Counter(r.month for r in received if YEAR_START <= r.date() < YEAR_END)

    assert by_weekday[0] > 2 * by_weekday[6]
    assert by_weekday[5] < by_weekday[4]
    assert in_year[8] < 0.9 * (in_year[9] + in_year[10] + in_year[11]) / 3  # the summer holiday dip


def test_late_duplicated_and_retracted_events_are_present_in_small_shares() -> None:
    events = year_of(median_profile())
    by_id = {e.event_id: e for e in events}
    retractions = [e for e in events if isinstance(e, EventRetracted)]
    late = [e for e in events if e.recorded_at - e.occurred_at > dt.timedelta(days=1)]
    duplicates = len(events) - len(by_id)
    out_of_order = sum(
        1
        for before, after in itertools.pairwise(events)
        if after.occurred_at < before.occurred_at - dt.timedelta(days=1)
    )

    assert 0.01 < len(late) / len(events) < 0.04
    assert 0.005 < duplicates / len(events) < 0.02
    assert 0 < len(retractions) / len(events) < 0.005
    assert 0 < out_of_order / len(events) < 0.05
    assert all(r.retracted_event_id in by_id for r in retractions)
    # Each correction is re-issued under a new id: the contact or referral survives exactly once.
    survivors = Counter(natural_key(e) for e in as_recorded(events) if isinstance(e, ContactReceived | ReferralOpened))
    settled = [r for r in retractions if r.occurred_at.date() < dt.date(2025, 3, 1)]
    assert settled
    assert all(survivors[natural_key(by_id[r.retracted_event_id])] == 1 for r in settled)


def natural_key(event: InboundEvent) -> tuple[str, str]:
    if isinstance(event, ReferralOpened):
        return ("referral", event.referral_id)
    assert isinstance(event, ContactReceived)
    return ("contact", event.contact_id)


def test_every_event_validates_against_the_contracts() -> None:
    events = year_of(median_profile())
    adapter: TypeAdapter[FrontDoorEvent] = TypeAdapter(FrontDoorEvent)

    assert all(adapter.validate_json(e.model_dump_json()) == e for e in events)
    assert all(e.recorded_at.timestamp() >= e.occurred_at.timestamp() for e in events)
    assert {e.la_code for e in events} == {"942"}
    keys = {e.child_key for e in events}
    assert all(len(k) == 32 and not k.startswith("942-") for k in keys)
    assert PSEUDONYMISER.pseudonymise_child("942", "942-0000000").pseudonym in keys
    closures = [e for e in events if isinstance(e, EpisodeClosed)]
    assert {c.reason.value for c in closures} >= {"RC7", "RC8", "RC9"}
    assert all(c.closing_worker and c.closing_worker.startswith("worker-") for c in closures)
    assert any(c.closing_team == "Assessment Team North" for c in closures)
    started = {e.assessment_id for e in events if isinstance(e, AssessmentStarted)}
    authorised = [e for e in events if isinstance(e, AssessmentAuthorised) and e.authorised_date < dt.date(2025, 3, 1)]
    assert all(a.assessment_id in started for a in authorised)  # nothing is lost on the way
    plans = [e for e in events if isinstance(e, CPPStarted)]
    repeat_share = sum(1 for p in plans if p.previous_plans) / len(plans)
    assert repeat_share == pytest.approx(median_profile().repeat_plan_rate, abs=0.05)


class FakeClock:
    """Monotonic seconds that move only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps = 0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.now += seconds


async def test_live_pacing_holds_the_target_rate_on_a_fake_clock() -> None:
    clock = FakeClock()
    events = list(itertools.islice(year_of(median_profile()), 5_000))
    sent_at: list[float] = []

    async def send(_: InboundEvent) -> None:
        sent_at.append(clock())

    result = await run_live(events, send, rate_per_second=1_000, clock=clock, sleep=clock.sleep)

    assert result.sent == 5_000
    assert result.elapsed_seconds == pytest.approx(5.0, abs=0.02)
    assert clock.sleeps < 1_000  # batch-aware: wakes up per tick, not per event
    per_second = Counter(int(t) for t in sent_at)
    assert all(count <= 1_010 for count in per_second.values())


async def test_live_pacing_stops_after_the_duration() -> None:
    clock = FakeClock()

    async def send(_: InboundEvent) -> None:
        return None

    events = year_of(median_profile())
    result = await run_live(events, send, rate_per_second=500, clock=clock, sleep=clock.sleep, duration_seconds=2)

    assert result.sent == pytest.approx(1_000, abs=5)


async def test_live_pacing_accepts_an_async_source() -> None:
    clock = FakeClock()
    received: list[InboundEvent] = []

    async def source() -> AsyncIterator[InboundEvent]:
        for event in year_of(median_profile())[:50]:
            yield event

    async def send(event: InboundEvent) -> None:
        received.append(event)

    result = await run_live(source(), send, rate_per_second=None, clock=clock, sleep=clock.sleep)

    assert result.sent == 50
    assert received == list(year_of(median_profile())[:50])
    assert clock.sleeps == 0


async def test_realtime_replay_follows_the_events_own_times() -> None:
    clock = FakeClock()
    events = [e for e in itertools.islice(year_of(median_profile()), 3_000) if isinstance(e, ContactReceived)]
    sent_at: list[tuple[float, dt.datetime]] = []

    async def send(event: InboundEvent) -> None:
        sent_at.append((clock(), event.occurred_at))

    await run_live(events, send, clock=clock, sleep=clock.sleep, realtime_schedule=True, time_scale=3_600)

    first = events[0].occurred_at
    for at, occurred in sent_at:
        assert at >= (occurred - first).total_seconds() / 3_600 - 1e-9


def test_live_feed_stamps_events_at_the_injected_now() -> None:
    now = dt.datetime(2025, 6, 2, 10, 30, tzinfo=LONDON)
    feed = live_feed(council("857"), clock=lambda: now, seed=3)

    events = list(itertools.islice(feed, 8_000))  # Rutland: about 6,000 events of history first
    live = [e for e in events if e.recorded_at == now]

    assert min(e.occurred_at for e in events).date() < dt.date(2024, 6, 10)
    assert all(e.recorded_at <= now and e.occurred_at <= e.recorded_at for e in events)
    assert len(live) > 500
    referrals = [e for e in live if isinstance(e, ReferralOpened)]
    assert all(r.referral_date == r.occurred_at.astimezone(LONDON).date() for r in referrals)
    assert sum(r.referral_date == now.date() for r in referrals) > 0.9 * len(referrals)  # the rest were late


@given(start=st.dates(dt.date(2020, 1, 1), dt.date(2030, 12, 31)), count=st.integers(0, 200))
def test_working_days_skip_weekends(start: dt.date, count: int) -> None:
    end = dt.date.fromordinal(add_working_days(start.toordinal(), count))
    weekdays_after_start = sum(1 for n in range(1, (end - start).days + 1) if (start + dt.timedelta(n)).weekday() < 5)

    assert end == start if count == 0 else end.weekday() < 5
    assert weekdays_after_start == count


def test_a_council_may_appear_only_once_and_years_must_be_positive() -> None:
    with pytest.raises(ValueError, match="once"):
        simulate([council("857"), council("857")], YEAR_START, 1, SEED)
    with pytest.raises(ValueError, match="positive"):
        simulate([council("857")], YEAR_START, 0, SEED)


@pytest.mark.parametrize(
    ("today", "years", "first_reported_day"),
    [
        (dt.date(2026, 12, 4), 10, dt.date(2016, 12, 1)),
        (dt.date(2026, 12, 4), 1, dt.date(2025, 12, 1)),
        (dt.date(2025, 3, 31), 2, dt.date(2023, 3, 1)),
    ],
)
def test_a_default_history_ends_on_the_first_day_of_the_current_month_so_no_event_is_in_the_future(
    today: dt.date, years: float, first_reported_day: dt.date
) -> None:
    assert history_start(today, years) == first_reported_day
    profile = CouncilProfile.from_c1(median_council_c1(2025), None)
    last = max(e.occurred_at.date() for e in simulate([profile], history_start(today, 0.25), 0.25, seed=3))
    assert last < today
