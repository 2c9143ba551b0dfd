"""Finding Annex A lists and columns: sheet-name variants, header-wording variants and title rows above headers."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from services.ingest.annex_a_values import words

HEADER_SEARCH_ROWS = 10  # Ofsted's template puts a title ("List 1: Contacts") above the header; councils add more
_FUZZY_RATIO = 0.9  # close enough for a typo or a dropped word, too far for "Start Date" vs "End Date" (0.87)

# Per field, the headings seen in Ofsted's templates (2019 and later) and in councils' returns. The first is
# the name used in rejection reasons. Matching ignores case, punctuation, NBSP and bracketed asides.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "child_id": ("Child Unique ID", "Child ID", "Unique Child ID", "Child Unique Identifier", "Child Identifier"),
    "contact_date": ("Date of Contact", "Contact Date", "Date Contact Received"),
    "contact_source": ("Contact Source", "Source of Contact", "Contact Source Code"),
    "contact_outcome": ("Contact Outcome", "Outcome of Contact", "Contact Decision", "Contact Outcome Decision"),
    "contact_decision_date": ("Date of Contact Decision", "Contact Decision Date", "Contact Outcome Date"),
    "referral_date": ("Date of Referral", "Referral Date"),
    "referral_source": ("Referral Source", "Source of Referral", "Referral Source Code"),
    "referral_nfa": ("Referral NFA?", "Referral NFA", "Referral No Further Action", "NFA"),
    "referrals_12m": (
        "Number of Referrals in Last 12 Months",
        "Number of Referrals in the Last 12 Months",
        "No. of Referrals in Last 12 Months",
        "Referrals in Last 12 Months",
    ),
    "team": ("Allocated Team", "Team"),
    "worker": ("Allocated Worker", "Worker"),
    "assessment_start": ("Continuous Assessment Start Date", "Assessment Start Date", "Date Assessment Started"),
    "assessment_authorised": (
        "Continuous Assessment Date of Authorisation",
        "Assessment Date of Authorisation",
        "Assessment Authorisation Date",
        "Date of Authorisation",
        "Date Assessment Authorised",
    ),
    "child_in_need": (
        "Was the child assessed as being in need?",
        "Was the child assessed as being in need at assessment?",
        "Was the child assessed as requiring LA children's social care support?",
        "Child assessed as in need",
    ),
    "s47_start": (
        "Strategy discussion initiating Section 47 Enquiry Start Date",
        "Section 47 Enquiry Start Date",
        "S47 Start Date",
        "Date of Strategy Discussion",
    ),
    "icpc_date": ("Date of Initial Child Protection Conference", "ICPC Date", "Date of ICPC"),
    "icpc_plan": (
        "Did the Initial Child Protection Conference Result in a Child Protection Plan",
        "Did the ICPC Result in a Child Protection Plan",
        "ICPC Resulted in CP Plan",
    ),
    "cin_start": ("CIN Start Date", "Child in Need Start Date", "CIN Episode Start Date"),
    "primary_need": ("Primary Need Code", "Primary Need"),
    "cin_closure_date": ("CIN Closure Date", "CIN Episode Closure Date", "Closure Date", "Date of Closure"),
    "closure_reason": ("Reason for Closure", "Closure Reason", "CIN Closure Reason"),
    "cpp_start": ("Child Protection Plan Start Date", "CP Plan Start Date", "CPP Start Date"),
    "cpp_end": ("Child Protection Plan End Date", "CP Plan End Date", "CPP End Date"),
    "previous_plans": (
        "Number of Previous Child Protection Plans",
        "Number of Previous CP Plans",
        "Previous Child Protection Plans",
    ),
}


@dataclass(frozen=True, slots=True)
class ListSpec:
    """The columns one list is read from; `main_date` must be in the header for it to count as the header."""

    number: int
    main_date: str
    date_fields: tuple[str, ...]
    other_fields: tuple[str, ...]

    @property
    def fields(self) -> tuple[str, ...]:
        return ("child_id", *self.date_fields, *self.other_fields)


LISTS: dict[int, ListSpec] = {
    1: ListSpec(1, "contact_date", ("contact_date", "contact_decision_date"), ("contact_source", "contact_outcome")),
    3: ListSpec(3, "referral_date", ("referral_date",), ("referral_source", "referral_nfa", "referrals_12m", "team")),
    4: ListSpec(4, "assessment_start", ("assessment_start", "assessment_authorised"), ("child_in_need",)),
    5: ListSpec(5, "s47_start", ("s47_start", "icpc_date"), ("icpc_plan",)),
    6: ListSpec(
        6, "cin_start", ("cin_start", "cin_closure_date"), ("primary_need", "closure_reason", "team", "worker")
    ),
    7: ListSpec(7, "cpp_start", ("cpp_start", "cpp_end"), ("previous_plans",)),
}


def heading(field: str) -> str:
    """The heading Ofsted uses for a field, for messages a performance officer can act on."""
    return FIELD_ALIASES[field][0]


def normalise_header(text: object) -> str:
    """Case, punctuation, NBSP, curly quotes and bracketed asides like `(Y/N)` do not change a column's name."""
    raw = words(str(text))
    unbracketed = words(re.sub(r"\([^)]*\)", " ", str(text)))
    return unbracketed or raw


_NORMALISED: dict[str, frozenset[str]] = {
    field: frozenset(normalise_header(alias) for alias in aliases) for field, aliases in FIELD_ALIASES.items()
}


def list_number(sheet_name: str) -> int | None:
    """`List 1`, `List_1`, `list1`, `List 1 - Contacts`, `LIST-1` -> 1; anything else -> None."""
    match = re.match(r"^\s*list[\s_\-.]*(\d{1,2})(?!\d)", sheet_name, re.IGNORECASE)
    return int(match.group(1)) if match else None


def match_columns(header: Sequence[object], fields: Iterable[str]) -> dict[str, int]:
    """Field -> column index for one candidate header row: exact (normalised) aliases first, then near misses."""
    wanted = list(fields)
    names = {i: normalise_header(cell) for i, cell in enumerate(header) if cell is not None and str(cell).strip()}
    found: dict[str, int] = {}
    for index, name in names.items():
        field = next((f for f in wanted if f not in found and name in _NORMALISED[f]), None)
        if field is not None:
            found[field] = index
    taken = set(found.values())
    for index, name in names.items():
        if index in taken:
            continue
        field = _nearest(name, [f for f in wanted if f not in found])
        if field is not None:
            found[field] = index
    return found


def _nearest(name: str, fields: Sequence[str]) -> str | None:
    scored = [
        (max(difflib.SequenceMatcher(None, name, alias).ratio() for alias in _NORMALISED[field]), field)
        for field in fields
    ]
    best = max(scored, default=(0.0, ""))
    return best[1] if best[0] >= _FUZZY_RATIO else None


def find_header(
    rows: Sequence[Sequence[object]], required: Iterable[str], fields: Iterable[str]
) -> tuple[int, Mapping[str, int]] | None:
    """(row index, columns) of the first row among the first few that names every required field."""
    needed = set(required)
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        columns = match_columns(row, fields)
        if needed <= columns.keys():
            return index, columns
    return None
