"""The live feed by child: one card per child with links to its other alerts, the switch back to one card per
alert, the count line, the audit of every alert a card shows, live pushes of a child's whole card, an alert's page."""

from __future__ import annotations

import re

import pytest

from schemas.alerts import RaisedAlert, alert_id
from schemas.audit import ChildLevelDataViewed
from schemas.codes import Rule
from tests.unit.alertdesk.desk_builders import (
    Harness,
    browser,
    day,
    make_contacts_alert,
    make_rereferral,
    read_events,
    withdrawn,
)

pytestmark = pytest.mark.timeout(30)


def contacts(child_key: str, date: str) -> RaisedAlert:
    return make_contacts_alert(
        child_key=child_key, alert_id=alert_id(Rule.REPEATED_CONTACTS, "886", child_key, f"c-{date}"),
        contact_id=f"c-{child_key}-{date}", contact_date=day(date),
    )  # fmt: skip


def three_for_one_child() -> tuple[Harness, list[RaisedAlert]]:
    """Child "busy": a re-referral (10 Mar), two repeated contacts (12 and 31 Mar), then a newer re-referral."""
    harness = Harness()
    alerts: list[RaisedAlert] = [
        make_rereferral(child_key="busy", referral_date="2024-03-10"), contacts("busy", "2024-03-12"),
        contacts("busy", "2024-03-31"), make_contacts_alert(child_key="quiet"),
        make_rereferral(child_key="busy", referral_date="2024-04-02"),
    ]  # fmt: skip
    harness.fold(*alerts)
    return harness, alerts


def cards_in(page: str) -> list[str]:
    return re.findall(r'<article class="card[^"]*" id="alert-([0-9a-f]+)"', page)


async def test_the_feed_shows_one_card_per_child_with_its_other_open_alerts_linked_and_counts_children() -> None:
    harness, (first, contact_12, contact_31, quiet, newest) = three_for_one_child()
    async with browser(harness, "dm.kent") as client:
        page = await (await client.get("/feed")).text()
    assert cards_in(page) == [newest.alert_id, quiet.alert_id]
    also = re.search(r'<p class="also-open">(.*?)</p>', page)
    assert also is not None
    assert re.sub(r"<[^>]+>", "", also[1]) == (
        "Also open for this child: 2 repeated contacts (31 Mar, 12 Mar), 1 re-referral (10 Mar)"
    )
    for other in (contact_31, contact_12, first):
        assert f'href="/alerts/{other.alert_id}"' in also[1]
    count = re.search(r'<p class="count">.*?</p>', page)
    assert count is not None and re.sub(r"<[^>]+>", "", count[0]) == "2 children shown of 2 with 5 open alerts"


async def test_show_every_alert_gives_one_card_per_alert_and_the_switch_stays_in_the_live_link() -> None:
    harness, alerts = three_for_one_child()
    async with browser(harness, "dm.kent") as client:
        page = await (await client.get("/feed?every=1")).text()
    assert cards_in(page) == [a.alert_id for a in reversed(alerts)]  # alerts
    assert 'id="f-every" name="every" value="1" checked' in page and "every=1" in page.split('data-stream="')[1][:80]
    assert "also-open" not in page


async def test_the_pages_audit_record_lists_every_alert_shown_including_a_childs_other_alerts() -> None:
    harness, alerts = three_for_one_child()
    async with browser(harness, "dm.kent") as client:
        harness.audit.records.clear()
        await client.get("/feed")
    (record,) = harness.audit.records
    assert isinstance(record, ChildLevelDataViewed)
    assert (record.route, sorted(record.alert_ids)) == ("feed", sorted(a.alert_id for a in alerts))


async def test_a_new_alert_for_a_child_on_the_page_is_pushed_as_that_childs_whole_card() -> None:
    harness, _ = three_for_one_child()
    arriving = contacts("busy", "2024-04-03")
    async with browser(harness, "dm.kent") as client, client.get("/feed/stream?after=e1-5") as stream:
        harness.fold(arriving)
        (event,) = await read_events(stream, 1)
    assert (event.id, event.data["child"], event.data["alert_id"], event.data["alerts"]) == (
        "e1-6", "busy", arriving.alert_id, 5,
    )  # fmt: skip
    assert event.data["newest"] == 6 and 'data-child="busy"' in event.data["html"]
    assert "2 re-referrals (02 Apr, 10 Mar)" in re.sub(r"<[^>]+>", "", event.data["html"])


async def test_a_child_with_nothing_left_open_is_pushed_as_no_longer_visible() -> None:
    harness = Harness()
    alert = make_rereferral()
    harness.fold(alert)
    async with browser(harness, "dm.kent") as client, client.get("/feed/stream?after=e1-1") as stream:
        harness.fold(withdrawn(alert))
        (event,) = await read_events(stream, 1)
    assert event.data == {"child": alert.child_key, "visible": False}


async def test_an_alerts_own_page_shows_its_card_and_actions_to_a_browser_and_json_to_the_api() -> None:
    harness, (first, *_) = three_for_one_child()
    async with browser(harness, "dm.kent") as client:
        page = await (await client.get(f"/alerts/{first.alert_id}", headers={"Accept": "text/html"})).text()
        api = await (await client.get(f"/alerts/{first.alert_id}")).json()
    assert cards_in(page) == [first.alert_id] and ">Acknowledge<" in page
    assert 'href="/feed?child=busy&amp;show=all"' in page
    assert api["alert"]["alert_id"] == first.alert_id
