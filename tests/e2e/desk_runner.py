"""For the browser tests and the latency script: a real desk in a background thread, headless Chromium, and a feed.

Selenium blocks, so the desk (aiohttp + aiokafka) runs on its own event loop in a thread, and Kafka work from
the test is handed to that loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import shutil
import tempfile
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiokafka import AIOKafkaProducer
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from schemas.alerts import RaisedAlert
from schemas.codec import encode
from schemas.events import InboundEvent
from schemas.totals import CouncilMonthTotals
from services.alertdesk.auth import UserDirectory
from services.alertdesk.service import RunningDesk, run_desk
from services.alertdesk.settings import AlertDeskSettings
from services.kafka.clients import producer_kwargs
from services.settings import Settings

T = TypeVar("T")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@dataclass
class DeskThread:
    """`frontdoor alertdesk serve`, in-process: start() returns once the desk has rebuilt its state."""

    settings: Settings  # the test's own producer (events or alerts sent to the desk)
    desk_settings: AlertDeskSettings
    users: UserDirectory
    desk_kafka: Settings | None = None  # the desk's Kafka connection (its own principal); None: `settings`
    running: RunningDesk | None = None
    producer: AIOKafkaProducer | None = None
    _loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    _thread: threading.Thread | None = None
    _stop: asyncio.Event | None = None

    def start(self, timeout_seconds: float = 60.0) -> DeskThread:
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._loop.run_forever, name="alertdesk-e2e", daemon=True)
        self._thread.start()
        self._main = asyncio.run_coroutine_threadsafe(self._serve(ready), self._loop)
        ready.result(timeout=timeout_seconds)
        return self

    async def _serve(self, ready: concurrent.futures.Future[None]) -> None:
        self._stop = asyncio.Event()
        try:
            desk_kafka = self.desk_kafka or self.settings
            async with run_desk(desk_kafka, self.desk_settings, "127.0.0.1", 0, self.users) as running:
                self.running = running
                self.producer = AIOKafkaProducer(**producer_kwargs(self.settings))
                await self.producer.start()
                async with asyncio.timeout(30):
                    while not running.desk.caught_up:
                        await asyncio.sleep(0.05)
                ready.set_result(None)
                await self._stop.wait()
                await self.producer.stop()
        except BaseException as error:
            if not ready.done():
                ready.set_exception(error)
            raise

    def call(self, coroutine: Coroutine[Any, Any, T], timeout_seconds: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=timeout_seconds)

    @property
    def url(self) -> str:
        assert self.running is not None
        return self.running.url

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._main.result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def alert_ids(self) -> set[str]:
        """The alerts the desk holds now, read on the desk's own loop."""

        async def read() -> set[str]:
            assert self.running is not None
            return {row[0] for row in self.running.desk.state.db.query("SELECT alert_id FROM desk_alerts")}

        return self.call(read())

    # How messages reach the desk: straight to its alerts topic (the desk on its own, for the latency
    # baseline), or as inbound events to a worker's events topic (tests.e2e.pipeline: the live path).

    def produce_alert(self, alert: RaisedAlert) -> None:
        assert self.producer is not None
        topic = self.desk_settings.alerts_topic
        self.call(self.producer.send_and_wait(topic, encode(alert), key=alert.child_key.encode()))

    def produce_events(self, *events: InboundEvent, topic: str) -> None:
        assert self.producer is not None
        for event in events:
            self.call(self.producer.send_and_wait(topic, encode(event), key=event.la_code.encode()))

    def produce_totals(self, *snapshots: CouncilMonthTotals) -> None:
        """Council-month snapshots to the desk's totals topic, as the worker that holds the council writes them."""
        assert self.producer is not None
        for snapshot in snapshots:
            topic = self.desk_settings.totals_topic
            self.call(self.producer.send_and_wait(topic, encode(snapshot), key=snapshot.key.encode()))


class Chromium(webdriver.Chrome):
    """A Chrome driver whose quit() also deletes the throwaway profile directory it was started with."""

    profile: str

    def quit(self) -> None:
        try:
            super().quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)


def chromium(width: int = 1440, height: int = 1000) -> Chromium:
    """Debian's headless Chromium through Debian's chromedriver, with a fresh profile and no outside traffic.

    The profile is a new temporary directory, deleted by quit() (about 2 MB per browser otherwise left in /tmp).
    """
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="alertdesk-chromium-")
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
    ):
        options.add_argument(argument)
    os.environ.setdefault("SE_AVOID_STATS", "true")
    try:
        driver = Chromium(options=options, service=Service(executable_path=CHROMEDRIVER))
    except BaseException:
        shutil.rmtree(profile, ignore_errors=True)
        raise
    driver.profile = profile
    driver.set_page_load_timeout(20)
    return driver


def sign_in(driver: webdriver.Chrome, base_url: str, username: str, password: str) -> None:
    driver.get(f"{base_url}/login")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(driver, 10).until(expected_conditions.presence_of_element_located((By.ID, "feed")))
    WebDriverWait(driver, 10).until(expected_conditions.text_to_be_present_in_element((By.ID, "live-status"), "Live"))
