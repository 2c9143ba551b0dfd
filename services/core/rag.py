"""Red, amber or green for an indicator against its target: one rule for the pack, the board and the alert. Pure.

Green: on the right side of the target (at or below it for a rate where lower is better, such as re-referrals;
at or above it where higher is better, such as conversion). Amber: on the wrong side by up to `RED_MARGIN`
(2 percentage points) inclusive. Red: further than that. The performance board's thresholds and the Prometheus
rule `FrontdoorRereferralAboveTargetTwoQuarters` use the same margin (tests/deploy/test_exception_rule.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Literal

RED_MARGIN = 0.02  # fraction: beyond 2 percentage points on the wrong side of the target is red
Better = Literal["lower", "higher"]


class Rag(StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"


def rag_status(value: float, target: float, better: Better = "lower", red_margin: float = RED_MARGIN) -> Rag:
    """The status of `value` (a fraction) against `target`; rounded to 6 places, as the series' rates are."""
    shortfall = round(value - target if better == "lower" else target - value, 6)
    if shortfall <= 0:
        return Rag.GREEN
    return Rag.AMBER if shortfall <= red_margin else Rag.RED


def red_in_a_row(statuses: Sequence[Rag | None], quarters: int = 2) -> bool:
    """Whether the last `quarters` statuses are all red (the exception rule: two consecutive red quarters)."""
    last = list(statuses[-quarters:])
    return len(last) == quarters and all(status is Rag.RED for status in last)
