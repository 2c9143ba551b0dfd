"""The configurable definitions, per council and dated, each defaulting to its DfE or Ofsted source (see docs)."""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

RereferralWindow = Literal["12m", "365d"]
SameDayReferrals = Literal["collapse", "count_after_closure"]


@dataclass(frozen=True, slots=True)
class RuleConfig:
    """Thresholds and windows of every rule; defaults follow the CIN census guidance and council practice.

    A RuleConfig on its own is the same definition for every council on every day, so it can be passed
    wherever rules are expected (see `Rules`).
    """

    # DfE CIN census: a re-referral is within 12 months of a previous referral.
    rereferral_window: RereferralWindow = "12m"
    # CIN census: one referral per (council, child, date). "count_after_closure" counts a second referral on
    # the same day as a separate referral when the day's previous one was closed or marked NFA before it.
    same_day_referrals: SameDayReferrals = "collapse"
    # Oldham practice: weekly review of children with two referrals in six months.
    two_referrals_window_months: int = 6
    # Repeated contacts without an open referral.
    repeated_contacts_min: int = 3
    repeated_contacts_window_days: int = 90
    # A contact soon after a referral closed as NFA, RC8 or RC9.
    contact_after_closure_days: int = 30
    # DfE D3: second or subsequent CP plan, and within two years of the previous one ending.
    repeat_cpp_window_months: int = 24
    # Severity: a re-referral is high from this many referrals in the re-referral window (this one included)...
    rereferral_high_referrals: int = 3
    # ...medium within this many days of the previous referral, low otherwise.
    rereferral_medium_within_days: int = 183
    # Repeated contacts are high from repeated_contacts_min plus this many contacts.
    repeated_contacts_high_margin: int = 2
    # Longest look-back any rule needs (24 months) plus a margin; None keeps all history (offline reports).
    retention_months: int | None = 27
    # A child's history is one changelog message; this cap keeps it far below Kafka's 1 MB default.
    max_facts_per_child: int = 2_000

    def at(self, la_code: str, day: dt.date) -> RuleConfig:
        """The definition in force for `la_code` on `day`: this one, for every council and day."""
        return self

    def for_council(self, la_code: str) -> RuleConfig:
        """The council's latest definition: this one."""
        return self


DEFAULT_CONFIG = RuleConfig()

ALWAYS = dt.date.min  # the `from` date of a council's first definition: in force for all earlier history
Timeline = tuple[tuple[dt.date, RuleConfig], ...]  # (in force from, definition), ascending, first from ALWAYS


def _check(name: str, timeline: Sequence[tuple[dt.date, RuleConfig]]) -> None:
    if not timeline or timeline[0][0] != ALWAYS:
        raise ValueError(f"{name}: the first definition must be in force from ALWAYS")
    dates = [start for start, _ in timeline]
    if any(a >= b for a, b in itertools.pairwise(dates)):
        raise ValueError(f"{name}: definitions must be in strictly ascending order of their dates")


@dataclass(frozen=True, slots=True)
class CouncilRules:
    """Each council's definitions over time; a council not listed follows the default.

    A change of definition applies from its stated date: an alert anchored at day d, or an indicator for a
    referral dated d, uses the definition in force on d, so history before the change keeps its old meaning.
    """

    default: Timeline = ((ALWAYS, DEFAULT_CONFIG),)
    councils: Mapping[str, Timeline] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check("default", self.default)
        for la_code, timeline in self.councils.items():
            _check(f"council {la_code}", timeline)

    def at(self, la_code: str, day: dt.date) -> RuleConfig:
        """The definition in force for `la_code` on `day`."""
        timeline = self.councils.get(la_code, self.default)
        if len(timeline) == 1:  # the usual case: one definition for all time
            return timeline[0][1]
        return timeline[bisect.bisect_right(timeline, day, key=lambda entry: entry[0]) - 1][1]

    def for_council(self, la_code: str) -> RuleConfig:
        """The council's latest definition (what retention and the history cap follow)."""
        return self.councils.get(la_code, self.default)[-1][1]

    def definitions(self) -> Iterator[RuleConfig]:
        """Every definition held, the default's first."""
        for timeline in (self.default, *self.councils.values()):
            for _, config in timeline:
                yield config

    def replaced(self, change: Callable[[RuleConfig], RuleConfig]) -> CouncilRules:
        """The same rules with `change` applied to every definition of every council (e.g. one window for all)."""

        def apply(timeline: Timeline) -> Timeline:
            return tuple((start, change(config)) for start, config in timeline)

        return CouncilRules(apply(self.default), {la: apply(t) for la, t in self.councils.items()})


Rules = RuleConfig | CouncilRules  # what the core takes: one definition for all, or per council and dated
