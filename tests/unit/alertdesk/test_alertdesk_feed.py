"""The live feed: what a card shows, live updates over server-sent events, resuming, filters, and the four actions."""

from __future__ import annotations

import pytest

from schemas.codes import Severity
from services.alertdesk.settings import AlertDeskSettings
from tests.unit.alertdesk.desk_builders import (
    Harness,
    acknowledged,
    browser,
    csrf_token,
    make_contacts_alert,
    make_rereferral,
    read_events,
    withdrawn,
)

pytestmark = pytest.mark.timeout(30)


async def test_a_card_shows_rule_and_severity_as_words_and_icons_the_pseudonym_link_dates_and_enrichment() -> None:
    settings = AlertDeskSettings(case_record_url_template="https://lcs.example/child?p={child_key}&la={la_code}")
    harness = Harness(settings=settings)
    harness.fold(make_rereferral(child_key="child a/1", referral_date="2024-06-03"))
    async with browser(harness, "dm.kent") as client:
        page = await (await client.get("/feed")).text()
    assert "Re-referral within 12 months" in page
    assert '<span aria-hidden="true">▲</span> High' in page  # never colour alone
    assert 'href="/children/child%20a%2F1/case"' in page  # through the audited reveal (reveal.py)
    for text in ("03 Jun 2024", "01 Mar 2024", "RC8 NFA after assessment", "Family Support East"):
        assert text in page
    assert "<dt>Same concern as before</dt><dd>yes</dd>" in page
    assert "<dt>Contacts in 90 days</dt><dd>3</dd>" in page
    for button in ("Acknowledge", "Assign", "Add note", "Close"):
        assert f">{button}<" in page


async def test_every_value_from_a_topic_is_escaped_in_the_page() -> None:
    harness = Harness()
    harness.fold(make_rereferral(team="<script>alert(1)</script>"))
    async with browser(harness, "dm.kent") as client:
        page = await (await client.get("/feed")).text()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page


async def test_the_feed_filters_by_severity_rule_and_team() -> None:
    harness = Harness()
    harness.fold(make_rereferral(child_key="high-child"), make_contacts_alert(child_key="low-child"))
    async with browser(harness, "dm.kent") as client:
        high = await (await client.get("/feed?severity=high")).text()
        contacts = await (await client.get("/feed?rule=repeated_contacts")).text()
        mash = await (await client.get("/feed?team=MASH")).text()
        bad = await client.get("/feed?severity=urgent")
    assert "high-child" in high and "low-child" not in high
    assert "low-child" in contacts and "high-child" not in contacts
    assert "low-child" in mash and "high-child" not in mash
    assert bad.status == 400


async def test_a_new_alert_is_pushed_to_an_open_stream_with_a_resumable_id() -> None:
    harness = Harness()
    async with browser(harness, "dm.kent") as client, client.get("/feed/stream?after=e1-0") as stream:
        assert stream.headers["Content-Type"] == "text/event-stream"
        harness.fold(make_rereferral(child_key="arrived-live"))
        (event,) = await read_events(stream, 1, timeout_seconds=1.0)
    assert (event.event, event.id, event.data["visible"]) == ("card", "e1-1", True)
    assert "arrived-live" in event.data["html"]


async def test_a_stream_resumed_with_last_event_id_sends_only_what_changed_after_it() -> None:
    harness = Harness()
    first, second = make_rereferral(child_key="first"), make_rereferral(child_key="second")
    harness.fold(first, second, acknowledged(first))
    async with (
        browser(harness, "dm.kent") as client,
        client.get("/feed/stream", headers={"Last-Event-ID": "e1-2"}) as stream,
    ):
        (event,) = await read_events(stream, 1)
    assert (event.id, event.data["alert_id"]) == ("e1-3", first.alert_id)
    assert "Acknowledged by dm.kent" in event.data["html"]


async def test_a_stream_resumed_with_an_id_from_before_a_restart_gets_a_reset_and_a_full_snapshot() -> None:
    harness = Harness()
    harness.fold(make_rereferral(child_key="a"), make_rereferral(child_key="b"))
    async with (
        browser(harness, "dm.kent") as client,
        client.get("/feed/stream", headers={"Last-Event-ID": "oldepoch-99"}) as stream,
    ):
        events = await read_events(stream, 3)
    assert [e.event for e in events] == ["reset", "card", "card"]


async def test_a_withdrawn_alert_is_pushed_as_no_longer_visible_when_every_alert_is_shown() -> None:
    harness = Harness()
    alert = make_rereferral()
    harness.fold(alert)
    async with browser(harness, "dm.kent") as client, client.get("/feed/stream?every=1&after=e1-1") as stream:
        harness.fold(withdrawn(alert))
        (event,) = await read_events(stream, 1)
    assert event.data == {"alert_id": alert.alert_id, "visible": False}


async def test_a_stream_filtered_by_severity_hides_other_severities() -> None:
    harness = Harness()
    async with browser(harness, "dm.kent") as client, client.get("/feed/stream?severity=low&after=e1-0") as stream:
        harness.fold(make_rereferral(severity=Severity.HIGH), make_contacts_alert())
        events = await read_events(stream, 2)
    assert [e.data["visible"] for e in events] == [False, True]


async def test_the_stream_tells_the_page_when_the_session_has_expired() -> None:
    harness = Harness()
    async with browser(harness, "dm.kent") as client, client.get("/feed/stream?after=e1-0") as stream:
        harness.clock.advance(hours=9)
        harness.fold(make_rereferral())  # wakes the stream, which then finds the session over
        events = await read_events(stream, 1)
    assert events[-1].event == "expired"


async def test_acknowledge_publishes_an_action_and_returns_the_updated_card() -> None:
    harness = Harness()
    alert = make_rereferral()
    harness.fold(alert)
    async with browser(harness, "dm.kent") as client:
        token = await csrf_token(client)
        response = await client.post(
            f"/alerts/{alert.alert_id}/acknowledge", headers={"X-CSRF-Token": token, "Accept": "application/json"}
        )
        body = await response.json()
    (action,) = harness.published
    assert (action.type, action.actor, action.alert_id, action.la_code, action.at) == (
        "AlertAcknowledged",
        "dm.kent",
        alert.alert_id,
        "886",
        harness.clock.now,
    )
    assert "Acknowledged by dm.kent" in body["html"]
    assert harness.desk.state.get("886", alert.alert_id).status == "acknowledged"


async def test_assign_note_and_close_work_as_plain_form_posts_without_javascript() -> None:
    harness = Harness()
    alert = make_rereferral()
    harness.fold(alert)
    async with browser(harness, "tm.kent") as client:
        token = await csrf_token(client)
        base = f"/alerts/{alert.alert_id}"
        forms = [
            ("assign", {"assignee_kind": "worker", "assignee": "Sam Patel"}),
            ("note", {"text": "Spoke to the school nurse."}),
            ("close", {"outcome": "early_help"}),
        ]
        for action, form in forms:
            response = await client.post(f"{base}/{action}", data=form | {"csrf_token": token}, allow_redirects=False)
            assert (response.status, response.headers["Location"]) == (303, f"/feed#alert-{alert.alert_id}")
        again = await client.post(f"{base}/note", data={"text": "late", "csrf_token": token})
    assert [a.type for a in harness.published] == ["AlertAssigned", "AlertNoteAdded", "AlertClosed"]
    record = harness.desk.state.get("886", alert.alert_id)
    assert (record.assignee, record.notes[0].text, record.status) == (
        "Sam Patel",
        "Spoke to the school nurse.",
        "closed",
    )
    assert again.status == 409


@pytest.mark.parametrize(
    ("action", "form"),
    [("assign", {"assignee_kind": "boss", "assignee": "x"}), ("note", {"text": "  "}), ("close", {"outcome": "?"})],
)
async def test_an_invalid_action_form_is_refused_and_nothing_is_published(action: str, form: dict[str, str]) -> None:
    harness = Harness()
    alert = make_rereferral()
    harness.fold(alert)
    async with browser(harness, "dm.kent") as client:
        token = await csrf_token(client)
        response = await client.post(f"/alerts/{alert.alert_id}/{action}", data=form | {"csrf_token": token})
    assert response.status == 400
    assert harness.published == []


async def test_health_and_metrics_answer_without_sign_in_and_hold_counts_only() -> None:
    harness = Harness()
    harness.fold(make_rereferral(child_key="secret-child"))
    async with browser(harness) as client:
        health = await (await client.get("/healthz")).json()
        metrics = await (await client.get("/metrics")).text()
    assert health == {"status": "ok", "caught_up": True, "alerts": 1}
    assert 'frontdoor_alertdesk_open_alerts{la_code="886",severity="high"} 1.0' in metrics
    assert "secret-child" not in metrics
    assert harness.registry.get_sample_value("frontdoor_alertdesk_alert_messages_total", {"type": "RereferralDetected"})
