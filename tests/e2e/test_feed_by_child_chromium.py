"""The live feed by child in headless Chromium: a child with three open alerts is one card with two "also open"
links, and a live alert for that child updates its card (moved to the top, counts updated) rather than adding one.

A real desk reads its alerts topic on the broker; alerts are produced straight to it (no worker needed).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import uuid
from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from bench.kafka_principals import principal_settings
from bench.processor.harness import delete_topics
from schemas.alerts import RaisedAlert, alert_id
from schemas.codes import Rule
from schemas.topics import ALERT_ACTIONS, ALERTS, AUDIT, EVENTS, IDENTITY
from services.alertdesk.settings import AlertDeskSettings
from services.kafka.topics import ensure_topics, plan_topic
from services.settings import Settings
from tests.e2e.desk_runner import DeskThread, chromium, sign_in
from tests.unit.alertdesk.desk_builders import PASSWORD, day, directory, make_contacts_alert, make_rereferral

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(240)]
BUSY, QUIET, NEW = (hashlib.sha256(name.encode()).hexdigest()[:32] for name in ("busy", "quiet", "new"))


def contacts(child_key: str, date: str) -> RaisedAlert:
    return make_contacts_alert(
        child_key=child_key, alert_id=alert_id(Rule.REPEATED_CONTACTS, "886", child_key, f"c-{date}"),
        contact_id=f"c-{child_key}-{date}", contact_date=day(date),
    )  # fmt: skip


@pytest.fixture
def desk(kafka_settings: Settings) -> Iterator[DeskThread]:
    suffix = f"bychild-{uuid.uuid4().hex[:10]}"
    chosen = (ALERTS, ALERT_ACTIONS, AUDIT, EVENTS, IDENTITY)
    specs = {spec: dataclasses.replace(spec, name=f"{spec.name}.{suffix}") for spec in chosen}
    asyncio.run(ensure_topics(kafka_settings, [plan_topic(s, kafka_settings) for s in specs.values()]))
    config = AlertDeskSettings(
        alerts_topic=specs[ALERTS].name, actions_topic=specs[ALERT_ACTIONS].name, audit_topic=specs[AUDIT].name,
        events_topic=specs[EVENTS].name, identity_topic=specs[IDENTITY].name, database_url="sqlite:///:memory:",
        history_after_days=100_000,  # the builders' alerts are dated 2024: keep them in the live feed
        totals_topic="",  # no partner portal here: the desk may only read the real totals topic, never create it
    )  # fmt: skip
    thread = DeskThread(kafka_settings, config, directory("dm.kent"), desk_kafka=principal_settings("desk")).start()
    try:
        yield thread
    finally:
        thread.stop()
        asyncio.run(delete_topics(kafka_settings, [s.name for s in specs.values()]))


def child_cards(driver: object, child_key: str) -> list[object]:
    return driver.find_elements(By.CSS_SELECTOR, f'article.card[data-child="{child_key}"]')  # type: ignore[attr-defined, no-any-return]  # a selenium driver


def test_a_child_with_three_alerts_is_one_card_and_a_live_alert_for_it_updates_that_card(desk: DeskThread) -> None:
    alerts = [
        make_rereferral(child_key=BUSY, referral_date="2024-03-10"), contacts(BUSY, "2024-03-12"),
        make_contacts_alert(child_key=QUIET), contacts(BUSY, "2024-03-31"),
    ]  # fmt: skip
    for alert in alerts:
        desk.produce_alert(alert)
    WebDriverWait(None, 30, poll_frequency=0.1).until(lambda _: {a.alert_id for a in alerts} <= desk.alert_ids())
    driver = chromium()
    try:
        sign_in(driver, desk.url, "dm.kent", PASSWORD)
        (card,) = child_cards(driver, BUSY)
        assert card.get_attribute("id") == f"alert-{alerts[3].alert_id}"  # type: ignore[attr-defined]  # an element
        links = card.find_elements(By.CSS_SELECTOR, ".also-open a")  # type: ignore[attr-defined]  # an element
        assert [link.get_attribute("href").rsplit("/", 1)[1] for link in links] == [
            alerts[1].alert_id, alerts[0].alert_id,
        ]  # fmt: skip
        assert "Also open for this child: 1 repeated contacts (12 Mar), 1 re-referral (10 Mar)" in card.text  # type: ignore[attr-defined]
        assert [c.get_attribute("data-child") for c in driver.find_elements(By.CSS_SELECTOR, "article.card")] == [
            BUSY, QUIET,
        ]  # fmt: skip
        assert driver.find_element(By.CSS_SELECTOR, ".count").text == "2 children shown of 2 with 4 open alerts"

        driver.execute_script("window.scrollTo(0, 0)")
        arriving = contacts(BUSY, "2024-04-02")
        desk.produce_alert(make_contacts_alert(child_key=NEW))  # a new child: a card of its own, on top
        desk.produce_alert(arriving)  # the busy child again: its one card moves above the new child's
        WebDriverWait(driver, 10, poll_frequency=0.05).until(
            expected_conditions.presence_of_element_located((By.ID, f"alert-{arriving.alert_id}"))
        )
        WebDriverWait(driver, 5).until(
            expected_conditions.text_to_be_present_in_element((By.CSS_SELECTOR, ".count"), "with 6 open alerts")
        )
        (card,) = child_cards(driver, BUSY)
        assert len(card.find_elements(By.CSS_SELECTOR, ".also-open a")) == 3  # type: ignore[attr-defined]
        order = [c.get_attribute("data-child") for c in driver.find_elements(By.CSS_SELECTOR, "article.card")]
        assert order == [BUSY, NEW, QUIET]
        assert driver.find_element(By.CSS_SELECTOR, ".count").text == "3 children shown of 3 with 6 open alerts"

        card.find_element(By.XPATH, ".//button[normalize-space()='Acknowledge']").click()  # type: ignore[attr-defined]
        WebDriverWait(driver, 5).until(
            expected_conditions.text_to_be_present_in_element(
                (By.CSS_SELECTOR, f"#alert-{arriving.alert_id} .status"), "Acknowledged"
            )
        )
        (card,) = child_cards(driver, BUSY)  # still the child's card: its other alerts stay listed under it
        assert len(card.find_elements(By.CSS_SELECTOR, ".also-open a")) == 3  # type: ignore[attr-defined]
        assert "sev-high" in card.get_attribute("class")  # type: ignore[attr-defined]  # the re-referral's severity

        card.find_element(By.CSS_SELECTOR, ".also-open a").click()  # type: ignore[attr-defined]  # the alert's own page
        WebDriverWait(driver, 10).until(
            expected_conditions.presence_of_element_located((By.ID, f"alert-{alerts[3].alert_id}"))
        )
        assert driver.find_elements(By.XPATH, "//button[normalize-space()='Acknowledge']")
    finally:
        driver.quit()
