"""Issue 18 in headless Chromium: a police user of Kent sees Kent's police figures only, live and suppressed.

A real desk reads its events, alerts and council totals topics on the broker. The totals are the council-month
snapshots the worker's own code publishes for the events (tests.worker_totals; the worker through Kafka is in
tests/integration/test_processor_series_live_equals_report.py). Another agency's or council's URL gives 403 and
leaves an AccessRefused record on the audit topic.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from bench.kafka_principals import principal_settings
from bench.processor.harness import delete_topics, read_topic
from schemas.audit import AccessRefused
from schemas.codes import ReferralSource
from schemas.topics import ALERT_ACTIONS, ALERTS, AUDIT, COUNCIL_TOTALS, EVENTS, IDENTITY
from services.alertdesk.settings import AlertDeskSettings
from services.alertdesk.totals import council_totals
from services.kafka.topics import ensure_topics, plan_topic
from services.reports.suppression import SUPPRESSED
from services.settings import Settings
from tests.builders import pseudonym
from tests.e2e.desk_runner import DeskThread, chromium
from tests.unit.alertdesk.desk_builders import PASSWORD, directory, make_contacts_alert
from tests.unit.alertdesk.test_partner_portal import journeys
from tests.worker_totals import WorkerTotals

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(240)]


@pytest.fixture
def desk(kafka_settings: Settings) -> Iterator[DeskThread]:
    suffix = f"partner-{uuid.uuid4().hex[:10]}"
    chosen = (ALERTS, ALERT_ACTIONS, AUDIT, EVENTS, IDENTITY, COUNCIL_TOTALS)
    specs = {spec: dataclasses.replace(spec, name=f"{spec.name}.{suffix}") for spec in chosen}
    asyncio.run(ensure_topics(kafka_settings, [plan_topic(s, kafka_settings) for s in specs.values()]))
    config = AlertDeskSettings(
        alerts_topic=specs[ALERTS].name, actions_topic=specs[ALERT_ACTIONS].name, audit_topic=specs[AUDIT].name,
        events_topic=specs[EVENTS].name, identity_topic=specs[IDENTITY].name, database_url="sqlite:///:memory:",
        totals_topic=specs[COUNCIL_TOTALS].name, history_after_days=100_000,
    )  # fmt: skip
    users = directory("police.kent", "police.oldham")
    thread = DeskThread(kafka_settings, config, users, desk_kafka=principal_settings("desk")).start()
    try:
        yield thread
    finally:
        thread.stop()
        asyncio.run(delete_topics(kafka_settings, [s.name for s in specs.values()]))


def table(driver: Any) -> dict[str, list[str]]:
    """The portal table as month -> cells (the total row under "Total")."""
    rows = driver.find_elements(By.CSS_SELECTOR, "#portal-table tbody tr, #portal-table tfoot tr")
    return {
        row.find_element(By.TAG_NAME, "th").text: [td.text for td in row.find_elements(By.TAG_NAME, "td")][:8]
        for row in rows
    }


def police_contacts(desk: DeskThread, month: str) -> int:
    async def read() -> int:
        assert desk.running is not None
        return council_totals(desk.running.desk.state.db, "886")[(month, "contacts", "police")]

    return desk.call(read())


def wait_for(desk: DeskThread, month: str, contacts: int, timeout_seconds: float = 30.0) -> None:
    """Until the desk holds the worker's snapshot of `month` with Kent's `contacts` police contacts."""
    deadline = time.monotonic() + timeout_seconds
    while police_contacts(desk, month) != contacts:
        assert time.monotonic() < deadline, f"the desk never projected {month}"
        time.sleep(0.2)


def test_a_police_user_of_kent_sees_kents_police_figures_only_with_c_for_small_numbers_and_tampering_is_refused(
    desk: DeskThread, kafka_settings: Settings
) -> None:
    events = [
        *journeys("886", "2024-05", 30, ReferralSource.POLICE, referred=12, in_need=9),
        *journeys("886", "2024-06", 25, ReferralSource.POLICE, referred=3, in_need=1),
        *journeys("886", "2024-05", 50, ReferralSource.SCHOOLS, referred=20, in_need=9),
        *journeys("353", "2024-05", 70, ReferralSource.POLICE, referred=33, in_need=20),
    ]
    worker = WorkerTotals()
    desk.produce_events(*events, topic=desk.desk_settings.events_topic)
    desk.produce_totals(*worker.run(events))
    for n in range(6):
        contact_date = dt.date(2024, 5, 3)
        desk.produce_alert(
            make_contacts_alert(child_key=pseudonym(f"kent-{n}"), source_group="police", contact_date=contact_date)
        )
    wait_for(desk, "2024-06", 25)

    driver = chromium()
    try:
        driver.get(f"{desk.url}/login")
        driver.find_element(By.ID, "username").send_keys("police.kent")
        driver.find_element(By.ID, "password").send_keys(PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        WebDriverWait(driver, 15).until(expected_conditions.presence_of_element_located((By.ID, "portal-table")))
        assert driver.current_url.endswith("/partner/886/police")
        cells = table(driver)
        assert list(cells) == ["2024-05", "2024-06", "Total"]
        may, june, total = cells["2024-05"], cells["2024-06"], cells["Total"]
        assert may[0] == "30" and june[0] == "25" and may[6] == "6"  # Kent's police contacts, and their alerts
        assert june[1] == SUPPRESSED and "70" not in may  # 3 referred: "c"; Oldham's 70 police contacts: absent
        for column in range(8):  # no total gives away a lone "c"
            hidden = [may[column], june[column]].count(SUPPRESSED)
            assert hidden != 1 or total[column] == SUPPRESSED
        assert driver.find_elements(By.CSS_SELECTOR, "svg.chart")

        # Live: a new month of contacts appears on the next load, without a restart.
        july = journeys("886", "2024-07", 20, ReferralSource.POLICE, referred=10, in_need=5)
        desk.produce_events(*july, topic=desk.desk_settings.events_topic)
        desk.produce_totals(*worker.run(july))
        wait_for(desk, "2024-07", 20)
        driver.refresh()
        assert table(driver)["2024-07"][0] == "20"

        for path in ("/partner/886/schools", "/partner/353/police"):
            driver.get(f"{desk.url}{path}")
            assert "you may see your own agency in your own council only" in driver.page_source
            assert "<table" not in driver.page_source
    finally:
        driver.quit()

    deadline = time.monotonic() + 20
    refused: list[AccessRefused] = []
    while len(refused) < 2 and time.monotonic() < deadline:
        records = asyncio.run(read_topic(kafka_settings, desk.desk_settings.audit_topic))
        refused = [AccessRefused.model_validate_json(r.value) for r in records if b'"AccessRefused"' in r.value]
    assert [(r.user, r.status, r.asked_la_code, r.asked_agency) for r in refused] == [
        ("police.kent", 403, "886", "schools"),
        ("police.kent", 403, "353", "police"),
    ]
