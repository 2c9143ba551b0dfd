"""`frontdoor dashboards verify` runs every panel query and recording rule, and fails on any empty answer."""

from __future__ import annotations

import argparse
import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from services.metrics import cli_dashboards, verify
from services.metrics.council_boards import boards_to_verify


class FakePrometheus(BaseHTTPRequestHandler):
    """Answers every query with one series, except queries containing `empty_for` (no series)."""

    empty_for = "never-matches"
    queries: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)["query"][0]
        FakePrometheus.queries.append(query)
        ranged = url.path.endswith("query_range")
        sample: dict[str, Any] = {"metric": {"la_code": "886"}}
        sample["values" if ranged else "value"] = [[1.0, "0.25"]] if ranged else [1.0, "0.25"]
        result = [] if self.empty_for in query else [sample]
        body = json.dumps(
            {"status": "success", "data": {"resultType": "matrix" if ranged else "vector", "result": result}}
        )
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def prometheus() -> Iterator[str]:
    FakePrometheus.queries = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakePrometheus)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        FakePrometheus.empty_for = "never-matches"


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="frontdoor")
    cli_dashboards.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["dashboards", *argv])
    result: int = args.handler(args)
    return result


def test_every_panel_query_of_the_councils_boards_and_every_rule_is_sent(prometheus: str) -> None:
    assert run("verify", "--prometheus", prometheus, "--la-code", "886") == 0

    boards = boards_to_verify("886", "police")
    assert [b["uid"] for b in boards] == [
        "frontdoor-886-mash-wall",
        "frontdoor-886-performance",
        "frontdoor-886-partner-police",
        "frontdoor-regional",
        "frontdoor-platform",
    ]
    panels = [t for b in boards for p in b["panels"] for t in p.get("targets", [])]
    assert len(FakePrometheus.queries) == len(panels) + len(verify.rule_checks())
    assert not [q for q in FakePrometheus.queries if "$" in q]
    assert any('la_code="886"' in q and 'source_group="police"' in q for q in FakePrometheus.queries)


def test_a_query_without_data_fails_the_run_and_is_named(prometheus: str, capsys: pytest.CaptureFixture[str]) -> None:
    FakePrometheus.empty_for = "frontdoor_contacts_awaiting_decision"

    assert run("verify", "--prometheus", prometheus, "--la-code", "886") == 1
    assert "EMPTY 886 (886): MASH wall / Decisions pending [A]" in capsys.readouterr().out
