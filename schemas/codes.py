"""DfE CIN census and Ofsted Annex A code lists used by the event contracts."""

from __future__ import annotations

from enum import StrEnum


class ReferralSource(StrEnum):
    """CIN census ReferralSource (XSD `referralsourcetype`); 5D was added for 2024-25."""

    INDIVIDUAL_FAMILY = "1A"
    INDIVIDUAL_ACQUAINTANCE = "1B"
    INDIVIDUAL_SELF = "1C"
    INDIVIDUAL_OTHER = "1D"
    SCHOOLS = "2A"
    EDUCATION_SERVICES = "2B"
    HEALTH_GP = "3A"
    HEALTH_VISITOR = "3B"
    HEALTH_SCHOOL_NURSE = "3C"
    HEALTH_OTHER_PRIMARY = "3D"
    HEALTH_A_AND_E = "3E"
    HEALTH_OTHER = "3F"
    HOUSING = "4"
    LA_SOCIAL_CARE = "5A"
    LA_OTHER_INTERNAL = "5B"
    LA_EXTERNAL = "5C"
    LA_EARLY_HELP = "5D"
    POLICE = "6"
    OTHER_LEGAL_AGENCY = "7"
    OTHER = "8"
    ANONYMOUS = "9"
    UNKNOWN = "10"


class SourceGroup(StrEnum):
    """The 11 grouped contact/referral sources of Ofsted's Annex A (Codes_used, 'Grouped' column)."""

    INDIVIDUAL = "individual"
    SCHOOLS = "schools"
    EDUCATION_SERVICES = "education_services"
    HEALTH_SERVICES = "health_services"
    HOUSING = "housing"
    LA_SERVICES = "la_services"
    POLICE = "police"
    OTHER_LEGAL_AGENCY = "other_legal_agency"
    OTHER = "other"
    ANONYMOUS = "anonymous"
    UNKNOWN = "unknown"


_GROUP_BY_PREFIX: dict[str, SourceGroup] = {
    "1": SourceGroup.INDIVIDUAL,
    "2A": SourceGroup.SCHOOLS,
    "2B": SourceGroup.EDUCATION_SERVICES,
    "3": SourceGroup.HEALTH_SERVICES,
    "4": SourceGroup.HOUSING,
    "5": SourceGroup.LA_SERVICES,
    "6": SourceGroup.POLICE,
    "7": SourceGroup.OTHER_LEGAL_AGENCY,
    "8": SourceGroup.OTHER,
    "9": SourceGroup.ANONYMOUS,
    "10": SourceGroup.UNKNOWN,
}


def source_group(source: ReferralSource) -> SourceGroup:
    """The Annex A group of a CIN referral source code."""
    code = source.value
    if code in _GROUP_BY_PREFIX:
        return _GROUP_BY_PREFIX[code]
    return _GROUP_BY_PREFIX.get(code[:2]) or _GROUP_BY_PREFIX[code[0]]


class PrimaryNeed(StrEnum):
    """CIN census PrimaryNeedCode N0..N9."""

    N0 = "N0"
    N1 = "N1"
    N2 = "N2"
    N3 = "N3"
    N4 = "N4"
    N5 = "N5"
    N6 = "N6"
    N7 = "N7"
    N8 = "N8"
    N9 = "N9"


class ClosureReason(StrEnum):
    """CIN census ReasonForClosure RC1..RC9 (RC9 added for 2024-25)."""

    ADOPTED = "RC1"
    DIED = "RC2"
    CHILD_ARRANGEMENTS_ORDER = "RC3"
    SPECIAL_GUARDIANSHIP_ORDER = "RC4"
    TRANSFERRED_OTHER_LA = "RC5"
    TRANSFERRED_ADULT_SERVICES = "RC6"
    SERVICES_CEASED = "RC7"
    CLOSED_AFTER_ASSESSMENT_NFA = "RC8"
    CLOSED_AFTER_ASSESSMENT_EARLY_HELP = "RC9"


class ContactOutcome(StrEnum):
    """What the MASH decided about a contact."""

    NFA = "nfa"
    ADVICE_SIGNPOST = "advice_signpost"
    EARLY_HELP = "early_help"
    REFERRAL = "referral"
    STRATEGY_S47 = "strategy_s47"


class Rule(StrEnum):
    """The alert rules; values are bounded and safe as metric labels."""

    REREFERRAL = "rereferral"
    REPEATED_CONTACTS = "repeated_contacts"
    CONTACT_AFTER_CLOSURE = "contact_after_closure"
    TWO_REFERRALS_IN_SIX_MONTHS = "two_referrals_in_six_months"
    REPEAT_CHILD_PROTECTION_PLAN = "repeat_child_protection_plan"


class Severity(StrEnum):
    """How urgently a duty manager should look at an alert."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
