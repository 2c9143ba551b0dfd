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


# What each code means, as the DfE CIN census schema (CIN_schema_2026.xsd) documents it. A source's label may stop
# before the schema's bracket or example; dashes and quotes are plain. tests/unit/test_code_labels.py holds them.
REFERRAL_SOURCE_LABELS: dict[ReferralSource, str] = {
    ReferralSource.INDIVIDUAL_FAMILY: "Individual - family member, relative or carer",
    ReferralSource.INDIVIDUAL_ACQUAINTANCE: "Individual - acquaintance",
    ReferralSource.INDIVIDUAL_SELF: "Individual - self",
    ReferralSource.INDIVIDUAL_OTHER: "Individual - other",
    ReferralSource.SCHOOLS: "Schools",
    ReferralSource.EDUCATION_SERVICES: "Education services",
    ReferralSource.HEALTH_GP: "Health services - general practitioner",
    ReferralSource.HEALTH_VISITOR: "Health services - health visitor",
    ReferralSource.HEALTH_SCHOOL_NURSE: "Health services - school nurse",
    ReferralSource.HEALTH_OTHER_PRIMARY: "Health services - other primary health services",
    ReferralSource.HEALTH_A_AND_E: "Health services - A&E",
    ReferralSource.HEALTH_OTHER: "Health services - other",
    ReferralSource.HOUSING: "Housing - local authority housing or housing association",
    ReferralSource.LA_SOCIAL_CARE: "LA services - social care",
    ReferralSource.LA_OTHER_INTERNAL: "LA services - other internal",
    ReferralSource.LA_EXTERNAL: "LA services - external",
    ReferralSource.LA_EARLY_HELP: "LA services - early help",
    ReferralSource.POLICE: "Police",
    ReferralSource.OTHER_LEGAL_AGENCY: "Other legal agency - including courts, probation, immigration, CAFCASS",
    ReferralSource.OTHER: "Other - including children's centres",
    ReferralSource.ANONYMOUS: "Anonymous",
    ReferralSource.UNKNOWN: "Unknown",
}
PRIMARY_NEED_LABELS: dict[PrimaryNeed, str] = {
    PrimaryNeed.N0: "Not stated",
    PrimaryNeed.N1: "Abuse, neglect and exploitation",
    PrimaryNeed.N2: "Child's disability",
    PrimaryNeed.N3: "Parental disability or illness",
    PrimaryNeed.N4: "Family in acute stress",
    PrimaryNeed.N5: "Family dysfunction",
    PrimaryNeed.N6: "Socially unacceptable behaviour",
    PrimaryNeed.N7: "Low income",
    PrimaryNeed.N8: "Absent parenting",
    PrimaryNeed.N9: "Cases other than children in need",
}
CLOSURE_REASON_LABELS: dict[ClosureReason, str] = {
    ClosureReason.ADOPTED: "Adopted",
    ClosureReason.DIED: "Died",
    ClosureReason.CHILD_ARRANGEMENTS_ORDER: "Child arrangements order",
    ClosureReason.SPECIAL_GUARDIANSHIP_ORDER: "Special guardianship order",
    ClosureReason.TRANSFERRED_OTHER_LA: "Transferred to services of another local authority",
    ClosureReason.TRANSFERRED_ADULT_SERVICES: "Transferred to adult social care services",
    ClosureReason.SERVICES_CEASED: "Services ceased for any other reason, including child no longer in need",
    ClosureReason.CLOSED_AFTER_ASSESSMENT_NFA: "Case closed after assessment, no further action",
    ClosureReason.CLOSED_AFTER_ASSESSMENT_EARLY_HELP: "Case closed after assessment, referred to early help",
}
# The MASH's decision on a contact is not a census code: these are the words the Annex A contact list uses.
CONTACT_OUTCOME_LABELS: dict[ContactOutcome, str] = {
    ContactOutcome.NFA: "No further action",
    ContactOutcome.ADVICE_SIGNPOST: "Advice and signposting",
    ContactOutcome.EARLY_HELP: "Early help",
    ContactOutcome.REFERRAL: "Referral to children's social care",
    ContactOutcome.STRATEGY_S47: "Strategy discussion (section 47)",
}
