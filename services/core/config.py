"""The configurable definitions, each defaulting to its DfE or Ofsted source (see docs/definitions.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RereferralWindow = Literal["12m", "365d"]


@dataclass(frozen=True, slots=True)
class RuleConfig:
    """Thresholds and windows of every rule; defaults follow the CIN census guidance and council practice."""

    # DfE CIN census: a re-referral is within 12 months of a previous referral.
    rereferral_window: RereferralWindow = "12m"
    # Oldham practice: weekly review of children with two referrals in six months.
    two_referrals_window_months: int = 6
    # Repeated contacts without an open referral.
    repeated_contacts_min: int = 3
    repeated_contacts_window_days: int = 90
    # A contact soon after a referral closed as NFA, RC8 or RC9.
    contact_after_closure_days: int = 30
    # DfE D3: second or subsequent CP plan, and within two years of the previous one ending.
    repeat_cpp_window_months: int = 24
    # Longest look-back any rule needs (24 months) plus a margin; None keeps all history (offline reports).
    retention_months: int | None = 27
    # A child's history is one changelog message; this cap keeps it far below Kafka's 1 MB default.
    max_facts_per_child: int = 2_000


DEFAULT_CONFIG = RuleConfig()
