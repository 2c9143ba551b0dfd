"""Issue 18: the partner portal shows one agency's funnel in its own council, suppressed, and nothing else."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from schemas.codec import encode
from schemas.codes import ReferralSource
from schemas.events import InboundEvent
from services.alertdesk.portal import portal_csv_text
from services.alertdesk.portal_figures import COLUMNS, agency_counts, portal_figures, shown_months
from services.alertdesk.projection import Batch
from services.alertdesk.totals import council_totals
from services.cli import main
from services.core.series import GROUPS, monthly_series
from services.reports.series_report import council_months
from services.reports.suppression import SUPPRESSED
from services.simulator.cli_simulate import profiles
from services.simulator.history import simulate
from tests.builders import make_assessment, make_authorisation, make_contact, make_referral, pseudonym
from tests.unit.alertdesk.desk_builders import Harness, browser, make_contacts_alert
from tests.worker_totals import published_totals

pytestmark = pytest.mark.timeout(120)
INDEX = {key: i for i, (key, _) in enumerate(COLUMNS)}


def fold_events(harness: Harness, events: list[InboundEvent], size: int = 2000) -> None:
    """The events (for the timeline) and the council-month snapshots a worker publishes for them, as the desk reads."""
    snapshots = published_totals(events, size)
    for messages in (events, snapshots):
        for start in range(0, len(messages), size):
            batch = Batch()
            for message in messages[start : start + size]:
                batch.add(message)
            harness.desk.fold_batch(batch)


def journeys(
    la_code: str, month: str, children: int, source: ReferralSource, *, referred: int, in_need: int
) -> list[InboundEvent]:
    """`children` contacts from `source` in `month`; the first `referred` referred and assessed, `in_need` in need."""
    events: list[InboundEvent] = []
    for n in range(children):
        child = pseudonym(f"{la_code}-{source.value}-{month}-{n}")
        day = dt.date.fromisoformat(f"{month}-{n % 20 + 1:02d}")
        contact = make_contact(day, la_code=la_code, child_key=child, source=source)
        events.append(contact)
        if n < referred:
            link = {"la_code": la_code, "child_key": child, "source": source, "contact_id": contact.contact_id}
            referral = make_referral(day, **link)
            assessment = make_assessment(referral, day + dt.timedelta(days=2))
            events += [referral, assessment, make_authorisation(assessment, day + dt.timedelta(days=20), n < in_need)]
    return events


def test_the_portals_counts_are_report_by_months_for_the_same_events(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = list(simulate(profiles(["805"]), dt.date(2024, 4, 1), 0.15, seed=11))
    harness = Harness()
    fold_events(harness, events)
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(encode(e) for e in events) + b"\n")
    assert main(["report", "--events", str(path), "--by", "month", "--format", "json", "--jobs", "1"]) == 0
    report = {str(r["month"]): r for r in council_months(json.loads(capsys.readouterr().out))["805"]}
    totals = council_totals(harness.desk.state.db, "805")
    months = shown_months(totals)
    assert months and set(months) <= set(report)
    desk_rows = {str(r["month"]): r for r in monthly_series(totals, months)}
    compared = 0
    for month in months:
        for group in GROUPS:
            portal = agency_counts(desk_rows[month], group, {})
            reported = agency_counts(report[month], group, {})
            assert portal == reported, (month, group)
            compared += sum(portal.values())
    assert compared > 1000  # a realistic quarter of a council, not an empty comparison
    police = portal_figures("805", "police", totals, {}, months)
    for month, cells in zip(police.months, police.cells, strict=True):
        raw = agency_counts(report[month], "police", {})
        assert all(cell == raw[key] for (key, _), cell in zip(COLUMNS, cells, strict=True) if cell != SUPPRESSED)


def test_suppressed_cells_show_c_and_no_total_reveals_them() -> None:
    events = [
        *journeys("886", "2024-05", 30, ReferralSource.POLICE, referred=12, in_need=9),
        *journeys("886", "2024-06", 25, ReferralSource.POLICE, referred=3, in_need=1),  # small: suppressed
        *journeys("886", "2024-07", 40, ReferralSource.POLICE, referred=15, in_need=10),
    ]
    harness = Harness()
    fold_events(harness, events)
    totals = council_totals(harness.desk.state.db, "886")
    figures = portal_figures("886", "police", totals, {}, shown_months(totals))
    assert figures.months == ["2024-05", "2024-06", "2024-07"]
    june = figures.cells[1]
    assert (june[INDEX["contacts"]], june[INDEX["referred"]], june[INDEX["in_need"]]) == (25, SUPPRESSED, SUPPRESSED)
    for column in range(len(COLUMNS)):
        shown = [row[column] for row in figures.cells]
        hidden = shown.count(SUPPRESSED)
        # A shown total with exactly one hidden cell would give that cell away by subtraction.
        assert hidden != 1 or figures.totals[column] == SUPPRESSED, COLUMNS[column]
    for cells, rates in zip(figures.cells, figures.rates, strict=True):  # a rate never uses a hidden count
        referred, contacts = cells[INDEX["referred"]], cells[INDEX["contacts"]]
        own = rates["conversion"].own
        if referred == SUPPRESSED or contacts == SUPPRESSED:
            assert own is None
        else:
            assert own == pytest.approx(int(referred) / int(contacts))
    assert [row[INDEX["referred"]] for row in figures.cells] == [SUPPRESSED, SUPPRESSED, 15]  # 12 hidden beside 3


def test_the_desk_counts_nothing_from_events_itself_only_the_workers_snapshots_give_figures() -> None:
    harness = Harness()
    events = journeys("886", "2024-05", 6, ReferralSource.POLICE, referred=2, in_need=1)
    batch = Batch()
    for event in events:
        batch.add(event)
    harness.desk.fold_batch(batch)
    assert council_totals(harness.desk.state.db, "886") == Counter()
    assert harness.desk.state.timeline("886", events[0].child_key)
    for snapshot in published_totals(events):
        harness.desk.fold_batch(Batch([(snapshot, None)]))
    assert council_totals(harness.desk.state.db, "886")[("2024-05", "contacts", "police")] == 6


def test_rates_are_compared_with_the_councils_all_partner_average_and_the_agencys_previous_year() -> None:
    events = [
        *journeys("886", "2023-06", 20, ReferralSource.POLICE, referred=5, in_need=5),
        *journeys("886", "2024-06", 40, ReferralSource.POLICE, referred=20, in_need=10),
        *journeys("886", "2024-06", 60, ReferralSource.SCHOOLS, referred=10, in_need=5),
    ]
    harness = Harness()
    fold_events(harness, events)
    totals = council_totals(harness.desk.state.db, "886")
    figures = portal_figures("886", "police", totals, {}, ["2024-06"])
    rate = figures.rates[0]["conversion"]
    assert (rate.own, rate.all_partners, rate.previous_year) == pytest.approx((20 / 40, 30 / 100, 5 / 20))


def test_the_csv_carries_the_published_cells_c_included() -> None:
    totals: Counter[tuple[str, str, str]] = Counter(
        {("2024-06", "contacts", "police"): 40, ("2024-06", "funnel_referred", "police"): 3}
    )
    totals[("2024-07", "contacts", "police")] = 12
    figures = portal_figures("886", "police", totals, {}, ["2024-06", "2024-07"])
    rows = list(csv.DictReader(io.StringIO(portal_csv_text(figures))))
    assert [r["month"] for r in rows] == ["2024-06", "2024-07", "total"]
    assert (rows[0]["contacts"], rows[0]["referred"], rows[2]["contacts"]) == ("40", SUPPRESSED, "52")
    assert rows[0]["conversion_rate_own"] == ""  # hidden: its numerator is a "c"


def two_councils_with_alerts() -> Harness:
    harness = Harness()
    fold_events(
        harness,
        [
            *journeys("886", "2024-05", 30, ReferralSource.POLICE, referred=12, in_need=9),
            *journeys("886", "2024-05", 50, ReferralSource.SCHOOLS, referred=20, in_need=9),
            *journeys("353", "2024-05", 70, ReferralSource.POLICE, referred=33, in_need=20),
        ],
    )
    alerts = [
        make_contacts_alert(child_key=f"kent-{n}", source_group="police", contact_date=dt.date(2024, 5, 3))
        for n in range(6)
    ]
    harness.fold(*alerts)
    return harness


async def get(harness: Harness, username: str, *paths: str) -> list[tuple[int, str]]:
    async with browser(harness, username) as client:
        responses = [await client.get(p, allow_redirects=False) for p in paths]
        return [(r.status, await r.text()) for r in responses]


async def test_a_police_user_of_kent_sees_kents_police_figures_only() -> None:
    harness = two_councils_with_alerts()
    [(redirect, _), (status, page), (csv_status, text)] = await get(
        harness, "police.kent", "/partner", "/partner/886/police", "/partner/886/police/csv"
    )
    assert (redirect, status, csv_status) == (303, 200, 200)
    assert "Police: contacts to children" in page and "council 886" in page and "<svg" in page
    rows = list(csv.DictReader(io.StringIO(text)))
    assert (rows[0]["month"], rows[0]["contacts"], rows[0]["referred"], rows[0]["repeated_contacts"]) == (
        "2024-05",
        "30",
        "12",
        "6",
    )
    assert "70" not in [r["contacts"] for r in rows]  # Oldham's police contacts
    assert harness.audit.records == []


@pytest.mark.parametrize(
    ("path", "asked"),
    [
        ("/partner/886/schools", ("886", "schools")),
        ("/partner/353/police", ("353", "police")),
        ("/partner/353/police/csv", ("353", "police")),
        ("/partner/886/<script>", ("886", "other")),
        ("/feed", (None, None)),
        ("/admin/users", (None, None)),
    ],
)
async def test_another_agency_council_or_roles_page_is_refused_and_audited(path: str, asked: Any) -> None:
    harness = two_councils_with_alerts()
    [(status, body)] = await get(harness, "police.kent", path)
    assert status == 403 and "Oldham" not in body and "<table" not in body
    (refused,) = harness.audit.refusals()
    assert (refused.user, refused.la_code, refused.agency, refused.status) == ("police.kent", "886", "police", 403)
    assert (refused.asked_la_code, refused.asked_agency) == asked
    assert "<script>" not in refused.model_dump_json()


async def test_other_roles_cannot_open_a_partner_portal() -> None:
    harness = two_councils_with_alerts()
    for username in ("dm.kent", "perf.kent", "admin.kent"):
        [(status, _)] = await get(harness, username, "/partner/886/police")
        assert status == 403
    assert [r.user for r in harness.audit.refusals()] == ["dm.kent", "perf.kent", "admin.kent"]
