"""DfE C1 and D3 benchmark series: exact published figures for Kent (886), its region and England."""

from __future__ import annotations

from services.metrics.benchmarks import BenchmarkPoint, Benchmarks

KENT = "886"


def points(la_code: str, neighbours: tuple[str, ...] = ()) -> dict[tuple[str, str, int], float]:
    return {(p.figure, p.area, p.year): p.value for p in Benchmarks().for_council(la_code, neighbours)}


def test_the_latest_year_shipped_is_2024_25() -> None:
    assert Benchmarks().latest_year == 2025


def test_england_2025_c1_and_d3_figures_are_the_published_percentages() -> None:
    kent = points(KENT)

    assert kent[("rereferral", "england", 2025)] == 0.226  # 142,900 of 632,830 referrals
    assert kent[("child_rereferral", "england", 2025)] == 0.21
    assert kent[("referral_nfa", "england", 2025)] == 0.065
    assert kent[("assessed_not_in_need", "england", 2025)] == 0.308
    assert kent[("cpp_second_or_subsequent", "england", 2025)] == 0.245


def test_kent_2025_figures_appear_under_its_own_code() -> None:
    kent = points(KENT)

    assert kent[("rereferral", KENT, 2025)] == 0.216  # 5,194 of 24,035
    assert kent[("child_rereferral", KENT, 2025)] == 0.199
    assert kent[("referral_nfa", KENT, 2025)] == 0.005
    assert kent[("assessed_not_in_need", KENT, 2025)] == 0.272
    assert kent[("cpp_second_or_subsequent", KENT, 2025)] == 0.243
    assert kent[("rereferral", KENT, 2024)] == 0.233
    assert kent[("rereferral", KENT, 2013)] == 0.242


def test_the_region_is_the_councils_own_region_south_east_for_kent() -> None:
    kent = points(KENT)

    assert kent[("rereferral", "region", 2025)] == 0.284
    assert kent[("cpp_second_or_subsequent", "region", 2025)] == 0.263


def test_neighbours_are_the_mean_of_the_configured_councils_published_rates() -> None:
    kent = points(KENT, neighbours=("887", "845"))  # Medway 24.8% and East Sussex 16.6% in C1 2025

    assert kent[("rereferral", "neighbours", 2025)] == 0.207
    assert kent[("cpp_second_or_subsequent", "neighbours", 2025)] == 0.29  # D3: 25.7% and 32.3%


def test_without_configured_neighbours_there_is_no_neighbours_series() -> None:
    assert not [key for key in points(KENT) if key[1] == "neighbours"]


def test_suppressed_figures_are_left_out_not_zero() -> None:
    # North Tyneside (392) 2025: NFA count and percentage suppressed ("c") in C1.
    north_tyneside = points("392")

    assert ("referral_nfa", "392", 2025) not in north_tyneside
    assert north_tyneside[("rereferral", "392", 2025)] == 0.247


def test_a_trend_covers_every_published_year() -> None:
    years = {p.year for p in Benchmarks().for_council(KENT) if p.figure == "rereferral" and p.area == "england"}

    assert years == set(range(2013, 2026))


def test_an_unknown_council_still_gets_england() -> None:
    unknown = Benchmarks().for_council("999")

    assert BenchmarkPoint("rereferral", "england", 2025, 0.226) in unknown
    assert {p.area for p in unknown} == {"england"}
