"""CIN census XML ingest: every layout, every tolerance, and every rejection explained."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.codes import ClosureReason, PrimaryNeed, ReferralSource
from schemas.events import (
    AssessmentAuthorised,
    CPPStarted,
    EpisodeClosed,
    ICPCHeld,
    InboundEvent,
    ReferralOpened,
)
from services.ingest.cin_census import read_cin_census
from services.ingest.identity import LONDON, Pseudonymiser
from services.ingest.result import IngestResult
from tests.reference import reference_file

REFERENCE_FILES = (
    "d2i_fake_CIN_data.xml",
    "d2i_CIN_Census_2021.xml",
    "d2i_CIN_Census_2024.xml",
    "d2i_CIN_Census_2026.xml",
    "liia_BAR_cin_2022.xml",
)
KEY = Pseudonymiser(b"test-key-not-a-secret")
REFERRAL_LOCATION = re.compile(r"^Child #\d+ CINdetails #\d+$")


# --- builders: a census return as XML text, each part overridable by keyword -------------------------


def element(name: str, value: str | None) -> str:
    return "" if value is None else f"<{name}>{value}</{name}>"


def assessment_xml(
    start: str | None = "2023-06-05",
    authorised: str | None = "2023-07-01",
    factors: tuple[str, ...] = ("2A",),
) -> str:
    listed = "".join(element("AssessmentFactors", f) for f in factors)
    return (
        "<Assessments>"
        + element("AssessmentActualStartDate", start)
        + element("AssessmentAuthorisationDate", authorised)
        + f"<FactorsIdentifiedAtAssessment>{listed}</FactorsIdentifiedAtAssessment></Assessments>"
    )


def s47_xml(
    start: str | None = "2023-06-10",
    icpc: str | None = "2023-06-24",
    not_required: str = "0",
) -> str:
    parts = element("S47ActualStartDate", start) + element("DateOfInitialCPC", icpc)
    return f"<Section47>{parts}{element('ICPCnotRequired', not_required)}</Section47>"


def plan_xml(start: str | None = "2023-06-24", end: str | None = None, previous: str | None = "1") -> str:
    parts = element("CPPstartDate", start) + element("CPPendDate", end)
    abuse = element("InitialCategoryOfAbuse", "NEG") + element("LatestCategoryOfAbuse", "NEG")
    count = element("NumberOfPreviousCPP", previous)
    return f"<ChildProtectionPlans>{parts}{abuse}{count}</ChildProtectionPlans>"


def episode_xml(
    referral: str | None = "2023-06-01",
    source: str | None = "3A",
    need: str | None = "N4",
    closure: str | None = None,
    reason: str | None = None,
    nfa: str | None = "false",
    parts: str = "",
) -> str:
    head = element("CINreferralDate", referral) + element("ReferralSource", source)
    head += element("PrimaryNeedCode", need) + element("CINclosureDate", closure)
    head += element("ReasonForClosure", reason)
    return f"<CINdetails>{head}{parts}{element('ReferralNFA', nfa)}</CINdetails>"


def child_xml(*episodes: str, child_id: str | None = "CHILD-001", sex: str = "<Sex>F</Sex>") -> str:
    identifiers = f"{element('LAchildID', child_id)}<PersonBirthDate>2015-01-01</PersonBirthDate>{sex}"
    episodes = episodes or (episode_xml(),)
    return (
        f"<Child><ChildIdentifiers>{identifiers}</ChildIdentifiers>"
        f"<ChildCharacteristics><Ethnicity>WBRI</Ethnicity></ChildCharacteristics>{''.join(episodes)}</Child>"
    )


def census_xml(
    *children: str,
    la: str | None = "886",
    stamp: str | None = "2024-05-20T09:30:00",
    xmlns: str | None = None,
) -> str:
    source = element("LEA", la) + element("DateTime", stamp)
    namespace = f' xmlns="{xmlns}"' if xmlns else ""
    children = children or (child_xml(),)
    return (
        f"<?xml version='1.0' encoding='utf-8'?><Message{namespace}>"
        f"<Header><Source>{source}</Source></Header><Children>{''.join(children)}</Children></Message>"
    )


def write(tmp_path: Path, text: str, name: str = "return.xml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def read_text(tmp_path: Path, text: str, pseudonymiser: Pseudonymiser = KEY) -> IngestResult:
    return read_cin_census([write(tmp_path, text)], pseudonymiser)


def reference(name: str) -> Path:
    return reference_file("cin-census-xml", name)


def of_type(result: IngestResult, kind: type[InboundEvent]) -> list[InboundEvent]:
    return [e for e in result.events if isinstance(e, kind)]


def referral_rejections(result: IngestResult) -> list[str]:
    return [r.reason for r in result.rejected if REFERRAL_LOCATION.match(r.location)]


# --- the reference files --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", REFERENCE_FILES)
def test_every_reference_census_file_ingests_with_every_rejection_explained(name: str) -> None:
    path = reference(name)
    result = read_cin_census([path], KEY)
    raw_ids = set(re.findall(r"<LAchildID>\s*([^<]+?)\s*</LAchildID>", path.read_text()))

    assert result.read == path.read_text().count("<CINdetails>") > 0
    assert len(of_type(result, ReferralOpened)) + len(referral_rejections(result)) == result.read
    assert all(r.reason and r.location and r.source == name for r in result.rejected)
    printed = " ".join([*(f"{r.location} {r.reason}" for r in result.rejected), *result.notes])
    assert not any(raw in printed for raw in raw_ids)


def test_the_fake_census_reads_402_referrals_of_332_children_all_marked_nfa() -> None:
    result = read_cin_census([reference("d2i_fake_CIN_data.xml")], KEY)

    assert result.read == 402
    assert result.counts_by_type() == Counter(
        ReferralOpened=402, ReferralMarkedNFA=402, EpisodeClosed=252, ICPCHeld=350
    )
    assert result.rejected == []
    assert len({e.child_key for e in result.events}) == 332
    assert {e.la_code for e in result.events} == {"975"}
    assert {e.recorded_at for e in result.events} == {dt.datetime(2022, 7, 21, 10, 12, 28, tzinfo=dt.UTC)}
    # The older layout records the initial conference on the episode itself, with no Section47 block.
    episode_icpcs = [e for e in of_type(result, ICPCHeld) if isinstance(e, ICPCHeld)]
    assert {(e.s47_id, e.referral_id is not None) for e in episode_icpcs} == {(None, True)}
    assert "d2i_fake_CIN_data.xml: episode-level DateOfInitialCPC read as an ICPC of the referral: 350" in result.notes


@pytest.mark.parametrize("name", ["d2i_CIN_Census_2021.xml", "liia_BAR_cin_2022.xml"])
def test_a_return_using_every_module_yields_one_of_every_census_event(name: str) -> None:
    result = read_cin_census([reference(name)], KEY)

    assert result.counts_by_type() == Counter(
        ReferralOpened=1,
        AssessmentStarted=1,
        AssessmentAuthorised=1,
        S47Started=1,
        ICPCHeld=1,
        CPPStarted=1,
        CPPEnded=1,
        EpisodeClosed=1,
    )
    (plan,) = of_type(result, CPPStarted)
    assert isinstance(plan, CPPStarted) and plan.previous_plans == 10
    (authorised,) = of_type(result, AssessmentAuthorised)
    assert isinstance(authorised, AssessmentAuthorised) and authorised.factors == ("2A", "2B")


def test_the_2024_and_2026_layouts_read_sex_rc9_and_the_pre_proceedings_block() -> None:
    for name in ("d2i_CIN_Census_2024.xml", "d2i_CIN_Census_2026.xml"):
        result = read_cin_census([reference(name)], KEY)
        closures = [e for e in of_type(result, EpisodeClosed) if isinstance(e, EpisodeClosed)]
        assert result.read == 2 and result.rejected == []
        assert {c.reason for c in closures} == {
            ClosureReason.ADOPTED,
            ClosureReason.CLOSED_AFTER_ASSESSMENT_EARLY_HELP,
        }


def test_reingesting_the_same_file_gives_the_same_event_ids(tmp_path: Path) -> None:
    original = reference("d2i_CIN_Census_2021.xml")
    renamed = tmp_path / "renamed_copy.xml"
    shutil.copy(original, renamed)

    first = [e.event_id for e in read_cin_census([original], KEY).events]
    again = [e.event_id for e in read_cin_census([original], KEY).events]
    copied = [e.event_id for e in read_cin_census([renamed], KEY).events]

    assert first == again == copied
    assert len(set(first)) == len(first)


@settings(max_examples=10, deadline=None)
@given(order=st.permutations(REFERENCE_FILES))
def test_the_order_returns_are_read_in_does_not_change_which_events_exist(order: list[str]) -> None:
    paths = [reference(name) for name in order]
    baseline = {e.event_id for e in read_cin_census([reference(n) for n in REFERENCE_FILES], KEY).events}

    assert {e.event_id for e in read_cin_census(paths, KEY).events} == baseline


# --- repeated episodes and identity ---------------------------------------------------------------------


def test_an_episode_repeated_in_two_yearly_returns_counts_once(tmp_path: Path) -> None:
    still_open = episode_xml(referral="2023-02-01", parts=assessment_xml(authorised=None))
    closed = episode_xml(referral="2023-02-01", closure="2023-09-01", reason="RC7", parts=assessment_xml())
    open_at_march = census_xml(child_xml(still_open), stamp="2023-05-22T10:00:00")
    closed_next_year = census_xml(child_xml(closed), stamp="2024-05-20T09:30:00")
    paths = [write(tmp_path, open_at_march, "2023.xml"), write(tmp_path, closed_next_year, "2024.xml")]

    result = read_cin_census(paths, KEY)

    assert result.read == 2
    assert result.counts_by_type() == Counter(
        ReferralOpened=1, AssessmentStarted=1, AssessmentAuthorised=1, EpisodeClosed=1
    )
    assert "episodes repeated across returns: 1" in result.notes
    assert "duplicate events collapsed: 2" in result.notes


def test_event_ids_come_from_the_record_not_its_position_in_the_file(tmp_path: Path) -> None:
    first = child_xml(child_id="A1")
    second = child_xml(episode_xml(referral="2022-01-01"), child_id="B2")

    forwards = read_text(tmp_path, census_xml(first, second)).events
    backwards = read_text(tmp_path, census_xml(second, first)).events

    assert sorted(e.event_id for e in forwards) == sorted(e.event_id for e in backwards)


def test_child_ids_are_pseudonymised_with_the_key_and_kept_with_no_pseudonymise(tmp_path: Path) -> None:
    text = census_xml(child_xml(child_id="  CHILD-001 "))

    keyed = read_text(tmp_path, text, KEY).events
    other_key = read_text(tmp_path, text, Pseudonymiser(b"another-key")).events
    raw = read_text(tmp_path, text, Pseudonymiser(None)).events

    assert {e.child_key for e in keyed} == {KEY.pseudonymise_child("886", "CHILD-001").pseudonym}
    assert "CHILD-001" not in keyed[0].model_dump_json()
    assert keyed[0].child_key != other_key[0].child_key
    assert {e.child_key for e in raw} == {"CHILD-001"}


# --- tolerance ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "is_nfa"),
    [
        ("true", True),
        ("1", True),
        ("Y", True),
        (" TRUE ", True),
        ("false", False),
        ("0", False),
        ("n", False),
    ],
)
def test_true_false_and_zero_one_are_both_read_as_yes_no(tmp_path: Path, flag: str, is_nfa: bool) -> None:
    result = read_text(tmp_path, census_xml(child_xml(episode_xml(nfa=flag))))

    assert result.counts_by_type()["ReferralMarkedNFA"] == int(is_nfa)
    assert result.rejected == []


def test_an_unreadable_yes_no_rejects_only_the_flag(tmp_path: Path) -> None:
    result = read_text(tmp_path, census_xml(child_xml(episode_xml(nfa="perhaps"))))

    assert result.counts_by_type() == Counter(ReferralOpened=1)
    assert [(r.location, r.reason) for r in result.rejected] == [
        ("Child #1 CINdetails #1 ReferralNFA", "ReferralNFA is not a yes/no value")
    ]


@pytest.mark.parametrize(
    "sex",
    [
        "<GenderCurrent>1</GenderCurrent>",
        "<GenderCurrent>9</GenderCurrent>",
        "<Sex>M</Sex>",
        "<Sex>U</Sex>",
        "",
    ],
)
def test_gender_current_and_sex_layouts_are_both_read(tmp_path: Path, sex: str) -> None:
    result = read_text(tmp_path, census_xml(child_xml(sex=sex)))

    assert result.counts_by_type() == Counter(ReferralOpened=1)


def test_stray_text_inside_child_identifiers_is_tolerated(tmp_path: Path) -> None:
    identifiers = (
        "<LAchildID>\n   CHILD-001  </LAchildID><UPNunknown>UN3</UPNunknown>PersonBirthDate\n"
        "<PersonBirthDate>2015-03-27</PersonBirthDate><Sex>1</Sex>"
    )
    plain = "<LAchildID>CHILD-001</LAchildID><PersonBirthDate>2015-01-01</PersonBirthDate><Sex>F</Sex>"
    text = census_xml(child_xml()).replace(plain, identifiers)
    assert "</UPNunknown>PersonBirthDate" in text

    result = read_text(tmp_path, text, Pseudonymiser(None))

    assert [e.child_key for e in result.events] == ["CHILD-001"]
    assert read_cin_census([reference("d2i_CIN_Census_2021.xml")], KEY).rejected == []


def test_a_namespaced_return_is_read_like_a_plain_one(tmp_path: Path) -> None:
    plain = read_text(tmp_path, census_xml())
    namespaced = read_text(tmp_path, census_xml(xmlns="http://www.example.org/cin-census"))

    assert [e.event_id for e in namespaced.events] == [e.event_id for e in plain.events]
    assert namespaced.counts_by_type() == Counter(ReferralOpened=1)


def test_dates_become_local_midnight_and_the_header_datetime_is_recorded_at(tmp_path: Path) -> None:
    (opened,) = read_text(tmp_path, census_xml(child_xml(episode_xml(referral="2023-07-14")))).events

    assert opened.occurred_at == dt.datetime(2023, 7, 14, tzinfo=LONDON)
    assert opened.recorded_at == dt.datetime(2024, 5, 20, 9, 30, tzinfo=LONDON)
    assert opened.la_code == "886"


def test_without_a_header_datetime_recorded_at_is_the_latest_date_in_the_file_at_noon(tmp_path: Path) -> None:
    episode = episode_xml(referral="2023-07-14", closure="2024-01-09", reason="RC7")
    text = census_xml(child_xml(episode), stamp=None)

    result = read_text(tmp_path, text)

    assert {e.recorded_at for e in result.events} == {dt.datetime(2024, 1, 9, 12, 0, tzinfo=LONDON)}
    assert any("recorded_at is the latest date in the file at noon" in note for note in result.notes)


# --- 2024-25 codes and the child-in-need derivation -----------------------------------------------------


def test_referral_source_5d_early_help_is_read(tmp_path: Path) -> None:
    (opened,) = read_text(tmp_path, census_xml(child_xml(episode_xml(source="5D")))).events

    assert isinstance(opened, ReferralOpened) and opened.source is ReferralSource.LA_EARLY_HELP


@pytest.mark.parametrize(
    ("need", "reason", "in_need"),
    [
        ("N4", "RC7", True),
        ("N4", None, True),
        ("N9", None, False),
        ("N4", "RC8", False),
        ("N1", "RC9", False),
    ],
)
def test_an_assessment_finds_the_child_not_in_need_for_n9_rc8_or_rc9(
    tmp_path: Path, need: str, reason: str | None, in_need: bool
) -> None:
    closure = "2023-08-01" if reason else None
    episode = episode_xml(need=need, closure=closure, reason=reason, parts=assessment_xml())

    (authorised,) = of_type(read_text(tmp_path, census_xml(child_xml(episode))), AssessmentAuthorised)

    assert isinstance(authorised, AssessmentAuthorised) and authorised.child_in_need is in_need


def test_an_rc9_closure_is_read_as_closed_after_assessment_referred_to_early_help(tmp_path: Path) -> None:
    episode = episode_xml(closure="2023-08-01", reason="RC9")

    (closed,) = of_type(read_text(tmp_path, census_xml(child_xml(episode))), EpisodeClosed)

    assert isinstance(closed, EpisodeClosed)
    assert closed.reason is ClosureReason.CLOSED_AFTER_ASSESSMENT_EARLY_HELP


def test_an_icpc_followed_by_a_plan_the_same_day_says_a_plan_started(tmp_path: Path) -> None:
    episode = episode_xml(parts=s47_xml(icpc="2023-06-24") + plan_xml(start="2023-06-24", end="2024-01-10"))

    result = read_text(tmp_path, census_xml(child_xml(episode)))

    (icpc,) = of_type(result, ICPCHeld)
    assert isinstance(icpc, ICPCHeld) and icpc.plan_started is True
    assert result.counts_by_type() == Counter(
        ReferralOpened=1,
        S47Started=1,
        ICPCHeld=1,
        CPPStarted=1,
        CPPEnded=1,
    )


# --- rejections -----------------------------------------------------------------------------------------


def test_closure_without_reason_rejects_only_the_closure(tmp_path: Path) -> None:
    result = read_text(tmp_path, census_xml(child_xml(episode_xml(closure="2023-08-01", reason=None))))

    assert result.counts_by_type() == Counter(ReferralOpened=1)
    assert [(r.location, r.reason) for r in result.rejected] == [
        ("Child #1 CINdetails #1 closure", "CINclosureDate without a ReasonForClosure")
    ]


def test_closure_with_an_unknown_reason_rejects_only_the_closure(tmp_path: Path) -> None:
    result = read_text(tmp_path, census_xml(child_xml(episode_xml(closure="2023-08-01", reason="RC10"))))

    assert result.counts_by_type() == Counter(ReferralOpened=1)
    assert [r.reason for r in result.rejected] == ["unknown ReasonForClosure code 'RC10'"]


@pytest.mark.parametrize(
    ("referral", "reason"),
    [
        (None, "missing CINreferralDate"),
        ("2023-02-30", "CINreferralDate is not a valid date"),
        ("01/06/2023", "CINreferralDate is not a valid date"),
    ],
)
def test_a_missing_or_invalid_referral_date_rejects_the_referral(
    tmp_path: Path, referral: str | None, reason: str
) -> None:
    episodes = (episode_xml(referral="2022-01-01"), episode_xml(referral=referral, parts=assessment_xml()))

    result = read_text(tmp_path, census_xml(child_xml(*episodes)))

    assert result.read == 2
    assert result.counts_by_type() == Counter(ReferralOpened=1)
    assert [(r.location, r.reason) for r in result.rejected] == [("Child #1 CINdetails #2", reason)]


def test_an_unknown_referral_source_rejects_the_referral_without_echoing_free_text(tmp_path: Path) -> None:
    episodes = (episode_xml(source="5E"), episode_xml(referral="2022-01-01", source="Jane Smith's school"))

    result = read_text(tmp_path, census_xml(child_xml(*episodes)))

    assert result.events == []
    assert [r.reason for r in result.rejected] == [
        "unknown ReferralSource code '5E'",
        "unknown ReferralSource code (value withheld)",
    ]


def test_a_missing_referral_source_is_kept_as_unknown_and_noted(tmp_path: Path) -> None:
    result = read_text(tmp_path, census_xml(child_xml(episode_xml(source=None))))

    (opened,) = result.events
    assert isinstance(opened, ReferralOpened) and opened.source is ReferralSource.UNKNOWN
    assert result.notes == ["return.xml: referrals with no ReferralSource, read as 10 (UNKNOWN): 1"]


def test_an_unknown_primary_need_keeps_the_referral_without_one(tmp_path: Path) -> None:
    result = read_text(tmp_path, census_xml(child_xml(episode_xml(need="N12"))))

    (opened,) = result.events
    assert isinstance(opened, ReferralOpened) and opened.primary_need is None
    assert [r.reason for r in result.rejected] == ["unknown PrimaryNeedCode code 'N12'"]


def test_a_lower_case_code_is_read(tmp_path: Path) -> None:
    (opened,) = read_text(tmp_path, census_xml(child_xml(episode_xml(source="3a", need="n2")))).events

    assert isinstance(opened, ReferralOpened)
    assert (opened.source, opened.primary_need) == (ReferralSource.HEALTH_GP, PrimaryNeed.N2)


def test_a_missing_child_id_rejects_each_of_that_childs_referrals(tmp_path: Path) -> None:
    nameless = child_xml(episode_xml(), episode_xml(referral="2022-01-01"), child_id=None)

    result = read_text(tmp_path, census_xml(child_xml(child_id="OK-1"), nameless))

    assert result.read == 3
    assert result.counts_by_type() == Counter(ReferralOpened=1)
    assert [(r.location, r.reason) for r in result.rejected] == [
        ("Child #2 CINdetails #1", "missing LAchildID"),
        ("Child #2 CINdetails #2", "missing LAchildID"),
    ]


def test_a_bad_sub_record_date_rejects_only_that_sub_record(tmp_path: Path) -> None:
    badly_authorised = assessment_xml(start="2023-06-07", authorised="2023-13-01")
    parts = assessment_xml(start=None) + badly_authorised + s47_xml()
    result = read_text(tmp_path, census_xml(child_xml(episode_xml(parts=parts))))

    assert result.counts_by_type() == Counter(ReferralOpened=1, AssessmentStarted=1, S47Started=1, ICPCHeld=1)
    assert [(r.location, r.reason) for r in result.rejected] == [
        ("Child #1 CINdetails #1 Assessments #1", "missing AssessmentActualStartDate"),
        ("Child #1 CINdetails #1 Assessments #2", "AssessmentAuthorisationDate is not a valid date"),
    ]


def test_a_previous_plan_count_that_is_not_a_number_rejects_the_plan(tmp_path: Path) -> None:
    result = read_text(tmp_path, census_xml(child_xml(episode_xml(parts=plan_xml(previous="two")))))

    assert result.counts_by_type() == Counter(ReferralOpened=1)
    assert [r.reason for r in result.rejected] == ["NumberOfPreviousCPP is not a whole number"]


def test_a_header_without_an_la_code_rejects_every_referral_in_the_file(tmp_path: Path) -> None:
    result = read_text(tmp_path, census_xml(child_xml(), child_xml(child_id="B"), la=None))

    assert result.events == []
    assert result.read == 2
    assert {r.reason for r in result.rejected} == {"header has no three-digit Source/LEA"}
    assert [r.location for r in result.rejected] == ["Child #1 CINdetails #1", "Child #2 CINdetails #1"]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("LAchildID,CINreferralDate\nX,2023-01-01\n", "not well-formed XML (line 1)"),
        ("<Message><Children><Child>", "not well-formed XML (line 1)"),
        ("<Return><Children/></Return>", "no Message root element"),
    ],
)
def test_a_file_that_is_not_a_census_return_is_rejected_whole(
    tmp_path: Path,
    content: str,
    reason: str,
) -> None:
    result = read_text(tmp_path, content)

    assert (result.read, result.events) == (0, [])
    assert [(r.source, r.location, r.reason) for r in result.rejected] == [("return.xml", "file", reason)]


def test_one_bad_file_does_not_stop_the_others_being_read(tmp_path: Path) -> None:
    paths = [write(tmp_path, "not xml", "bad.xml"), write(tmp_path, census_xml(), "good.xml")]

    result = read_cin_census(paths, KEY)

    assert result.counts_by_type() == Counter(ReferralOpened=1)
    assert [r.source for r in result.rejected] == ["bad.xml"]
