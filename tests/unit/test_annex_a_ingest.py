"""Ofsted Annex A ingest: every reference workbook, every tolerated quirk, and every rejection explained."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TypeVar

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.codes import ClosureReason, ContactOutcome, PrimaryNeed, ReferralSource, SourceGroup, source_group
from schemas.events import (
    AssessmentAuthorised,
    ContactDecided,
    ContactReceived,
    CPPEnded,
    CPPStarted,
    EpisodeClosed,
    ICPCHeld,
    ReferralMarkedNFA,
    ReferralOpened,
)
from services.ingest.annex_a import months_before, read_annex_a
from services.ingest.annex_a_columns import list_number
from services.ingest.annex_a_values import parse_date, parse_source, parse_yes_no
from services.ingest.identity import LONDON, Pseudonymiser
from services.ingest.result import IngestResult
from tests.reference import reference_file

KEY = Pseudonymiser(b"test-key-not-a-secret")
RAW = Pseudonymiser(None)
E = TypeVar("E")
RECORDED = dt.datetime(2024, 6, 1, 9, 0, tzinfo=LONDON)
LOCATION = re.compile(r"^List[ _]\d row \d+$")

# Headings exactly as in Ofsted's 2019 template (fddc_ofsted_template_2019_with_guidance_...xlsx).
ID = "Child Unique ID"
LIST_1: list[object] = [ID, "Gender", "Date of Contact", "Contact Source"]
LIST_3: list[object] = [
    ID,
    "Date of referral",
    "Referral Source",
    "Referral NFA?",
    "Number of Referrals in Last 12 Months",
]
LIST_4: list[object] = [
    ID,
    "Continuous Assessment Start Date",
    "Continuous Assessment Date of Authorisation",
    "Was the child assessed as requiring LA children\u2019s social care support",
]
LIST_5: list[object] = [
    ID,
    "Strategy discussion initiating Section 47 Enquiry Start Date",
    "Date of Initial Child Protection Conference",
    "Did the Initial Child Protection Conference Result in a Child Protection Plan",
]
LIST_6: list[object] = [
    ID,
    "CIN Start Date",
    "Primary Need Code",
    "CIN Closure Date",
    "Reason for Closure",
    "Allocated Team",
]
LIST_7: list[object] = [
    ID,
    "Child Protection Plan Start Date",
    "Child Protection Plan End Date",
    "Number of Previous Child Protection Plans",
]


# --- builders ------------------------------------------------------------------------------------------


def make_workbook(tmp_path: Path, sheets: Mapping[str, Sequence[Sequence[object]]], name: str = "annex_a.xlsx") -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(list(row))
    path = tmp_path / name
    book.save(path)
    return path


def referral_row(
    child: object = "C1",
    date: object = dt.datetime(2024, 3, 5),
    source: object = "q) 6: Police",
    nfa: object = "b) No",
    count: object = 0,
) -> list[object]:
    return [child, date, source, nfa, count]


def read(path: Path, pseudonymiser: Pseudonymiser = RAW) -> IngestResult:
    return read_annex_a(path, "886", pseudonymiser, recorded_at=RECORDED)


def read_sheets(tmp_path: Path, sheets: Mapping[str, Sequence[Sequence[object]]]) -> IngestResult:
    return read(make_workbook(tmp_path, sheets))


def reference(name: str) -> Path:
    return reference_file("annex-a", name)


def of_type(result: IngestResult, kind: type[E]) -> list[E]:
    return [e for e in result.events if isinstance(e, kind)]


# --- the six reference workbooks ------------------------------------------------------------------------

LIIA_COUNTS = {
    "ContactReceived": 5,
    "ReferralOpened": 6,
    "AssessmentStarted": 5,
    "S47Started": 5,
    "ICPCHeld": 3,
    "CPPStarted": 7,
    "CPPEnded": 5,
}
LIIA_REJECTED = [f"List 4 row {n}" for n in range(2, 7)]  # in-need column holds "CS Assessment Updated"
EXPECTED = {
    # name: (rows read, events by type, rejected locations)
    "liia_Annex_A_2024_Jan.xlsx": (33, LIIA_COUNTS, LIIA_REJECTED),
    "liia_Annex_A.xlsx": (33, LIIA_COUNTS, LIIA_REJECTED),
    "fddc_ofsted_template_2019_with_guidance_2015-01-sample.xlsx": (
        5,
        {"ReferralOpened": 5, "ReferralMarkedNFA": 2},
        [],
    ),
    "fddc_example-A-2005.xls": (1, {"ContactReceived": 1}, []),
    "fddc_example-B-2004.xlsx": (1, {"ContactReceived": 1}, []),
    "cej_annexa_example.xlsx": (
        38,
        {
            "ContactReceived": 13,
            "ReferralOpened": 11,
            "AssessmentStarted": 5,
            "AssessmentAuthorised": 3,
            "S47Started": 3,
            "CPPStarted": 3,
            "CPPEnded": 1,
        },
        ["List_5 row 4"],
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_reference_workbook_ingests_and_every_rejected_row_names_sheet_row_and_reason(name: str) -> None:
    result = read(reference(name), KEY)
    rows, counts, rejected_at = EXPECTED[name]
    assert result.read == rows
    assert result.counts_by_type() == Counter(counts)
    assert [r.location for r in result.rejected] == rejected_at
    for rejected in result.rejected:
        assert rejected.source == name
        assert LOCATION.match(rejected.location)
        assert rejected.reason


def test_reference_rejections_say_which_column_and_what_was_kept() -> None:
    cej = read(reference("cej_annexa_example.xlsx"))
    reasons = {r.location: r.reason for r in cej.rejected}
    assert reasons["List_5 row 4"] == "no 'Strategy discussion initiating Section 47 Enquiry Start Date'"
    # An authorisation with no answer to the in-need question is kept, with the answer unknown.
    assert [e.child_in_need for e in of_type(cej, AssessmentAuthorised)] == [None, None, None]
    liia = read(reference("liia_Annex_A_2024_Jan.xlsx"))
    assert {r.reason for r in liia.rejected} == {
        "'Was the child assessed as requiring LA children's social care support?' is not yes or no: "
        "AssessmentAuthorised not made (AssessmentStarted kept)"
    }


def test_reference_list_3_cross_checks_are_reported() -> None:
    liia = read(reference("liia_Annex_A_2024_Jan.xlsx"))
    template = read(reference("fddc_ofsted_template_2019_with_guidance_2015-01-sample.xlsx"))
    # liia: six children with one referral each, stated counts 0,2,1,0,2,0 -> the three 0s agree.
    assert "List 3 cross-check: 3 children agree, 3 disagree" in liia.notes
    # The template states 1 for single referrals (one row has no count), against Ofsted's "lowest value is 0".
    assert "List 3 cross-check: 0 children agree, 4 disagree" in template.notes


def test_cej_journey_contacts_without_a_source_are_recorded_as_unknown_and_noted() -> None:
    result = read(reference("cej_annexa_example.xlsx"))
    assert {e.source for e in of_type(result, ContactReceived)} == {ReferralSource.UNKNOWN}
    assert "List 1: 13 rows had no source; recorded as 10 (Unknown)" in result.notes
    plan = next(e for e in of_type(result, CPPEnded))
    assert (plan.child_key, plan.end_date) == ("4444", dt.date(2020, 1, 1))


# --- reading the formats --------------------------------------------------------------------------------


def test_legacy_xls_workbook_is_read() -> None:
    result = read(reference("fddc_example-A-2005.xls"))
    [contact] = of_type(result, ContactReceived)
    assert contact.child_key == "1001"  # xlrd gives 1001.0; ids are not floats
    assert contact.received_at == dt.datetime(2010, 1, 1, tzinfo=LONDON)
    assert contact.source is ReferralSource.POLICE  # "POLICE"


def test_the_same_row_in_xls_and_xlsx_gives_the_same_event() -> None:
    xls = read(reference("fddc_example-A-2005.xls"), KEY)
    xlsx = read(reference("fddc_example-B-2004.xlsx"), KEY)
    assert [e.model_dump() for e in xls.events] == [e.model_dump() for e in xlsx.events]


def test_excel_serial_dates_and_dd_mm_yyyy_strings_read_as_the_same_date(tmp_path: Path) -> None:
    spellings: list[object] = [
        dt.datetime(2024, 3, 5),
        dt.date(2024, 3, 5),
        45356,
        45356.0,
        "45356",
        "05/03/2024",
        "5/3/2024",
        "05/03/2024 00:00:00",
        "2024-03-05",
        "\u00a005/03/2024\u00a0",
    ]
    rows: list[list[object]] = [referral_row(child=f"C{i}", date=d) for i, d in enumerate(spellings)]
    result = read_sheets(tmp_path, {"List 3": [LIST_3, *rows]})
    assert result.rejected == []
    assert {e.referral_date for e in of_type(result, ReferralOpened)} == {dt.date(2024, 3, 5)}
    assert len(of_type(result, ReferralOpened)) == len(spellings)


@pytest.mark.parametrize("text", ["May be 8 Jan 2000", "31/02/2024", "13/13/2024", "yesterday", "99999999"])
def test_an_unreadable_date_rejects_the_row_and_names_the_column(tmp_path: Path, text: str) -> None:
    result = read_sheets(tmp_path, {"List 3": [LIST_3, referral_row(date=text)]})
    assert result.events == []
    [rejected] = result.rejected
    assert (rejected.location, rejected.reason) == ("List 3 row 2", "'Date of referral' is not a readable date")


@pytest.mark.parametrize("title", ["List 1", "List_1", "List 1 - Contacts", "list1", "LIST-1", " List 1 "])
def test_sheet_name_variants_are_recognised(tmp_path: Path, title: str) -> None:
    rows: list[list[object]] = [LIST_1, ["C1", "a) Male", dt.datetime(2024, 3, 5), "q) 6: Police"]]
    result = read_sheets(tmp_path, {"Front_Sheet": [["Annex A"]], title: rows})
    assert result.counts_by_type() == Counter({"ContactReceived": 1})


def test_list_10_and_11_are_not_mistaken_for_list_1() -> None:
    assert [list_number(n) for n in ("List 10", "List_11", "List 1", "Lists", "Codes_used")] == [10, 11, 1, None, None]


@pytest.mark.parametrize(
    "heading",
    [
        "Date of Contact",
        "DATE OF CONTACT",
        "date of contact:",
        "Date\u00a0of\u00a0Contact",
        "Contact Date",
        "Date of Contatc",
    ],
)
def test_header_wording_variants_are_matched(tmp_path: Path, heading: str) -> None:
    rows: list[list[object]] = [[" Child unique ID ", heading, "Contact source (code)"], ["C1", "05/03/2024", "6"]]
    result = read_sheets(tmp_path, {"List_1": rows})
    assert result.counts_by_type() == Counter({"ContactReceived": 1})


def test_title_rows_above_the_header_are_skipped(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        ["List 3: Referral"],
        [],
        ["Generated 01/06/2024 by the case management system"],
        LIST_3,
        referral_row(child="C1"),
        referral_row(child="C2", date=None),
    ]
    result = read_sheets(tmp_path, {"List_3": rows})
    assert result.read == 2
    assert len(of_type(result, ReferralOpened)) == 1
    assert [(r.location, r.reason) for r in result.rejected] == [("List_3 row 6", "no 'Date of referral'")]


def test_a_sheet_without_a_recognisable_header_is_rejected_as_a_whole(tmp_path: Path) -> None:
    result = read_sheets(tmp_path, {"List 3": [["Something else entirely"], ["C1", "05/03/2024"]]})
    [rejected] = result.rejected
    assert rejected.location == "List 3"
    assert "'Child Unique ID' and 'Date of Referral'" in rejected.reason
    assert result.read == 0


# --- values ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "label", ["g) Police", "q) 6: Police", "POLICE", "6", 6, 6.0, "Police", " Police\u00a0", "6: Police"]
)
def test_code_labels_like_g_police_map_to_the_police_source(tmp_path: Path, label: object) -> None:
    result = read_sheets(tmp_path, {"List 3": [LIST_3, referral_row(source=label)]})
    [referral] = of_type(result, ReferralOpened)
    assert referral.source is ReferralSource.POLICE


@pytest.mark.parametrize(
    ("label", "code", "exact"),
    [
        ("g) 3A: Health services", "3A", True),  # the letter is list order, not the 'g) Police' group
        ("j) 3D: Health services", "3D", True),
        ("u) 10: Unknown", "10", True),
        ("5D", "5D", True),
        ("d) Health services", "3A", False),  # a group label -> the group's first code in Codes_used
        ("School", "2A", False),
        ("a) Individual", "1A", False),
        ("Health visitor", "3B", True),  # Codes_used 'Detail' wording
    ],
)
def test_source_labels_follow_ofsteds_codes_used_sheet(label: str, code: str, exact: bool) -> None:
    assert parse_source(label) == (ReferralSource(code), exact)


@pytest.mark.parametrize(
    ("label", "group"),
    [
        ("g) Police", SourceGroup.POLICE),
        ("Health", SourceGroup.HEALTH_SERVICES),
        ("f) LA services", SourceGroup.LA_SERVICES),
    ],
)
def test_a_group_label_keeps_its_group(label: str, group: SourceGroup) -> None:
    parsed = parse_source(label)
    assert parsed is not None
    assert source_group(parsed[0]) is group


def test_an_unrecognised_source_rejects_the_row(tmp_path: Path) -> None:
    result = read_sheets(tmp_path, {"List 3": [LIST_3, referral_row(source="Martian")]})
    assert [r.reason for r in result.rejected] == ["'Referral Source' is not a recognised source code or label"]


@pytest.mark.parametrize("yes", ["a) Yes", "Yes", "Y", "y", 1, "1", True, "true", "TRUE"])
def test_yes_in_any_spelling_marks_the_referral_nfa(tmp_path: Path, yes: object) -> None:
    result = read_sheets(tmp_path, {"List 3": [LIST_3, referral_row(nfa=yes)]})
    [opened] = of_type(result, ReferralOpened)
    [nfa] = of_type(result, ReferralMarkedNFA)
    assert nfa.referral_id == opened.referral_id
    assert nfa.occurred_at == opened.occurred_at


@pytest.mark.parametrize("no", ["b) No", "No", "N", 0, "0", False, "false", None, "#N/A"])
def test_no_or_missing_nfa_adds_nothing(no: object) -> None:
    assert parse_yes_no(no) in (False, None)


def test_hash_na_and_non_breaking_spaces_are_treated_as_missing(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        [
            "Child\u00a0Unique\u00a0ID",
            "CIN\u00a0Start Date",
            "Primary Need Code",
            "CIN Closure Date",
            "Reason for Closure",
        ],
        ["\u00a0C1\u00a0", dt.datetime(2024, 1, 2), "#N/A", "#N/A", "N/A"],  # open episode: nothing to say
        ["#N/A", "#N/A", "#N/A", "", "\u00a0"],  # blank in all but name: skipped, not counted
    ]
    result = read_sheets(tmp_path, {"List 6": rows, "List 3": [LIST_3, referral_row(child="C1\u00a0", nfa="#N/A")]})
    assert result.rejected == []
    assert result.read == 2
    [referral] = result.events
    assert isinstance(referral, ReferralOpened)
    assert referral.child_key == "C1"
    assert parse_date("#N/A") is None
    assert parse_date("\u00a0") is None


def test_blank_rows_are_skipped_silently_and_not_counted(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        LIST_3,
        referral_row(),
        [None] * 5,
        ["", "", "", "", ""],
        [None, None, "q) 6: Police", "No", 0],
    ]
    result = read_sheets(tmp_path, {"List 3": rows})
    assert (result.read, len(result.events), result.rejected) == (1, 1, [])


def test_a_row_with_dates_but_no_child_id_is_rejected(tmp_path: Path) -> None:
    result = read_sheets(tmp_path, {"List 3": [LIST_3, referral_row(child=None)]})
    assert [(r.location, r.reason) for r in result.rejected] == [("List 3 row 2", "no 'Child Unique ID'")]


def test_rejection_reasons_never_name_a_child(tmp_path: Path) -> None:
    child = "ZX98765"
    rows: list[list[object]] = [
        referral_row(child=child, date="not a date"),
        referral_row(child=child, source="Martian"),
        referral_row(child=child, date=None),
    ]
    result = read_sheets(
        tmp_path, {"List 3": [LIST_3, *rows], "List 6": [LIST_6, [child, None, None, "01/02/2024", None]]}
    )
    assert len(result.rejected) == 4
    assert not any(child in r.reason or child in r.location for r in result.rejected)


# --- lists -> events ------------------------------------------------------------------------------------


def test_a_contact_outcome_column_adds_contact_decided_when_present(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        [ID, "Date of Contact", "Contact Source", "Contact Outcome"],
        ["C1", "05/03/2024", "q) 6: Police", "Progress to referral"],
        ["C2", "05/03/2024", "e) 2A: Schools", None],
    ]
    result = read_sheets(tmp_path, {"List 1": rows})
    [decided] = of_type(result, ContactDecided)
    received = {e.child_key: e for e in of_type(result, ContactReceived)}
    assert decided.contact_id == received["C1"].contact_id
    assert decided.outcome is ContactOutcome.REFERRAL
    assert len(received) == 2


def test_contacts_without_an_outcome_column_make_no_decisions(tmp_path: Path) -> None:
    result = read_sheets(tmp_path, {"List 1": [LIST_1, ["C1", "a) Male", "05/03/2024", "6"]]})
    assert result.counts_by_type() == Counter({"ContactReceived": 1})


def test_contact_id_comes_from_child_date_and_source(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        LIST_1,
        ["C1", None, "05/03/2024", "6"],
        ["C1", None, "05/03/2024", "2A"],
        ["C1", None, "06/03/2024", "6"],
    ]
    result = read_sheets(tmp_path, {"List 1": rows})
    assert len({e.contact_id for e in of_type(result, ContactReceived)}) == 3


def test_assessment_authorisation_carries_the_in_need_answer(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        LIST_4,
        ["C1", "01/03/2024", "20/03/2024", "a) Yes"],
        ["C2", "01/03/2024", "20/03/2024", "b) No"],
        ["C3", "01/03/2024", None, None],  # ongoing
    ]
    result = read_sheets(tmp_path, {"List 4": rows})
    answers = {e.child_key: e.child_in_need for e in of_type(result, AssessmentAuthorised)}
    assert answers == {"C1": True, "C2": False}
    assert result.counts_by_type()["AssessmentStarted"] == 3
    assert result.rejected == []


def test_an_s47_with_an_icpc_date_adds_icpc_held(tmp_path: Path) -> None:
    rows: list[list[object]] = [LIST_5, ["C1", "01/03/2024", "20/03/2024", "a) Yes"], ["C2", "01/03/2024", None, None]]
    result = read_sheets(tmp_path, {"List 5": rows})
    [icpc] = of_type(result, ICPCHeld)
    assert (icpc.child_key, icpc.icpc_date, icpc.plan_started) == ("C1", dt.date(2024, 3, 20), True)
    assert result.counts_by_type()["S47Started"] == 2


def test_a_closed_cin_episode_names_the_referral_list_3_opened_and_lends_it_its_primary_need(tmp_path: Path) -> None:
    cin: list[list[object]] = [
        LIST_6,
        [
            "C1",
            "05/03/2024",
            "N1 - Abuse or neglect",
            "30/04/2024",
            "RC8 - Case closed after assessment, no further action",
            "Duty",
        ],
    ]
    result = read_sheets(tmp_path, {"List 3": [LIST_3, referral_row(child="C1")], "List 6": cin})
    [referral] = of_type(result, ReferralOpened)
    [closed] = of_type(result, EpisodeClosed)
    assert closed.referral_id == referral.referral_id
    assert (closed.reason, closed.closure_date, closed.closing_team) == (
        ClosureReason.CLOSED_AFTER_ASSESSMENT_NFA,
        dt.date(2024, 4, 30),
        "Duty",
    )
    assert referral.primary_need is PrimaryNeed.N1


@pytest.mark.parametrize(
    ("closure", "reason", "problem"),
    [
        ("30/04/2024", None, "'CIN Closure Date' without 'Reason for Closure'"),
        (None, "RC7", "'Reason for Closure' without 'CIN Closure Date'"),
        ("30/04/2024", "Closed", "'Reason for Closure' is not an RC1-RC9 code"),
    ],
)
def test_a_half_recorded_closure_is_rejected(tmp_path: Path, closure: object, reason: object, problem: str) -> None:
    result = read_sheets(tmp_path, {"List 6": [LIST_6, ["C1", "05/03/2024", "N1", closure, reason, None]]})
    assert [(r.location, r.reason) for r in result.rejected] == [("List 6 row 2", problem)]
    assert result.events == []


def test_cp_plans_carry_previous_plans_and_end_when_an_end_date_is_given(tmp_path: Path) -> None:
    rows: list[list[object]] = [LIST_7, ["C1", "01/01/2024", "01/05/2024", 2], ["C2", "01/02/2024", None, "#N/A"]]
    result = read_sheets(tmp_path, {"List 7": rows})
    started = {e.child_key: e for e in of_type(result, CPPStarted)}
    [ended] = of_type(result, CPPEnded)
    assert (started["C1"].previous_plans, started["C2"].previous_plans) == (2, None)
    assert ended.plan_id == started["C1"].plan_id
    assert ended.occurred_at == dt.datetime(2024, 5, 1, tzinfo=LONDON)


def test_duplicate_rows_are_kept_once_and_noted(tmp_path: Path) -> None:
    result = read_sheets(tmp_path, {"List 3": [LIST_3, referral_row(), referral_row()]})
    assert (result.read, len(result.events)) == (2, 1)
    assert "List 3: 1 events repeated an earlier row's and were kept once" in result.notes


def test_child_keys_are_pseudonymised_before_any_id_is_made(tmp_path: Path) -> None:
    result = read(make_workbook(tmp_path, {"List 3": [LIST_3, referral_row(child="C1")]}), KEY)
    [referral] = result.events
    assert referral.child_key == KEY.pseudonymise_child("886", "C1").pseudonym != "C1"


def test_la_code_must_be_a_three_digit_dfe_code(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="three-digit"):
        read_annex_a(make_workbook(tmp_path, {"List 3": [LIST_3]}), "Kent", RAW)


# --- identity -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_reingesting_the_same_workbook_gives_the_same_event_ids(name: str) -> None:
    first = read_annex_a(reference(name), "886", KEY, recorded_at=RECORDED)
    again = read_annex_a(reference(name), "886", KEY, recorded_at=RECORDED + dt.timedelta(days=30))
    assert [e.event_id for e in first.events] == [e.event_id for e in again.events]
    assert len({e.event_id for e in first.events}) == len(first.events)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations(range(4)), padding=st.integers(min_value=0, max_value=3))
def test_event_ids_do_not_depend_on_row_position(tmp_path: Path, order: list[int], padding: int) -> None:
    rows: list[list[object]] = [
        referral_row(child="C1", date="05/03/2024", nfa="Yes"),
        referral_row(child="C1", date="05/09/2024"),
        referral_row(child="C2", date="05/03/2024"),
        referral_row(child="C3", date="01/01/2024", source="5A"),
    ]
    baseline = read_sheets(tmp_path, {"List 3": [LIST_3, *rows]})
    shuffled = [["title"]] * padding + [LIST_3] + [rows[i] for i in order]
    moved = read(make_workbook(tmp_path, {"List 3": shuffled}, name="moved.xlsx"))
    assert {e.event_id for e in moved.events} == {e.event_id for e in baseline.events}


# --- List 3 cross-check ---------------------------------------------------------------------------------


def test_list_3_cross_check_counts_referrals_in_the_twelve_months_before_the_latest(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        # C1: latest 29/02/2024 -> window from 28/02/2023; 01/03/2023 and 01/09/2023 are in it -> 2 agrees.
        referral_row(child="C1", date="01/03/2023", count=2),
        referral_row(child="C1", date="01/09/2023", count=2),
        referral_row(child="C1", date="29/02/2024", count=2),
        referral_row(child="C2", date="01/01/2024", count=1),  # nothing before it -> 0, disagrees
        referral_row(child="C3", date="01/01/2024", count=None),  # no count given: left out
        referral_row(child="C4", date="01/01/2023", count=0),  # 01/01/2023 is more than 12 months before
        referral_row(child="C4", date="02/01/2024", count=0),
    ]
    result = read_sheets(tmp_path, {"List 3": [LIST_3, *rows]})
    assert "List 3 cross-check: 2 children agree, 1 disagree" in result.notes


def test_the_twelve_month_window_starts_on_the_same_day_a_year_earlier_clamped_at_month_end() -> None:
    assert months_before(dt.date(2024, 2, 29), 12) == dt.date(2023, 2, 28)
    assert months_before(dt.date(2024, 3, 31), 1) == dt.date(2024, 2, 29)
    assert months_before(dt.date(2024, 1, 15), 12) == dt.date(2023, 1, 15)
    assert months_before(dt.date(2024, 1, 31), 2) == dt.date(2023, 11, 30)
