"""Reading council spreadsheet values (Annex A and CSV extracts): dates, yes/no, code labels, error summaries."""

from __future__ import annotations

import datetime as dt
import re
from typing import TypeVar

from pydantic import ValidationError

from schemas.codes import ClosureReason, ContactOutcome, PrimaryNeed, ReferralSource

_Code = TypeVar("_Code", PrimaryNeed, ClosureReason)

_SPACES = re.compile(r"[\s\u00a0\u2007\u202f\ufeff]+")
_MISSING = frozenset({"", "#n/a", "n/a", "na", "#na", "null", "none", "-", "#value!", "#ref!", "#name?"})
# Ofsted asks for codes with their list letter, e.g. "q) 6: Police", "d1) Not in education...", "zz) T4".
_LETTER_PREFIX = re.compile(r"^[a-z]{1,2}\d?\)\s*", re.IGNORECASE)
_EXCEL_EPOCH = dt.date(1899, 12, 30)  # serial 1 = 1900-01-01 once Excel's 1900 leap-year bug is allowed for
_SERIAL_RANGE = (61, 109_574)  # 1900-03-01 .. 2199-12-31; outside this a number is not a plausible date
_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")
_WORDY_FORMATS = ("%d %b %Y", "%d %B %Y", "%d-%b-%Y", "%d-%b-%y")

_APOSTROPHES = re.compile("['\u2018\u2019]")  # "children's" and "children\u2019s" are one word
_YES = frozenset({"yes", "y", "true", "t", "1"})
_NO = frozenset({"no", "n", "false", "f", "0"})


def clean(value: object) -> object | None:
    """A cell value with non-breaking spaces folded and `#N/A`, `N/A` and blanks turned into None."""
    if isinstance(value, str):
        text = _SPACES.sub(" ", value).strip()
        return None if text.lower() in _MISSING else text
    return value


def clean_text(value: object) -> str | None:
    """A cell as tidy text (numbers without a spurious `.0`), or None when missing."""
    value = clean(value)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def without_letter(text: str) -> str:
    """`"q) 6: Police"` -> `"6: Police"`; the list letter is ordering only and differs between code lists."""
    return _LETTER_PREFIX.sub("", text, count=1).strip()


def parse_date(value: object) -> dt.date | None:
    """Datetime cells, DD/MM/YYYY or ISO strings, and Excel serial numbers (also as text); None if missing."""
    value = clean(value)
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        raise ValueError("a yes/no value is not a date")
    if isinstance(value, int | float):
        return _from_serial(float(value))
    return _date_from_text(str(value))


def _date_from_text(text: str) -> dt.date:
    if match := _DMY.match(text):
        day, month, year = (int(g) for g in match.groups())
        return dt.date(year, month, day)
    if match := _ISO.match(text):
        year, month, day = (int(g) for g in match.groups())
        return dt.date(year, month, day)
    if _NUMBER.match(text):
        return _from_serial(float(text))
    for fmt in _WORDY_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError("not a readable date")


def _from_serial(serial: float) -> dt.date:
    low, high = _SERIAL_RANGE
    if not low <= serial <= high:
        raise ValueError("number out of range for an Excel date")
    return _EXCEL_EPOCH + dt.timedelta(days=int(serial))


def parse_yes_no(value: object) -> bool | None:
    """`a) Yes`, `Yes`, `Y`, `1`, `True`, `true` (and the No forms); None if missing; ValueError otherwise."""
    value = clean(value)
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    word = without_letter(str(value)).lower().rstrip(".")
    if word in _YES:
        return True
    if word in _NO:
        return False
    raise ValueError("not a yes/no answer")


def parse_count(value: object) -> int | None:
    """A whole-number count (`2`, `2.0`, `"2"`); None if missing; ValueError otherwise."""
    text = clean_text(value)
    if text is None:
        return None
    if not text.isdigit():
        raise ValueError("not a whole number")
    return int(text)


# --- ReferralSource: the Codes_used sheet of Ofsted's 2019 template is the truth for these labels ---

_SOURCE_CODE = re.compile(r"^(\d{1,2}[a-f]?)\s*(?:[:\-\u2013.)]|$)", re.IGNORECASE)
_CODES = {code.value for code in ReferralSource}

# Codes_used 'Grouped' column. A label naming only a group maps to the group's FIRST code in Codes_used
# order (e.g. "g) Police" -> 6, "Health" -> 3A). Only the group is then meaningful; source_group() recovers it.
_GROUP_LABELS: dict[str, ReferralSource] = {
    "individual": ReferralSource.INDIVIDUAL_FAMILY,
    "schools": ReferralSource.SCHOOLS,
    "school": ReferralSource.SCHOOLS,
    "education services": ReferralSource.EDUCATION_SERVICES,
    "education": ReferralSource.EDUCATION_SERVICES,
    "health services": ReferralSource.HEALTH_GP,
    "health": ReferralSource.HEALTH_GP,
    "housing": ReferralSource.HOUSING,
    "la services": ReferralSource.LA_SOCIAL_CARE,
    "local authority services": ReferralSource.LA_SOCIAL_CARE,
    "police": ReferralSource.POLICE,
    "other legal agency": ReferralSource.OTHER_LEGAL_AGENCY,
    "other": ReferralSource.OTHER,
    "anonymous": ReferralSource.ANONYMOUS,
    "unknown": ReferralSource.UNKNOWN,
}
# Codes_used 'Detail' column wording, when a council exports the detail instead of the code.
_DETAIL_LABELS: dict[str, ReferralSource] = {
    "family member": ReferralSource.INDIVIDUAL_FAMILY,
    "acquaintance": ReferralSource.INDIVIDUAL_ACQUAINTANCE,
    "self": ReferralSource.INDIVIDUAL_SELF,
    "self referral": ReferralSource.INDIVIDUAL_SELF,
    "gp": ReferralSource.HEALTH_GP,
    "general practitioner": ReferralSource.HEALTH_GP,
    "health visitor": ReferralSource.HEALTH_VISITOR,
    "school nurse": ReferralSource.HEALTH_SCHOOL_NURSE,
    "a e": ReferralSource.HEALTH_A_AND_E,
    "accident and emergency": ReferralSource.HEALTH_A_AND_E,
    "youth offending": ReferralSource.LA_OTHER_INTERNAL,
    "courts": ReferralSource.OTHER_LEGAL_AGENCY,
    "probation": ReferralSource.OTHER_LEGAL_AGENCY,
    "cafcass": ReferralSource.OTHER_LEGAL_AGENCY,
}


def parse_source(value: object) -> tuple[ReferralSource, bool] | None:
    """(code, exact): exact is False when the label named only a group. None if missing; ValueError otherwise."""
    text = clean_text(value)
    if text is None:
        return None
    text = without_letter(text)
    if (match := _SOURCE_CODE.match(text)) and match.group(1).upper() in _CODES:
        return ReferralSource(match.group(1).upper()), True
    label = words(text)
    if label in _DETAIL_LABELS:
        return _DETAIL_LABELS[label], True
    if label in _GROUP_LABELS:
        return _GROUP_LABELS[label], False
    raise ValueError("not a recognised source code or label")


def words(text: str) -> str:
    """Lower-case words only: punctuation, apostrophes and repeated spaces removed."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", _APOSTROPHES.sub("", text.lower())).split())


def parse_primary_need(value: object) -> PrimaryNeed | None:
    """`N1 - Abuse or neglect` -> N1; None if missing; ValueError for other labels."""
    return _leading_code(value, r"N\d", PrimaryNeed)


def parse_closure_reason(value: object) -> ClosureReason | None:
    """`RC8 - Case closed after assessment, no further action` -> RC8; None if missing; ValueError otherwise."""
    return _leading_code(value, r"RC\d", ClosureReason)


def _leading_code(value: object, pattern: str, enum: type[_Code]) -> _Code | None:
    text = clean_text(value)
    if text is None:
        return None
    match = re.match(rf"^({pattern})\b", without_letter(text), re.IGNORECASE)
    if match is None:
        raise ValueError("not a recognised code")
    return enum(match.group(1).upper())


_OUTCOME_WORDS: tuple[tuple[str, ContactOutcome], ...] = (
    ("strategy", ContactOutcome.STRATEGY_S47),
    ("s47", ContactOutcome.STRATEGY_S47),
    ("section 47", ContactOutcome.STRATEGY_S47),
    ("early help", ContactOutcome.EARLY_HELP),
    ("advice", ContactOutcome.ADVICE_SIGNPOST),
    ("signpost", ContactOutcome.ADVICE_SIGNPOST),
    ("nfa", ContactOutcome.NFA),
    ("no further action", ContactOutcome.NFA),
    ("referral", ContactOutcome.REFERRAL),
    ("refer", ContactOutcome.REFERRAL),
)


def parse_contact_outcome(value: object) -> ContactOutcome | None:
    """A MASH decision label (`NFA`, `Progress to referral`, `Early help`...); None if missing."""
    text = clean_text(value)
    if text is None:
        return None
    label = words(without_letter(text))
    if label.replace(" ", "_") in {o.value for o in ContactOutcome}:
        return ContactOutcome(label.replace(" ", "_"))
    for keyword, outcome in _OUTCOME_WORDS:
        if re.search(rf"\b{keyword}\b", label):
            return outcome
    raise ValueError("not a recognised contact outcome")


# pydantic messages that quote the input; everything else names only the rule that failed.
_SAFE_MESSAGES = {"union_tag_invalid": "not a known event type", "union_tag_not_found": "no event type"}


def validation_summary(exc: ValidationError, limit: int = 3) -> str:
    """Field and message of the first few errors, never the offending input (it may identify a child)."""
    parts = [
        f"{'.'.join(str(p) for p in err['loc']) or 'type'}: {_SAFE_MESSAGES.get(err['type'], err['msg'])}"
        for err in exc.errors()[:limit]
    ]
    more = exc.error_count() - limit
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")
