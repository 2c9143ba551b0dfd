"""The desk's live line in Chromium: while the stream is down it says so in red, and it turns back to live by itself."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.desk_runner import Chromium, chromium

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
STATIC = Path(__file__).parents[2] / "services" / "alertdesk" / "static"
# The desk's own markup for the live line and the feed (services/alertdesk/feed.py), and its real CSS and script.
PAGE = b"""<!doctype html><html><head><link rel="stylesheet" href="/static/desk.css"></head><body>
<p id="live-status" class="live" role="status" aria-live="polite">Connecting to the live feed...</p>
<section id="feed" data-stream="/stream" data-live="1"></section>
<script src="/static/desk.js"></script></body></html>"""
RED, GREEN = "rgba(164, 22, 26, 1)", "rgba(0, 112, 60, 1)"  # --high and --ok in desk.css


class Stream(BaseHTTPRequestHandler):
    """The page, the static files, and a server-sent event stream that holds while `up` is set."""

    up = threading.Event()

    def do_GET(self) -> None:
        if self.path == "/stream":
            self.stream()
        elif self.path.startswith("/static/"):
            self.reply(
                (STATIC / Path(self.path).name).read_bytes(),
                "text/css" if self.path.endswith("css") else "text/javascript",
            )
        else:
            self.reply(PAGE, "text/html")

    def reply(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def stream(self) -> None:
        if not self.up.is_set():  # the desk is unreachable: the connection closes before any answer
            self.close_connection = True
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        self.wfile.write(b"retry: 300\n\n: open\n\n")
        self.wfile.flush()
        while self.up.is_set():
            time.sleep(0.05)
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def desk_page() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Stream)
    server.daemon_threads = True
    Stream.up.set()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        Stream.up.set()  # let no held stream wait for ever
        server.shutdown()
        server.server_close()


def live_line(driver: Chromium) -> tuple[str, str, str]:
    line = driver.find_element(By.ID, "live-status")
    return line.text, line.get_attribute("class") or "", line.value_of_css_property("color")


def test_a_lost_connection_reads_as_lost_in_red_and_the_line_returns_to_live_in_green_when_the_desk_is_back(
    desk_page: str,
) -> None:
    driver = chromium()
    try:
        driver.get(desk_page)
        wait = WebDriverWait(driver, 10)
        wait.until(expected_conditions.text_to_be_present_in_element((By.ID, "live-status"), "Live"))
        text, classes, colour = live_line(driver)
        assert "lost" not in classes.split() and colour == GREEN

        Stream.up.clear()
        wait.until(expected_conditions.text_to_be_present_in_element((By.ID, "live-status"), "Connection lost"))
        text, classes, colour = live_line(driver)
        assert "New alerts will not appear" in text
        assert "lost" in classes.split() and colour == RED

        Stream.up.set()
        wait.until(expected_conditions.text_to_be_present_in_element((By.ID, "live-status"), "Live"))
        text, classes, colour = live_line(driver)
        assert "lost" not in classes.split() and colour == GREEN
    finally:
        driver.quit()
