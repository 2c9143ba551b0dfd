"""The simulated front door, run through the same core as replay, reproduces its council's C1 re-referral rate."""

from __future__ import annotations

import datetime as dt

from services.core.config import RuleConfig
from services.core.engine import Engine
from services.core.indicators import rereferral_stats
from services.reference.official_statistics import median_council_c1
from services.simulator.history import simulate
from services.simulator.model import CouncilProfile

CONFIG = RuleConfig(retention_months=None)


def test_a_median_council_year_through_the_engine_is_within_one_point_of_its_c1_rate() -> None:
    row = median_council_c1(2025)
    assert row is not None
    profile = CouncilProfile.from_c1(row)
    start = dt.date(2024, 4, 1)
    engine = Engine(CONFIG)
    for event in simulate([profile], start, 1.0, seed=7):  # delivery order: late, duplicated and retracted too
        engine.apply(event)
    stats = rereferral_stats(engine.children.values(), start, dt.date(2025, 3, 31), CONFIG)
    assert abs(stats.referrals - profile.annual_referrals) / profile.annual_referrals < 0.05
    assert abs(stats.rereferral_rate - profile.rereferral_rate) <= 0.01
    assert abs(stats.nfa_referrals / stats.referrals - profile.nfa_rate) <= 0.01
