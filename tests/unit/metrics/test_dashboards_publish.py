"""`frontdoor dashboards publish` pushes every board to Grafana's HTTP API (a fake Grafana on 127.0.0.1)."""

from __future__ import annotations

import argparse
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from services.metrics import cli_dashboards
from services.metrics.council_boards import council_boards, councils_served


@dataclass
class FakeGrafana:
    url: str
    folders: set[str] = field(default_factory=set)
    requests: list[tuple[str, str, str | None, Any]] = field(default_factory=list)  # method, path, auth, body

    def posts(self, path: str) -> list[Any]:
        return [body for method, p, _, body in self.requests if method == "POST" and p == path]


def _handler(fake: FakeGrafana) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            fake.requests.append(("GET", self.path, self.headers.get("Authorization"), None))
            uid = self.path.removeprefix("/api/folders/")
            if self.path.startswith("/api/folders/") and uid in fake.folders:
                self._answer(200, {"uid": uid, "title": "Front Door Monitor"})
            else:
                self._answer(404, {"message": "folder not found"})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            fake.requests.append(("POST", self.path, self.headers.get("Authorization"), body))
            if self.path == "/api/folders":
                fake.folders.add(body["uid"])
                self._answer(200, {"uid": body["uid"], "title": body["title"]})
            elif self.path == "/api/dashboards/db":
                uid = body["dashboard"]["uid"]
                self._answer(200, {"status": "success", "uid": uid, "url": f"/d/{uid}/x", "version": 3})
            else:
                self._answer(404, {"message": "not found"})

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@pytest.fixture
def grafana() -> Iterator[FakeGrafana]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    fake = FakeGrafana(url=f"http://127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = _handler(fake)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        thread.join(timeout=5)


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="frontdoor")
    cli_dashboards.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["dashboards", *argv])
    result: int = args.handler(args)
    return result


def test_publish_creates_a_folder_per_council_and_posts_each_councils_boards_into_its_own_folder(
    grafana: FakeGrafana, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FRONTDOOR_GRAFANA_TOKEN", "glsa_test_token")
    councils = councils_served()

    assert run("publish", "--url", grafana.url) == 0

    folders = grafana.posts("/api/folders")
    assert [f["uid"] for f in folders] == [f"frontdoor-{c.la_code}" for c in councils] + [
        "frontdoor-regional",
        "frontdoor-platform",
    ]
    assert {"title": "Kent (886)", "uid": "frontdoor-886"} in folders
    posted = grafana.posts("/api/dashboards/db")
    for council in councils:
        own = [p for p in posted if p["folderUid"] == f"frontdoor-{council.la_code}"]
        assert [p["dashboard"]["uid"] for p in own] == [b["uid"] for b in council_boards(council)]
    assert all(p["overwrite"] is True for p in posted)
    assert all(p["dashboard"]["id"] is None for p in posted)  # Grafana matches on uid, never on a stale id
    assert {auth for _, _, auth, _ in grafana.requests} == {"Bearer glsa_test_token"}
    assert "published frontdoor-886-performance" in capsys.readouterr().out


def test_publishing_again_overwrites_without_creating_the_folder_twice(
    grafana: FakeGrafana, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FRONTDOOR_GRAFANA_TOKEN", raising=False)
    assert run("publish", "--url", grafana.url) == 0
    created = len(grafana.posts("/api/folders"))
    assert run("publish", "--url", grafana.url) == 0

    assert len(grafana.posts("/api/folders")) == created
    boards = sum(len(council_boards(c)) for c in councils_served()) + 2  # and the regional and platform boards
    assert len(grafana.posts("/api/dashboards/db")) == 2 * boards


def test_generate_check_passes_on_the_committed_files() -> None:
    assert run("generate", "--check") == 0
