"""End to end in headless Chromium: history kept apart from the live feed, closed in bulk, and a child's timeline.

The real `frontdoor worker` raises alerts from inbound events; the desk (history_after_days=14) projects them.
Alerts about last year's referrals go to History; a referral from yesterday reaches an open feed within 2 seconds.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from schemas.events import InboundEvent
from services.settings import Settings
from tests.builders import make_closure, make_contact, make_referral
from tests.e2e.desk_runner import chromium, sign_in
from tests.e2e.pipeline import Pipeline, live_pipeline
from tests.e2e.test_alertdesk_chromium import child, raised, raised_by
from tests.unit.alertdesk.desk_builders import PASSWORD, directory

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(300)]
DOCS = Path(__file__).parents[2] / "docs"
OLD_CHILD, LIVE_CHILD = "886-0000201", "886-0000202"


def last_years_records() -> list[InboundEvent]:
    """Referred in January and again in May 2024: a re-referral and two referrals in six months, both old news."""
    first = make_referral("2024-01-10", child_key=child(OLD_CHILD), team="Assessment Team North")
    return [
        make_contact("2024-01-08", child_key=child(OLD_CHILD)),
        first,
        make_closure(first, "2024-03-01", closing_team="Assessment Team North"),
        make_referral("2024-05-10", child_key=child(OLD_CHILD), team="Assessment Team North"),
    ]


def recent_first_referral(today: dt.date) -> InboundEvent:
    return make_referral(today - dt.timedelta(days=60), child_key=child(LIVE_CHILD), team="MASH East")


def referred_again_yesterday(today: dt.date) -> InboundEvent:
    return make_referral(today - dt.timedelta(days=1), child_key=child(LIVE_CHILD), team="MASH East")


@pytest.fixture
def pipeline(kafka_settings: Settings, tmp_path: Path) -> Iterator[Pipeline]:
    with live_pipeline(
        kafka_settings, tmp_path, directory("dm.kent"), "e2e-history", timeline=True, history_after_days=14
    ) as running:
        yield running


def shot(driver: object, name: str, tmp_path: Path) -> None:
    """Refresh the committed docs/ screenshot only when asked, so a test run leaves the checkout clean."""
    path = DOCS / name if os.environ.get("FRONTDOOR_UPDATE_SCREENSHOT") == "1" else tmp_path / name
    driver.execute_script("window.scrollTo(0, 0)")  # type: ignore[attr-defined]  # a selenium driver
    driver.save_screenshot(str(path))  # type: ignore[attr-defined]  # a selenium driver
    assert path.stat().st_size > 10_000


def test_history_stays_out_of_the_live_feed_closes_in_bulk_and_a_new_alert_appears_live_within_two_seconds(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    today = dt.datetime.now(dt.UTC).date()
    history = [*last_years_records(), recent_first_referral(today)]
    pipeline.produce_events(*history)
    old_alerts = raised(history)
    assert len(old_alerts) == 2 and {m.child_key for m in old_alerts} == {child(OLD_CHILD)}
    pipeline.wait_for_alerts(m.alert_id for m in old_alerts)
    again = referred_again_yesterday(today)
    (live_alert,) = [m for m in raised_by(history, [again]) if m.rule.value == "rereferral"]

    driver = chromium()
    try:
        sign_in(driver, pipeline.desk.url, "dm.kent", PASSWORD)
        # One card per alert (the feed's "Show every alert" switch): the child's two live alerts, two cards.
        driver.get(f"{pipeline.desk.url}/feed?every=1")
        live_line = (By.ID, "live-status")
        WebDriverWait(driver, 10).until(expected_conditions.text_to_be_present_in_element(live_line, "Live"))
        assert not any(driver.find_elements(By.ID, f"alert-{m.alert_id}") for m in old_alerts), "history is apart"

        produced = time.monotonic()
        pipeline.produce_events(again)  # through the worker, the alerts topic and the desk, onto the open page
        WebDriverWait(driver, 10, poll_frequency=0.02).until(
            expected_conditions.presence_of_element_located((By.ID, f"alert-{live_alert.alert_id}"))
        )
        arrived_seconds = time.monotonic() - produced
        assert arrived_seconds < 2.0, f"the new alert took {arrived_seconds:.2f} s to appear"
        # the re-referral and two referrals in six months: the count follows the cards that arrive
        WebDriverWait(driver, 5).until(expected_conditions.text_to_be_present_in_element((By.ID, "alert-total"), "2"))
        live_card = driver.find_element(By.ID, f"alert-{live_alert.alert_id}")
        live_card.find_element(By.XPATH, ".//button[normalize-space()='Add note']").click()  # copied in on demand
        live_card.find_element(By.CSS_SELECTOR, "textarea[name=text]").send_keys("Called the school")
        live_card.find_element(By.XPATH, ".//button[normalize-space()='Save note']").click()
        WebDriverWait(driver, 5).until(
            expected_conditions.text_to_be_present_in_element(
                (By.ID, f"alert-{live_alert.alert_id}"), "Called the school"
            )
        )
        shot(driver, "alertdesk-feed.png", tmp_path)

        driver.get(f"{pipeline.desk.url}/history")
        assert all(driver.find_elements(By.ID, f"alert-{m.alert_id}") for m in old_alerts)
        assert not driver.find_elements(By.ID, f"alert-{live_alert.alert_id}")
        driver.find_element(By.ID, "bulk-reason").send_keys("Raised while loading 2024 records; reviewed at MASH")
        shot(driver, "alertdesk-history.png", tmp_path)
        driver.find_element(By.ID, "bulk-close").click()
        WebDriverWait(driver, 10).until(expected_conditions.presence_of_element_located((By.ID, "closed-count")))
        assert driver.find_element(By.ID, "closed-count").text == "Closed 2 alerts."
        assert not any(driver.find_elements(By.ID, f"alert-{m.alert_id}") for m in old_alerts)
        driver.get(f"{pipeline.desk.url}/history?show=closed")
        closed_cards = [driver.find_element(By.ID, f"alert-{m.alert_id}").text for m in old_alerts]
        assert all("reviewed at MASH" in text for text in closed_cards), "each alert was closed with the reason"

        driver.get(f"{pipeline.desk.url}/children/{child(OLD_CHILD)}")
        timeline = driver.find_element(By.ID, "timeline").text
        assert timeline.index("Contact received") < timeline.index("Referral") < timeline.index("Episode closed")
        assert "Re-referral within 12 months" in timeline and "reviewed at MASH" in timeline
        assert driver.find_element(By.ID, "identity").get_attribute("data-child") == child(OLD_CHILD)
        assert OLD_CHILD not in driver.page_source
        shot(driver, "alertdesk-timeline.png", tmp_path)
    finally:
        driver.quit()
    assert pipeline.dead_letters() == [], "every event was admitted"
