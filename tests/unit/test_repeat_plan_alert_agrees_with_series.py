"""The repeat-plan alert and the D3 monthly series both judge a plan by `definitions.plans`: they cannot disagree."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.alerts import AlertRevised, AlertWithdrawn, RepeatChildProtectionPlan
from schemas.codes import Severity
from schemas.events import InboundEvent
from services.core.aggregates import contribution
from services.core.config import RuleConfig
from services.core.engine import Engine
from services.core.series import monthly_series
from tests.builders import make_plan, make_plan_end

OFFLINE = RuleConfig(retention_months=None)
START = dt.date(2021, 1, 4)


def plan_alerts_and_series(events: Iterable[InboundEvent]) -> tuple[list[RepeatChildProtectionPlan], list[dict]]:
    """The repeat-plan alerts standing after the events (raised, revised, withdrawn), and the monthly series."""
    engine = Engine(OFFLINE)
    standing: dict[str, RepeatChildProtectionPlan] = {}
    for event in events:
        for message in engine.apply(event)[1]:
            alert = message.alert if isinstance(message, AlertRevised) else message
            if isinstance(alert, AlertWithdrawn):
                standing.pop(alert.alert_id, None)
            elif isinstance(alert, RepeatChildProtectionPlan):
                standing[alert.alert_id] = alert
    totals: Counter[tuple[str, str, str]] = Counter()
    for history in engine.children.values():
        totals.update(contribution(history, OFFLINE))
    return list(standing.values()), monthly_series(+totals)


def alert_months(alerts: list[RepeatChildProtectionPlan]) -> tuple[Counter[str], Counter[str]]:
    """Per start month: repeat-plan alerts, and those within two years (high severity)."""
    ever = Counter(a.start_date.strftime("%Y-%m") for a in alerts)
    within = Counter(a.start_date.strftime("%Y-%m") for a in alerts if a.within_two_years)
    assert all((a.severity is Severity.HIGH) == a.within_two_years for a in alerts)
    return ever, within


def test_the_same_plan_start_under_two_plan_ids_across_returns_is_one_first_plan_for_the_alert_and_the_series() -> None:
    # The 2023 return and the 2024 return repeat one plan under different plan ids; it used to alert as a second.
    alerts, months = plan_alerts_and_series(
        [make_plan("2023-05-02", plan_id="p-2023"), make_plan("2023-05-02", plan_id="p-2024-return")]
    )

    assert alerts == []
    [may] = [row for row in months if row["month"] == "2023-05"]
    assert (may["cpp_started"], may["cpp_subsequent_ever"]) == (1, 0)


def test_a_later_return_saying_there_were_previous_plans_raises_one_alert_as_the_series_counts_one() -> None:
    first_return = make_plan("2023-05-02", plan_id="p-2023")
    later_return = make_plan("2023-05-02", plan_id="p-2024-return", previous_plans=1)
    for order in ([first_return, later_return], [later_return, first_return]):
        alerts, months = plan_alerts_and_series(order)

        [alert] = alerts
        [may] = [row for row in months if row["month"] == "2023-05"]
        assert (alert.previous_plans, alert.within_two_years, may["cpp_subsequent_ever"]) == (1, False, 1)


@st.composite
def plan_records(draw: st.DrawFn) -> list[InboundEvent]:
    """A child's plan records over a few years: starts repeated under other ids, numbers, ends; any order."""
    events: list[InboundEvent] = []
    serial = iter(range(10_000))
    for offset in draw(st.lists(st.integers(0, 1500), min_size=1, max_size=4)):
        start = START + dt.timedelta(days=offset)
        for copy in range(draw(st.integers(1, 3))):  # the same plan in one or more returns
            number = draw(st.sampled_from([None, 0, 1]))
            plan = make_plan(start, plan_id=f"p{offset}-{copy}", previous_plans=number, event_id=f"e{next(serial)}")
            events.append(plan)
            if draw(st.booleans()):
                ended = start + dt.timedelta(days=draw(st.integers(0, 400)))
                events.append(make_plan_end(plan, ended, event_id=f"e{next(serial)}"))
    return draw(st.permutations(events))


@settings(max_examples=60, deadline=None)
@given(plan_records())
def test_in_any_arrival_order_the_repeat_plan_alerts_are_the_series_subsequent_plans_month_by_month(
    events: list[InboundEvent],
) -> None:
    alerts, months = plan_alerts_and_series(events)
    ever, within = alert_months(alerts)

    assert {m: n for m, n in ever.items()} == {
        r["month"]: r["cpp_subsequent_ever"] for r in months if r["cpp_subsequent_ever"]
    }
    assert {m: n for m, n in within.items()} == {
        r["month"]: r["cpp_subsequent_within_2y"] for r in months if r["cpp_subsequent_within_2y"]
    }
