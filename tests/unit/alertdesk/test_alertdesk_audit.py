"""Every response that carries child-level data leaves an audit record: who, which alerts, when, and why."""

from __future__ import annotations

import pytest

from schemas.audit import ChildLevelDataViewed
from services.alertdesk.context import PURPOSES
from tests.unit.alertdesk.desk_builders import (
    NOW,
    Harness,
    browser,
    csrf_token,
    make_rereferral,
    make_two_referrals,
    read_events,
)

pytestmark = pytest.mark.timeout(30)


def kent_desk() -> tuple[Harness, str]:
    harness = Harness()
    alert = make_two_referrals(child_key="kent-child", referral_date="2024-06-04")
    harness.fold(alert, make_rereferral(la_code="353", child_key="oldham-child"))
    return harness, alert.alert_id


@pytest.mark.parametrize(
    ("path", "route"),
    [
        ("/feed", "feed"),
        ("/alerts/{id}", "alert"),
        ("/review/weekly?week=2024-W23", "weekly"),
        ("/review/weekly.csv?week=2024-W23", "weekly_csv"),
    ],
)
async def test_each_child_level_page_writes_one_audit_record_naming_the_user_the_alerts_and_the_purpose(
    path: str, route: str
) -> None:
    harness, alert_id = kent_desk()
    async with browser(harness, "dm.kent") as client:
        harness.audit.records.clear()  # signing in lands on the feed, which is itself audited
        response = await client.get(path.format(id=alert_id))
        assert response.status == 200
    assert harness.audit.records == [
        ChildLevelDataViewed(
            audit_id=harness.audit.records[0].audit_id,
            occurred_at=NOW,
            user="dm.kent",
            role="duty_manager",
            la_code="886",
            route=route,
            purpose=PURPOSES[route],
            alert_ids=(alert_id,),
        )
    ]


async def test_each_push_on_the_live_stream_is_audited_with_the_alerts_it_carried() -> None:
    harness, alert_id = kent_desk()
    async with browser(harness, "dm.kent") as client:
        harness.audit.records.clear()
        async with client.get("/feed/stream") as stream:
            await read_events(stream, 2)  # reset and the snapshot
            later = make_rereferral(child_key="kent-later")
            harness.fold(later)
            await read_events(stream, 1)
    stream_records = harness.audit.for_route("feed_stream")
    assert [r.alert_ids for r in stream_records] == [(alert_id,), (later.alert_id,)]


async def test_an_action_is_audited_because_its_answer_carries_the_updated_card() -> None:
    harness, alert_id = kent_desk()
    async with browser(harness, "dm.kent") as client:
        token = await csrf_token(client)
        await client.post(f"/alerts/{alert_id}/acknowledge", headers={"X-CSRF-Token": token})
    assert [r.alert_ids for r in harness.audit.for_route("action")] == [(alert_id,)]


async def test_refused_requests_write_only_an_access_refused_record_and_aggregate_pages_none() -> None:
    harness, _ = kent_desk()
    async with browser(harness, "perf.kent") as client:
        await client.get("/aggregates")
        await client.get("/aggregates.json")
        assert harness.audit.records == []
        await client.get("/feed")
    assert [(r.user, r.route, r.status) for r in harness.audit.refusals()] == [("perf.kent", "/feed", 403)]
    assert len(harness.audit.records) == 1
    async with browser(harness, "dm.kent") as client:
        harness.audit.records.clear()
        await client.get("/alerts/" + "0" * 32)
    assert [(r.user, r.route, r.status) for r in harness.audit.refusals()] == [("dm.kent", "/alerts/{alert_id}", 404)]
    assert len(harness.audit.records) == 1


async def test_when_the_audit_cannot_be_written_no_child_level_data_is_sent() -> None:
    harness, _ = kent_desk()

    class BrokenSink:
        async def record(self, entry: ChildLevelDataViewed) -> None:
            raise RuntimeError("audit topic unavailable")

    async with browser(harness, "dm.kent") as client:
        harness.context.audit = BrokenSink()
        response = await client.get("/feed")
        body = await response.text()
    assert response.status == 500
    assert "kent-child" not in body


async def test_the_audit_counter_counts_records_by_route() -> None:
    harness, _ = kent_desk()
    async with browser(harness, "dm.kent") as client:
        await client.get("/feed")
    assert harness.registry.get_sample_value("frontdoor_alertdesk_audit_records_total", {"route": "feed"}) == 2
