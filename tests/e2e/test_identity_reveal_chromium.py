"""Headless Chromium: the identity placeholder becomes a Reveal button that shows the child's council id, audited.

The desk runs in-process (memory sinks, no broker) on its own thread; a page for the test renders a real card
with the placeholder the feed and timeline carry, under the desk's real CSP and scripts.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import os
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from schemas.codec import encode
from services.alertdesk.app import create_app
from services.alertdesk.context import session_of
from services.alertdesk.pages import card, e, shell
from services.alertdesk.service import serve_app
from services.alertdesk.settings import AlertDeskSettings
from services.alertdesk.state import DeskState
from services.identity.sealing import Keyring
from services.identity.vault import IdentityVault
from services.ingest.identity import Pseudonymiser
from tests.e2e.desk_runner import chromium, sign_in
from tests.unit.alertdesk.desk_builders import PASSWORD, Harness, make_rereferral

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
DOCS_SCREENSHOT = Path(__file__).parents[2] / "docs" / "alertdesk-reveal.png"
CHILD_ID = "KENT-0004711"
CHILD = Pseudonymiser(secrets.token_bytes(32)).pseudonymise_child("886", CHILD_ID).pseudonym


def desk_harness() -> Harness:
    harness = Harness(
        settings=AlertDeskSettings(cookie_secure=False, case_record_url_template="https://lcs/{la_child_id}")
    )
    ring = Keyring(secrets.token_bytes(32))
    harness.context.identity = IdentityVault(ring)
    harness.context.identity.fold(CHILD.encode(), encode(ring.seal("886", CHILD, CHILD_ID, dt.datetime.now(dt.UTC))))
    return harness


async def card_with_placeholder(request: web.Request) -> web.StreamResponse:
    """One alert card with the identity placeholder the feed and timeline put on each card."""
    harness: Harness = request.app[HARNESS]
    session = session_of(request)
    record = DeskState().apply_alert(make_rereferral(child_key=CHILD))  # the pure fold, whatever the desk stores
    assert record is not None
    html = card(record, csrf=session.csrf_token, case_url_template=harness.settings.case_record_url_template)
    if "data-child=" not in html:  # cards that do not carry the placeholder yet get it where the feed puts it
        html = html.replace("</p>", f'</p><div class="identity" data-child="{e(CHILD)}"></div>', 1)
    body = f'<h1>An alert</h1><div id="card" class="cards">{html}</div>'
    return web.Response(text=shell("Card", body, user=session.user, csrf=session.csrf_token), content_type="text/html")


HARNESS = web.AppKey("harness", Harness)


@pytest.fixture
def desk_url() -> Iterator[tuple[str, Harness]]:
    harness = desk_harness()
    app = create_app(harness.context)
    app[HARNESS] = harness
    app.router.add_get("/test/card", card_with_placeholder)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="alertdesk-reveal-e2e", daemon=True)
    thread.start()
    ready: concurrent.futures.Future[int] = concurrent.futures.Future()
    stop = asyncio.Event()

    async def serve() -> None:
        async with serve_app(app, harness.settings, "127.0.0.1", 0) as port:
            ready.set_result(port)
            await stop.wait()

    served = asyncio.run_coroutine_threadsafe(serve(), loop)
    try:
        yield f"http://127.0.0.1:{ready.result(timeout=30)}", harness
    finally:
        loop.call_soon_threadsafe(stop.set)
        served.result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)


def test_a_duty_manager_reveals_a_childs_council_id_on_a_card_and_the_reveal_is_audited(
    desk_url: tuple[str, Harness], tmp_path: Path
) -> None:
    url, harness = desk_url
    driver = chromium(width=1100, height=700)
    try:
        sign_in(driver, url, "dm.kent", PASSWORD)
        driver.get(f"{url}/test/card")
        button = WebDriverWait(driver, 10).until(
            expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, ".identity button.reveal"))
        )
        assert CHILD_ID not in driver.page_source, "the id is not in the page until someone asks for it"
        assert harness.audit.reveals() == []
        button.click()
        WebDriverWait(driver, 10).until(
            expected_conditions.text_to_be_present_in_element((By.CSS_SELECTOR, ".identity-value"), CHILD_ID)
        )
        assert driver.find_element(By.CSS_SELECTOR, ".identity-value").text == f"LA child id: {CHILD_ID}"
        (record,) = harness.audit.reveals()
        assert (record.user, record.route, record.child_key) == ("dm.kent", "reveal", CHILD)
        errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        assert not errors, f"no CSP or script errors: {errors}"
        shot = DOCS_SCREENSHOT if os.environ.get("FRONTDOOR_UPDATE_SCREENSHOT") == "1" else tmp_path / "reveal.png"
        driver.find_element(By.CSS_SELECTOR, "article.card").screenshot(str(shot))
        assert shot.stat().st_size > 5_000
    finally:
        driver.quit()
