"""Calibration of the synthetic front door: council profiles from DfE C1/D3, national ratios, mixes, seasons."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from schemas.codes import ClosureReason, PrimaryNeed, ReferralSource
from services.reference.official_statistics import C1Row, D3Row

S = ReferralSource

# England 2024-25, DfE "Children in need" release, table C1 (services/reference/data): 632,830 referrals,
# 142,900 re-referrals within 12 months (22.6%), 41,340 NFA (6.5%), 194,620 assessed not in need (30.8%).
NATIONAL_REFERRALS = 632_830
NATIONAL_REREFERRAL_RATE = 142_900 / NATIONAL_REFERRALS
NATIONAL_NFA_RATE = 41_340 / NATIONAL_REFERRALS
NATIONAL_NOT_IN_NEED_RATE = 194_620 / NATIONAL_REFERRALS
# Same release, table C4 (explore-education-statistics data set "C4 Section 47s and Initial Child Protection
# Conferences by local authority", 2025 national row): 230,590 S47 enquiries, 72,100 ICPCs; the ICPC was a
# median 14 working days after the S47 started (25th percentile 13, 75th 15).
S47_PER_REFERRAL = 230_590 / NATIONAL_REFERRALS  # 0.364
ICPC_PER_S47 = 72_100 / 230_590  # 0.313
# Table D3, 2025 national row: 61,840 child protection plans started, 15,130 (24.5%) a second or later plan.
CPP_PER_ICPC = 61_840 / 72_100  # 0.858
NATIONAL_REPEAT_PLAN_RATE = 15_130 / 61_840
# From the issue: about 4.5 MASH contacts per referral and an assessment for ~85% of non-NFA referrals.
CONTACTS_PER_REFERRAL = 4.5
ASSESSED_SHARE_OF_NON_NFA = 0.85
# A median council (C1 2025) has ~3,400 referrals a year; a caseworker pool of one per 60 is plausible.
REFERRALS_PER_WORKER = 60

# Referral sources, % of referrals, with the group shares the issue gives for England 2024-25 (police ~28%,
# schools ~21%, health ~15%, LA services ~12%, individual ~8%, other legal agency ~4%, education services ~2%,
# housing ~1.5%, anonymous ~1%, other and unknown the rest); the split of a group across its codes is a guess.
REFERRAL_SOURCE_MIX: dict[ReferralSource, float] = {
    S.POLICE: 28.0,
    S.SCHOOLS: 21.0,
    S.HEALTH_GP: 2.5,
    S.HEALTH_VISITOR: 2.5,
    S.HEALTH_SCHOOL_NURSE: 0.5,
    S.HEALTH_OTHER_PRIMARY: 1.0,
    S.HEALTH_A_AND_E: 3.5,
    S.HEALTH_OTHER: 5.0,
    S.LA_SOCIAL_CARE: 5.5,
    S.LA_OTHER_INTERNAL: 2.0,
    S.LA_EXTERNAL: 1.5,
    S.LA_EARLY_HELP: 3.0,
    S.INDIVIDUAL_FAMILY: 4.5,
    S.INDIVIDUAL_ACQUAINTANCE: 0.5,
    S.INDIVIDUAL_SELF: 1.0,
    S.INDIVIDUAL_OTHER: 2.0,
    S.OTHER_LEGAL_AGENCY: 4.0,
    S.EDUCATION_SERVICES: 2.0,
    S.HOUSING: 1.5,
    S.ANONYMOUS: 1.0,
    S.OTHER: 5.5,
    S.UNKNOWN: 2.0,
}
# Contacts that do not become referrals: police notifications (domestic abuse, missing) are a larger share.
# With 3.5 of every 4.5 contacts from this mix, police are ~37% and schools ~16% of all contacts.
CONTACT_SOURCE_MIX: dict[ReferralSource, float] = REFERRAL_SOURCE_MIX | {
    S.POLICE: 40.0,
    S.SCHOOLS: 15.0,
    S.HEALTH_OTHER: 3.0,
    S.LA_SOCIAL_CARE: 4.0,
    S.OTHER: 3.5,
}
PRIMARY_NEED_MIX: dict[PrimaryNeed, float] = {
    PrimaryNeed.N1: 50.0,
    PrimaryNeed.N2: 3.0,
    PrimaryNeed.N3: 2.5,
    PrimaryNeed.N4: 9.0,
    PrimaryNeed.N5: 15.0,
    PrimaryNeed.N6: 2.5,
    PrimaryNeed.N7: 0.5,
    PrimaryNeed.N8: 3.5,
    PrimaryNeed.N9: 9.0,
    PrimaryNeed.N0: 5.0,
}
# Assessment factor codes (CIN census XSD) weighted like DfE's most common factors: parental mental
# health and domestic abuse first, then emotional abuse, neglect, child mental health, parental drugs.
FACTOR_MIX: dict[str, float] = {
    "4B": 16.0, "3B": 15.0, "3A": 11.0, "17A": 10.0, "16A": 9.0, "4A": 9.0, "2B": 7.0, "1B": 5.0,
    "15A": 4.0, "18C": 4.0, "24A": 2.5, "11A": 2.0, "10A": 2.0, "14A": 2.0, "5A": 1.5,
}  # fmt: skip
CIN_CLOSURE_MIX: dict[ClosureReason, float] = {
    ClosureReason.SERVICES_CEASED: 82.0,
    ClosureReason.TRANSFERRED_OTHER_LA: 7.0,
    ClosureReason.TRANSFERRED_ADULT_SERVICES: 3.5,
    ClosureReason.CHILD_ARRANGEMENTS_ORDER: 3.0,
    ClosureReason.SPECIAL_GUARDIANSHIP_ORDER: 3.0,
    ClosureReason.ADOPTED: 1.2,
    ClosureReason.DIED: 0.3,
}
# Contacts arrive in office hours; police notifications also come in the evening and overnight.
CONTACT_HOUR_WEIGHTS = (1, 1, 1, 1, 1, 1, 2, 4, 8, 12, 12, 11, 9, 10, 11, 10, 8, 5, 4, 3, 3, 2, 2, 1)
AREAS = ("North", "South", "East", "West", "Central", "Coastal")

# Weekday factors Monday..Sunday: Monday peaks (weekend police notifications), weekends are quiet.
WEEKDAY_FACTORS = (1.30, 1.15, 1.10, 1.05, 0.95, 0.40, 0.30)
# School holidays by fixed (month, day) ranges: a proxy for the real term dates, which move each year.
HOLIDAY_FACTORS: tuple[tuple[tuple[int, int], tuple[int, int], float], ...] = (
    ((12, 20), (12, 31), 0.60),
    ((1, 1), (1, 3), 0.60),
    ((2, 12), (2, 18), 0.85),
    ((4, 1), (4, 14), 0.80),
    ((5, 27), (5, 31), 0.85),
    ((7, 22), (8, 31), 0.75),
    ((10, 24), (10, 31), 0.85),
)
BANK_HOLIDAYS = frozenset({(12, 25), (12, 26), (1, 1)})


@dataclass(frozen=True, slots=True)
class CouncilProfile:
    """One council's calibration: its size and the rates it should reproduce, from a C1 (and D3) row."""

    la_code: str
    la_name: str
    annual_referrals: int
    rereferral_rate: float
    nfa_rate: float
    not_in_need_rate: float
    repeat_plan_rate: float = NATIONAL_REPEAT_PLAN_RATE
    contacts_per_referral: float = CONTACTS_PER_REFERRAL

    def __post_init__(self) -> None:
        if not (len(self.la_code) == 3 and self.la_code.isdigit()):
            raise ValueError(f"la_code must be the three-digit DfE code, got {self.la_code!r}")
        if self.annual_referrals <= 0 or self.contacts_per_referral < 1:
            raise ValueError("a council needs referrals and at least one contact per referral")
        rates = (self.rereferral_rate, self.nfa_rate, self.not_in_need_rate, self.repeat_plan_rate)
        if not all(0.0 <= r < 1.0 for r in rates) or self.nfa_rate + self.not_in_need_rate >= 1.0:
            raise ValueError(f"rates must be fractions in [0, 1) that leave room for children in need: {rates}")

    @classmethod
    def from_c1(
        cls, row: C1Row, d3: D3Row | None = None, *, la_code: str | None = None, annual_referrals: int | None = None
    ) -> CouncilProfile:
        """Suppressed figures fall back to the national ones; overrides let a national row size a test council."""
        referrals = annual_referrals if annual_referrals is not None else row.referral_count
        if referrals is None:
            raise ValueError(f"{row.la_name or row.geographic_level} {row.time_period}: referral count suppressed")
        repeat = d3.cpp_subsequent_percent if d3 is not None else None
        return cls(
            la_code=la_code if la_code is not None else row.old_la_code,
            la_name=row.la_name or row.geographic_level,
            annual_referrals=referrals,
            rereferral_rate=_share(row.rereferral_percent, NATIONAL_REREFERRAL_RATE),
            nfa_rate=_share(row.no_further_action_percent, NATIONAL_NFA_RATE),
            not_in_need_rate=_share(row.not_in_need_percent, NATIONAL_NOT_IN_NEED_RATE),
            repeat_plan_rate=_share(repeat, NATIONAL_REPEAT_PLAN_RATE),
        )

    @property
    def not_in_need_given_assessed(self) -> float:
        # C1 gives "assessed not in need" as a share of all referrals; only assessed referrals can be.
        assessed = (1.0 - self.nfa_rate) * ASSESSED_SHARE_OF_NON_NFA
        return min(0.95, self.not_in_need_rate / assessed)

    @property
    def s47_given_not_nfa(self) -> float:
        return min(0.9, S47_PER_REFERRAL / (1.0 - self.nfa_rate))

    @property
    def icpc_given_s47_in_need(self) -> float:
        # S47s for children then assessed not in need end without a conference, so the rest carry the ICPCs.
        in_need = 1.0 - ASSESSED_SHARE_OF_NON_NFA * self.not_in_need_given_assessed
        return min(0.95, ICPC_PER_S47 / max(in_need, 0.05))

    @property
    def workers(self) -> int:
        return max(8, min(999, self.annual_referrals // REFERRALS_PER_WORKER))

    @property
    def areas(self) -> tuple[str, ...]:
        return AREAS[: max(2, min(len(AREAS), 2 + self.annual_referrals // 6000))]


def _share(percent: float | None, national: float) -> float:
    return national if percent is None else percent / 100.0


@dataclass(frozen=True, slots=True)
class Disorder:
    """Shares of events that arrive out of the ideal order; each is a probability per event."""

    late_share: float = 0.02  # recorded_at 1-21 days after occurred_at, and arrives then
    backdated_share: float = 0.01  # recorded promptly but delivered 1-14 days later (out of order)
    duplicate_share: float = 0.01  # the same event (same event_id) delivered again within two days
    correction_share: float = 0.002  # of contacts and referrals: retracted, then re-issued corrected

    def __post_init__(self) -> None:
        shares = (self.late_share, self.backdated_share, self.duplicate_share, self.correction_share)
        if not all(0.0 <= s <= 0.5 for s in shares):
            raise ValueError(f"disorder shares must be in [0, 0.5]: {shares}")


NO_DISORDER = Disorder(0.0, 0.0, 0.0, 0.0)


@functools.cache
def _holiday_factor(month: int, day: int) -> float:
    if (month, day) in BANK_HOLIDAYS:
        return 0.35
    for first, last, factor in HOLIDAY_FACTORS:
        if first <= (month, day) <= last:
            return factor
    return 1.0


def day_weight(day: dt.date) -> float:
    """Relative contact volume on a day: weekday pattern times the school-holiday dip."""
    return WEEKDAY_FACTORS[day.weekday()] * _holiday_factor(day.month, day.day)


@functools.cache
def mean_day_weight() -> float:
    """The average weight over 52 whole weeks, so a year's volume matches the annual figure."""
    first = dt.date(2023, 4, 3)
    return sum(day_weight(first + dt.timedelta(days=i)) for i in range(364)) / 364
