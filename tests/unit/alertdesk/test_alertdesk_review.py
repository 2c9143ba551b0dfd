"""The weekly review list (Oldham practice): children with two referrals in six months, on a page and as CSV."""

from __future__ import annotations

import csv
import io

import pytest
from prometheus_client import CollectorRegistry

from services.alertdesk.desk import Desk
from services.alertdesk.metrics import desk_metrics
from services.alertdesk.review import CSV_COLUMNS, weekly_csv_text
from services.alertdesk.weeks import IsoWeek
from tests.unit.alertdesk.desk_builders import Harness, assigned, browser, make_two_referrals

pytestmark = pytest.mark.timeout(30)


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_the_weekly_csv_lists_the_weeks_children_with_their_dates_team_and_status() -> None:
    harness = Harness()
    listed = make_two_referrals(child_key="child-one", referral_date="2024-06-05")
    harness.fold(
        listed,
        assigned(listed, "Family Support East"),
        make_two_referrals(child_key="next-week", referral_date="2024-06-10"),
    )
    async with browser(harness, "dm.kent") as client:
        response = await client.get("/review/weekly.csv?week=2024-W23")
        text = await response.text()
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="two-referrals-in-six-months-886-2024-W23.csv"' in response.headers["Content-Disposition"]
    (row,) = rows(text)
    assert tuple(row) == CSV_COLUMNS
    assert row | {"alert_id": ""} == {
        "alert_id": "",
        "child_pseudonym": "child-one",
        "referral_date": "2024-06-05",
        "previous_referral_date": "2024-03-03",
        "days_since_previous_referral": "94",
        "referrals_in_12_months": "2",
        "team": "Family Support East",
        "previous_closure_date": "2024-04-26",
        "previous_closure_reason": "RC8",
        "previous_closing_team": "Family Support East",
        "same_primary_need_as_previous": "yes",
        "status": "assigned",
        "assigned_to": "team Family Support East",
        "outcome": "",
    }


def test_a_cell_that_looks_like_a_spreadsheet_formula_is_kept_as_text() -> None:
    desk = Desk(metrics=desk_metrics(CollectorRegistry(), lambda: desk.state))
    desk.fold_alert(make_two_referrals(team='=HYPERLINK("http://x")', referral_date="2024-06-05"))
    (row,) = rows(weekly_csv_text(desk.state.weekly_review("886", IsoWeek.parse("2024-W23"))))
    assert row["team"] == '\'=HYPERLINK("http://x")'


async def test_the_weekly_page_defaults_to_the_current_iso_week_and_links_the_csv() -> None:
    harness = Harness()  # the clock says Wednesday 5 June 2024, in 2024-W23
    harness.fold(make_two_referrals(child_key="this-week", referral_date="2024-06-03"))
    async with browser(harness, "dm.kent") as client:
        page = await (await client.get("/review/weekly")).text()
        bad = await client.get("/review/weekly?week=2024-23")
    assert "Week 2024-W23" in page and "this-week" in page
    assert 'href="/review/weekly.csv?week=2024-W23"' in page
    assert bad.status == 400


async def test_an_empty_week_says_so() -> None:
    async with browser(Harness(), "dm.kent") as client:
        page = await (await client.get("/review/weekly?week=2024-W01")).text()
        text = await (await client.get("/review/weekly.csv?week=2024-W01")).text()
    assert "No child had a second referral within six months in this week." in page
    assert rows(text) == [] and text.startswith("alert_id,child_pseudonym,")
