"""The pack's commentary states facts from its numbers: runs, differences in points, RAG; nothing else."""

from __future__ import annotations

from services.core.rag import Rag, rag_status, red_in_a_row
from services.reports.commentary import comparison_sentence, rag_sentence, run_at_end, trend_sentence


def test_a_rate_that_rose_three_months_in_a_row_is_said_to_rise_for_the_third_month_running() -> None:
    sentence = trend_sentence("The rate", ["2025-12", "2026-01", "2026-02", "2026-03"], [0.19, 0.20, 0.21, 0.231])

    assert sentence == "The rate rose for the third month running, to 23.1% in March 2026."


def test_a_run_ends_at_the_first_change_of_direction_and_gaps_are_skipped() -> None:
    assert run_at_end([0.3, 0.2, None, 0.1, 0.15]) == ("rose", 1)
    assert run_at_end([0.3, 0.2, None, 0.1]) == ("fell", 2)
    assert run_at_end([0.2]) == ("", 0)


def test_a_difference_from_a_benchmark_is_given_in_points_above_or_below() -> None:
    assert comparison_sentence("It", 0.255, 0.224, "the national figure") == (
        "It (25.5%) is 3.1 points above the national figure (22.4%)."
    )
    assert comparison_sentence("It", 0.2, 0.224, "England") == "It (20.0%) is 2.4 points below England (22.4%)."
    assert comparison_sentence("It", None, 0.224, "England") is None


def test_red_means_more_than_two_points_on_the_wrong_side_of_the_target() -> None:
    assert rag_status(0.22, 0.20) is Rag.AMBER
    assert rag_status(0.2201, 0.20) is Rag.RED
    assert rag_status(0.20, 0.20) is Rag.GREEN
    assert rag_status(0.70, 0.75, better="higher") is Rag.RED
    assert rag_status(0.74, 0.75, better="higher") is Rag.AMBER


def test_the_exception_needs_the_last_two_quarters_red_not_any_two() -> None:
    assert red_in_a_row([Rag.AMBER, Rag.RED, Rag.RED])
    assert not red_in_a_row([Rag.RED, Rag.RED, Rag.AMBER])
    assert not red_in_a_row([Rag.RED])


def test_the_rag_sentence_counts_consecutive_red_quarters() -> None:
    quarters = [("2025-Q3", 0.21, 0.2, Rag.AMBER), ("2025-Q4", 0.23, 0.2, Rag.RED), ("2026-Q1", 0.24, 0.2, Rag.RED)]

    assert rag_sentence("The re-referral rate", quarters) == [
        "The re-referral rate in 2026-Q1: 24.0% against a target of 20.0%, 4.0 points above (red).",
        "It has been red for 2 consecutive complete quarters.",
    ]
