"""`frontdoor report --by`: the series per council and period from census XML or events, as JSON, CSV and XLSX."""

from __future__ import annotations

import calendar
import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from schemas.codec import encode
from schemas.events import InboundEvent
from services.cli import main
from services.core.config import RuleConfig
from services.reports.history import replay_councils
from tests.builders import CHILD_B, make_closure, make_nfa, make_plan, make_plan_end, make_referral
from tests.reference import reference_file

CENSUS_FILES = {  # file -> (first month, last month, sums of referrals, re-referrals, NFA, plans, 2nd+ ever, 2nd+ <2y)
    "d2i_CIN_Census_2021.xml": ("1970-02", "1970-10", (1, 0, 0, 1, 1, 0)),
    "d2i_CIN_Census_2024.xml": ("2022-02", "2028-04", (2, 0, 0, 1, 1, 0)),
    "d2i_CIN_Census_2026.xml": ("2022-02", "2028-04", (2, 0, 0, 1, 1, 0)),
    "d2i_fake_CIN_data.xml": ("2004-09", "2030-03", (402, 20, 402, 0, 0, 0)),
    "liia_BAR_cin_2022.xml": ("1970-02", "1970-10", (1, 0, 0, 1, 1, 0)),
}
SUMMED = ("referrals", "rereferrals", "nfa_referrals", "cpp_started", "cpp_subsequent_ever", "cpp_subsequent_within_2y")
INTEGER_KEYS = ("referrals", "rereferrals", "nfa_referrals", *SUMMED[3:], "referrals_open_month_end")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(["report", *argv]) == 0
    return capsys.readouterr().out


def report_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(run(capsys, *argv, "--format", "json"))
    return document


def events_file(tmp_path: Path, events: list[InboundEvent], name: str = "events.jsonl") -> Path:
    path = tmp_path / name
    path.write_bytes(b"".join(encode(event) + b"\n" for event in events))
    return path


def two_councils() -> list[InboundEvent]:
    first = make_referral("2024-01-10")
    plan = make_plan("2024-02-01")
    return [
        first,
        make_nfa(first),
        make_referral("2024-03-05"),
        plan,
        make_plan_end(plan, "2024-06-01"),
        make_plan("2025-01-15"),
        make_referral("2024-02-28", la_code="301", child_key=CHILD_B),
        make_referral("2025-02-28", la_code="301", child_key=CHILD_B),
    ]


@pytest.mark.parametrize("name", sorted(CENSUS_FILES))
def test_every_shipped_census_file_gives_monthly_figures_that_add_up_to_its_period_report(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(reference_file("cin-census-xml", name))
    first, last, sums = CENSUS_FILES[name]
    months = report_json(capsys, "--cin-census", path, "--by", "month", "--jobs", "1")["months"]
    end = f"{last}-{calendar.monthrange(int(last[:4]), int(last[5:]))[1]}"
    period = report_json(capsys, "--cin-census", path, "--period-start", f"{first}-01", "--period-end", end)

    assert (months[0]["month"], months[-1]["month"]) == (first, last)
    assert tuple(sum(row[key] for row in months) for key in SUMMED) == sums
    assert sum(row["referrals"] for row in months) == period["referrals"]
    assert sum(row["rereferrals"] for row in months) == period["rereferrals"]
    assert all(isinstance(row[key], int) for row in months for key in INTEGER_KEYS)


def test_events_give_one_row_per_council_and_month_with_benchmarks_beside_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = report_json(capsys, "--events", str(events_file(tmp_path, two_councils())), "--by", "month")
    kent = {row["month"]: row for row in document["months"] if row["la_code"] == "886"}

    assert (kent["2024-03"]["referrals"], kent["2024-03"]["rereferrals"]) == (1, 1)
    assert kent["2025-01"]["cpp_subsequent_ever"] == kent["2025-01"]["cpp_subsequent_within_2y"] == 1
    assert kent["2024-03"]["benchmark_year"] == 2024 and kent["2024-04"]["benchmark_year"] == 2025
    assert kent["2024-03"]["rereferral_england"] == 0.224  # England 2023-24, DfE C1
    assert kent["2024-03"]["rereferral_region"] is not None and kent["2024-03"]["rereferral_neighbours"] is not None
    assert document["councils"]["886"]["statistical_neighbours"][:3] == ["881", "845", "878"]
    assert {row["la_code"] for row in document["months"]} == {"886", "301"}


def test_a_council_s_neighbours_in_the_rules_file_replace_the_model_s(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('[councils.886]\nstatistical_neighbours = ["301"]\n')
    events = str(events_file(tmp_path, two_councils()))
    document = report_json(capsys, "--events", events, "--by", "year", "--rules", str(rules))

    assert document["councils"]["886"]["statistical_neighbours"] == ["301"]
    kent_2024 = next(r for r in document["years"] if r["la_code"] == "886" and r["year"] == "2023-24")
    assert kent_2024["rereferral_neighbours"] == 0.212  # Barking and Dagenham 2023-24 alone


def test_csv_and_xlsx_carry_exactly_the_json_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from openpyxl import load_workbook  # noqa: PLC0415  # one test reads a workbook

    events = str(events_file(tmp_path, two_councils()))
    rows = report_json(capsys, "--events", events, "--by", "quarter")["quarters"]
    text = run(capsys, "--events", events, "--by", "quarter", "--format", "csv")
    run(capsys, "--events", events, "--by", "quarter", "--format", "xlsx", "--output", str(tmp_path / "q.xlsx"))
    sheet = load_workbook(tmp_path / "q.xlsx").active
    assert sheet is not None
    header, *cells = list(sheet.iter_rows(values_only=True))

    as_text = [{k: "" if v is None else str(v) for k, v in row.items()} for row in rows]
    assert list(csv.DictReader(io.StringIO(text))) == as_text
    assert [dict(zip(header, values, strict=True)) for values in cells] == rows


def test_replaying_councils_in_parallel_gives_exactly_the_sequential_totals(tmp_path: Path) -> None:
    lines = [encode(event) + b"\n" for event in two_councils()]
    offline = [RuleConfig(retention_months=None)]
    sequential = replay_councils(lines, offline, jobs=1)
    parallel = replay_councils(lines, offline, jobs=2)

    assert sorted(sequential) == sorted(parallel) == ["301", "886"]
    assert {la: r.totals for la, r in sequential.items()} == {la: r.totals for la, r in parallel.items()}
    assert {la: r.events for la, r in sequential.items()} == {"301": 2, "886": 6}


def test_compare_rules_prints_both_series_and_their_difference_per_month(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "365d.toml"
    other.write_text('[default]\nrereferral_window = "365d"\n')
    events = str(events_file(tmp_path, two_councils()))
    document = report_json(capsys, "--events", events, "--by", "month", "--compare-rules", str(other))
    barking = {r["month"]: r for r in document["months"] if r["la_code"] == "301"}
    theirs = {r["month"]: r for r in document["compare"]["months"] if r["la_code"] == "301"}
    difference = {r["month"]: r for r in document["compare"]["differences"] if r["la_code"] == "301"}

    assert (barking["2025-02"]["rereferrals"], theirs["2025-02"]["rereferrals"]) == (1, 0)  # across the leap day
    assert difference["2025-02"]["rereferrals"] == -1 and difference["2025-02"]["rereferral_rate"] == -1.0
    assert difference["2024-02"]["referrals"] == 0
    table = run(capsys, "--events", events, "--by", "month", "--compare-rules", str(other))
    assert "2025-02" in table and "-1" in table


def test_report_without_by_still_needs_its_period(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="period-start"):
        main(["report", "--events", str(events_file(tmp_path, two_councils()))])


def test_closures_reach_the_monthly_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = make_referral("2024-01-10")
    events = str(events_file(tmp_path, [first, make_closure(first, "2024-02-20")]))
    months = {r["month"]: r for r in report_json(capsys, "--events", events, "--by", "month")["months"]}

    assert months["2024-01"]["referrals_open_month_end"] == 1 and months["2024-01"]["closures_RC7"] == 0
