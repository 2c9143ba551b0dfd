"""The rules, the indicators and the aggregates decide re-referrals exactly as the definition functions do."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from functools import cache

import pytest

from schemas.alerts import AlertRevised, AlertWithdrawn, RaisedAlert, RereferralDetected
from schemas.events import InboundEvent
from services.core.aggregates import AggregateKey, contribution
from services.core.config import ALWAYS, CouncilRules, RuleConfig, Rules
from services.core.definitions import rereferral_flags
from services.core.engine import Engine
from services.core.indicators import rereferral_stats
from services.reference.official_statistics import median_council_c1
from services.simulator.history import simulate
from services.simulator.model import CouncilProfile

START, END = dt.date(2024, 4, 1), dt.date(2025, 3, 31)
WHOLE_HISTORY = RuleConfig(retention_months=None)
# Three councils: the default, one counting 365 days, and one that changes its same-day policy mid-year.
PER_COUNCIL = CouncilRules(
    default=((ALWAYS, WHOLE_HISTORY),),
    councils={
        "201": ((ALWAYS, RuleConfig(rereferral_window="365d", retention_months=None)),),
        "202": (
            (ALWAYS, WHOLE_HISTORY),
            (dt.date(2024, 10, 1), RuleConfig(same_day_referrals="count_after_closure", retention_months=None)),
        ),
    },
)


@cache
def simulated_events() -> tuple[InboundEvent, ...]:
    row = median_council_c1(2025)
    assert row is not None
    profiles = [CouncilProfile.from_c1(row, la_code=la, annual_referrals=400) for la in ("200", "201", "202")]
    return tuple(simulate(profiles, START, 1.0, seed=11))


def final_alerts(engine: Engine, events: tuple[InboundEvent, ...]) -> list[RaisedAlert]:
    latest: dict[str, RaisedAlert] = {}
    for event in events:
        for message in engine.apply(event)[1]:
            if isinstance(message, AlertWithdrawn):
                del latest[message.alert_id]
            else:
                latest[message.alert_id] = message.alert if isinstance(message, AlertRevised) else message
    return list(latest.values())


@pytest.mark.parametrize("rules", [WHOLE_HISTORY, PER_COUNCIL], ids=["default", "per-council"])
def test_alerts_indicators_and_aggregates_count_the_referrals_the_definition_flags(rules: Rules) -> None:
    engine = Engine(rules)
    alerts = final_alerts(engine, simulated_events())
    flagged = {
        (h.la_code, h.child_key, d) for h in engine.children.values() for d, flag in rereferral_flags(h, rules) if flag
    }
    raised = {(a.la_code, a.child_key, a.referral_date) for a in alerts if isinstance(a, RereferralDetected)}
    assert raised == flagged

    in_year = {r for r in flagged if START <= r[2] <= END}
    stats = rereferral_stats(engine.children.values(), START, END, rules)
    assert stats.rereferrals == len(in_year) > 0

    totals: Counter[AggregateKey] = Counter()
    for history in engine.children.values():
        totals.update(contribution(history, engine.rules))
    months = {f"{d.year:04d}-{d.month:02d}" for d in (START + dt.timedelta(days=n) for n in range(365))}
    assert sum(v for (month, measure, _), v in totals.items() if measure == "rereferrals" and month in months) == len(
        in_year
    )


def test_a_council_counting_365_days_flags_no_more_than_the_same_history_under_twelve_months() -> None:
    events = simulated_events()
    twelve_months, days_365 = Engine(WHOLE_HISTORY), Engine(PER_COUNCIL)
    for event in events:
        twelve_months.apply(event)
        days_365.apply(event)

    def flags(engine: Engine) -> set[tuple[str, dt.date]]:
        return {
            (h.child_key, d)
            for h in engine.children.values()
            if h.la_code == "201"
            for d, flag in rereferral_flags(h, engine.rules)
            if flag
        }

    assert flags(days_365) <= flags(twelve_months)
