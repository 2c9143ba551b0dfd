"""History apart from the live feed, bulk close, search by the council's child id, and the child's timeline."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from schemas.codes import ContactOutcome
from services.alertdesk.actions import AlertClosed, AlertOutcome
from services.alertdesk.projection import Batch
from services.ingest.identity import Pseudonymiser
from services.pseudonym_keys import PseudonymKey, PseudonymKeyring
from tests.builders import make_closure, make_contact, make_decision, make_referral
from tests.unit.alertdesk.desk_builders import Harness, browser, csrf_token, make_rereferral

pytestmark = pytest.mark.timeout(30)
SEEN = dt.datetime(2024, 6, 5, 9, 0, tzinfo=dt.UTC)  # when the alerts reached their topic
KEY = Pseudonymiser(b"unit test key, not a council's")
RAW_ID = "886-0001234"
CHILD = KEY.pseudonymise_child("886", RAW_ID).pseudonym


def with_history(harness: Harness) -> tuple[str, str]:
    """One alert about a referral of April (history on 5 June), one about this week's (live)."""
    harness.desk.history_after_days = 14
    old = make_rereferral(child_key="a" * 32, referral_date="2024-04-02")
    new = make_rereferral(child_key="b" * 32, referral_date="2024-06-03")
    harness.desk.fold_alert(old, SEEN)
    harness.desk.fold_alert(new, SEEN)
    return old.alert_id, new.alert_id


async def test_an_alert_about_a_record_older_than_the_setting_is_in_history_not_the_live_feed() -> None:
    harness = Harness()
    old, new = with_history(harness)
    async with browser(harness, "dm.kent") as client:
        feed = await (await client.get("/feed")).text()
        history = await (await client.get("/history")).text()
    assert f"alert-{new}" in feed and f"alert-{old}" not in feed
    assert f"alert-{old}" in history and f"alert-{new}" not in history
    assert harness.audit.for_route("history")[-1].alert_ids == (old,)


async def test_bulk_close_publishes_one_closure_per_open_history_alert_with_the_reason() -> None:
    harness = Harness()
    old, new = with_history(harness)
    async with browser(harness, "dm.kent") as client:
        token = await csrf_token(client)
        form = {"csrf_token": token, "filters": "", "outcome": "historical", "reason": "loaded from 2023 records"}
        done = await client.post("/history/close", data=form, allow_redirects=False)
    assert done.status == 303 and done.headers["Location"] == "/history?closed=1"
    (action,) = harness.published
    assert isinstance(action, AlertClosed) and action.alert_id == old
    assert (action.outcome, action.reason) == (AlertOutcome.HISTORICAL, "loaded from 2023 records")
    record = harness.desk.state.get("886", old)
    assert record is not None and record.status == "closed" and record.closed_reason == "loaded from 2023 records"
    live = harness.desk.state.get("886", new)
    assert live is not None and live.is_open
    assert harness.audit.for_route("bulk_close")[-1].alert_ids == (old,)


async def test_search_turns_the_council_child_id_into_its_pseudonym_and_never_puts_the_id_in_a_url() -> None:
    harness = Harness()
    harness.context.pseudonymiser = KEY
    harness.fold(make_rereferral(child_key=CHILD), make_rereferral(child_key="c" * 32))
    harness.desk.history_after_days = 14
    harness.desk.fold_alert(make_rereferral(child_key=CHILD, referral_date="2024-01-09"), SEEN)  # in History
    async with browser(harness, "dm.kent") as client:
        token = await csrf_token(client)
        found = await client.post("/search", data={"csrf_token": token, "la_child_id": RAW_ID}, allow_redirects=False)
        location = found.headers["Location"]
        page = await (await client.get(location)).text()
    assert found.status == 303 and RAW_ID not in location
    assert parse_qs(urlsplit(location).query)["child"] == [CHILD]
    assert len(re.findall(r'<article class="card', page)) == 2 and CHILD in page and RAW_ID not in page
    assert len(harness.audit.for_route("search")[-1].alert_ids) == 2, "the child's live and history alerts"


async def test_after_a_key_rotation_search_finds_the_child_under_the_councils_retired_key() -> None:
    old_key, new_key = PseudonymKey("886-2025a", b"kent key of 2025, a test"), PseudonymKey("886-2026a", b"kent 2026")
    rotated = Pseudonymiser(PseudonymKeyring({"886": (new_key, old_key)}))
    before = rotated.pseudonymise_child("886", RAW_ID, key_id="886-2025a").pseudonym
    harness = Harness()
    harness.context.pseudonymiser = rotated
    harness.fold(make_rereferral(child_key=before))  # raised before the rotation: only the old pseudonym has alerts
    async with browser(harness, "dm.kent") as client:
        token = await csrf_token(client)
        found = await client.post("/search", data={"csrf_token": token, "la_child_id": RAW_ID}, allow_redirects=False)

    assert parse_qs(urlsplit(found.headers["Location"]).query)["child"] == [before]
    assert before != rotated.pseudonymise_child("886", RAW_ID).pseudonym


async def test_a_plain_id_in_the_feeds_query_string_is_refused() -> None:
    harness = Harness()
    async with browser(harness, "dm.kent") as client:
        assert (await client.get(f"/feed?child={RAW_ID}")).status == 400


async def test_the_timeline_shows_events_alerts_and_actions_in_date_order_and_is_audited_with_the_child() -> None:
    harness = Harness()
    first = make_referral("2024-01-10", child_key=CHILD, team="North")
    batch = Batch()
    contact = make_contact("2024-05-30", child_key=CHILD)
    decided = make_decision(contact, ContactOutcome.EARLY_HELP)
    for event in (
        first,
        make_closure(first, "2024-03-01"),
        contact,
        decided,
        make_referral("2024-06-03", child_key=CHILD),
    ):
        batch.add(event)
    harness.desk.fold_batch(batch)
    alert = make_rereferral(child_key=CHILD, referral_date="2024-06-03")
    harness.fold(alert)
    async with browser(harness, "dm.kent") as client:
        page = await (await client.get(f"/children/{CHILD}")).text()
        elsewhere = await client.get(f"/children/{'d' * 32}")
        not_a_pseudonym = await client.get(f"/children/{RAW_ID}")
    timeline = page[page.index('id="timeline"') :]
    order = [timeline.index(text) for text in ("10 Jan 2024", "Episode closed", "03 Jun 2024", "Re-referral")]
    assert order == sorted(order)
    # codes are shown with the census schema's words for them
    assert "6: Police" in timeline and "RC7: Services ceased for any other reason" in timeline
    # the MASH's own decision codes are shown as words only
    assert "<b>Outcome</b> Early help<" in timeline and "early_help" not in timeline
    assert f'<div id="identity" data-child="{CHILD}"></div>' in page
    assert elsewhere.status == 404 and not_a_pseudonym.status == 404
    (record,) = harness.audit.for_route("timeline")
    assert record.child_key == CHILD and record.alert_ids == (alert.alert_id,)


async def test_another_council_sees_no_timeline_and_the_aggregate_roles_are_refused() -> None:
    harness = Harness()
    harness.fold(make_rereferral(child_key=CHILD))
    async with browser(harness, "dm.oldham") as oldham:
        assert (await oldham.get(f"/children/{CHILD}")).status == 404
    async with browser(harness, "perf.kent") as performance:
        assert (await performance.get(f"/children/{CHILD}")).status == 403
        assert (await performance.get("/history")).status == 403
