"""The packaged DfE tables C1, D3 and B1: parsed as published, suppression read as None, one row per area."""

from __future__ import annotations

from collections import Counter

import pytest

from services.reference.official_statistics import (
    LOCAL_AUTHORITY,
    NATIONAL,
    c1_for,
    d3_for,
    load_b1,
    load_c1,
    load_d3,
    median_council_c1,
    national_c1,
    national_d3,
    parse_c1,
)

C1_HEADER = (
    "time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,"
    "old_la_code,new_la_code,la_name,category,referral_count,rereferral_count,rereferral_percent,"
    "no_further_action_count,no_further_action_percent,not_in_need_count,not_in_need_percent,"
    "referral_child_count,rereferral_child_count,rereferral_child_percent"
)
NATIONAL_2025 = (
    "2025,Reporting year,National,E92000001,England,,,,,,Referrals and Re-referrals,"
    "632830,142900,22.6,41340,6.5,194620,30.8,557810,116950,21"
)
SUPPRESSED_COUNCIL = (
    "2025,Reporting year,Local authority,E92000001,England,E12000001,North East,392,E08000022,"
    "North Tyneside,Referrals and Re-referrals,1893,468,24.7,c,c,853,45.1,1694,u,x"
)


def test_national_rows_are_deduplicated_and_suppressed_values_are_none() -> None:
    rows = parse_c1("\n".join([C1_HEADER, NATIONAL_2025, NATIONAL_2025, SUPPRESSED_COUNCIL]) + "\n")

    assert [r.geographic_level for r in rows] == [NATIONAL, LOCAL_AUTHORITY]
    council = rows[1]
    assert council.no_further_action_count is None
    assert council.no_further_action_percent is None
    assert council.rereferral_child_count is None
    assert council.rereferral_child_percent is None
    assert council.referral_count == 1893
    # The packaged tables: one national row per year, and the same suppression reading.
    for table in (load_c1(), load_d3(), load_b1()):
        national_years = Counter(r.time_period for r in table if r.geographic_level == NATIONAL)
        assert set(national_years.values()) == {1}
        assert len(national_years) == 13
    tyneside = c1_for("392", 2025)
    assert tyneside is not None
    assert tyneside.no_further_action_count is None


def test_kent_2025_c1_figures_are_read() -> None:
    kent = c1_for("886", 2025)

    assert kent is not None
    assert (kent.la_name, kent.new_la_code, kent.region_name) == ("Kent", "E10000016", "South East")
    assert kent.referral_count == 24_035
    assert kent.rereferral_count == 5_194
    assert kent.rereferral_percent == pytest.approx(21.6)
    assert kent.no_further_action_count == 129
    assert kent.no_further_action_percent == pytest.approx(0.5)
    assert kent.not_in_need_count == 6_528
    assert kent.not_in_need_percent == pytest.approx(27.2)
    assert kent.referral_child_count == 21_486
    assert kent.rereferral_child_count == 4_284
    assert kent.rereferral_child_percent == pytest.approx(19.9)
    assert c1_for("E10000016", 2025) == kent


def test_kent_2025_repeat_child_protection_plans_are_read_from_d3() -> None:
    kent = d3_for("886", 2025)

    assert kent is not None
    assert (kent.cpp_start, kent.cpp_subsequent, kent.cpp_subsequent_percent) == (1_274, 310, 24.3)


def test_national_2025_figures_match_the_published_release() -> None:
    c1, d3 = national_c1(2025), national_d3(2025)

    assert c1 is not None and d3 is not None
    assert (c1.referral_count, c1.rereferral_count, c1.no_further_action_count) == (632_830, 142_900, 41_340)
    assert (d3.cpp_start, d3.cpp_subsequent) == (61_840, 15_130)


def test_the_median_council_of_2025_has_about_3400_referrals() -> None:
    median = median_council_c1(2025)

    assert median is not None
    assert median.la_name == "Cumberland"
    assert median.referral_count == 3_367


def test_unknown_council_or_year_is_none() -> None:
    assert c1_for("999", 2025) is None
    assert c1_for("886", 1999) is None
    assert national_c1(1999) is None
    assert median_council_c1(1999) is None


def test_c4_gives_england_s_icpcs_within_15_working_days_as_a_share_of_all_icpcs() -> None:
    from services.reference.official_statistics import load_c4  # noqa: PLC0415  # one test reads C4

    england = next(r for r in load_c4() if r.time_period == 2025 and r.geographic_level == "National")

    assert (england.icpc, england.duration_0_10_days, england.duration_11_15_days) == (72100, 6240, 52430)
    assert england.icpc_within_15_days_percent == 81.4


def test_the_statistical_neighbour_model_gives_every_council_ten_neighbours_nearest_first() -> None:
    from services.reference.neighbours import sn_model, statistical_neighbours  # noqa: PLC0415

    assert statistical_neighbours("886")[:3] == ("881", "845", "878")
    assert len(sn_model()) == 153 and all(len(n) == 10 for n in sn_model().values())
