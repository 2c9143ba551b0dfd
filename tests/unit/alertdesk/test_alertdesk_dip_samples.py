"""Dip samples at the desk: a head of service loads `frontdoor dip-sample` output and sees its children, audited."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from bench.processor.harness import simulated_feed
from schemas.audit import AuditRecord
from schemas.codec import encode
from schemas.events import InboundEvent
from services.alertdesk.database import Database
from services.alertdesk.dip_store import DipSampleFile, StoredSample, sample_of, samples_of, save_sample
from services.alertdesk.projection import Batch
from services.cli import main
from tests.unit.alertdesk.desk_builders import NOW, Harness, browser

pytestmark = pytest.mark.timeout(60)
LA_CODE, QUARTER, SEED = "886", "2024-Q3", 9


@dataclass(frozen=True)
class Drawn:
    events: list[InboundEvent]
    document: bytes  # the JSON file the command wrote

    @property
    def parsed(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.document)
        return parsed


@pytest.fixture(scope="module")
def drawn(tmp_path_factory: pytest.TempPathFactory) -> Drawn:
    """A simulated council's events and the sample the command drew from them."""
    directory = tmp_path_factory.mktemp("desk-dip-sample")
    feed = simulated_feed((LA_CODE,), annual_referrals=300, seed=5, years=1.0)
    events = directory / "events.jsonl"
    events.write_bytes(b"".join(encode(event) + b"\n" for event in feed))
    argv = ["dip-sample", "--la-code", LA_CODE, "--events", str(events), "--quarter", QUARTER, "--size", "12"]
    assert main([*argv, "--by", "closing-team", "--seed", str(SEED), "--out", str(directory), "--user", "a"]) == 0
    return Drawn(feed, (directory / f"dip-sample-{LA_CODE}-{QUARTER}-seed{SEED}.json").read_bytes())


def desk_with(events: list[InboundEvent]) -> Harness:
    harness = Harness()
    batch = Batch()
    for event in events:
        batch.add(event)
    harness.desk.fold_batch(batch)
    return harness


async def token(client: TestClient[Any, Any]) -> str:
    page = await client.get("/aggregates", headers={"Accept": "text/html"})  # every role has the totals page
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', await page.text())
    assert match
    return match[1]


async def upload(client: TestClient[Any, Any], body: bytes) -> aiohttp.ClientResponse:
    form = aiohttp.FormData()
    form.add_field("csrf_token", await token(client))
    form.add_field("sample", body, filename="sample.json", content_type="application/json")
    return await client.post("/dip-samples", data=form, allow_redirects=False)


async def test_a_head_of_service_loads_the_commands_sample_and_sees_each_child_linked_to_its_timeline(
    drawn: Drawn,
) -> None:
    harness = desk_with(drawn.events)
    rows = drawn.parsed["sample"]
    async with browser(harness, "hos.kent") as client:
        loaded = await upload(client, drawn.document)
        where = loaded.headers["Location"]
        page = await (await client.get(where)).text()
        listing = await (await client.get("/dip-samples")).text()
        timeline = await client.get(f"/children/{rows[0]['pseudonym']}")

    assert loaded.status == 303
    linked = re.findall(r'href="/children/([0-9a-f]+)"', page)
    assert linked == [r["pseudonym"] for r in rows]
    assert len(rows) == 12 < sum(drawn.parsed["population"].values())
    table = page[page.index('id="sample"') :]
    assert table.count("<td>yes</td></tr>") == len(rows)  # every re-referral is a referral line on the desk
    assert f'href="{where}"' in listing and timeline.status == 200
    (record,) = harness.audit.dip_samples()
    expected = ("hos.kent", LA_CODE, QUARTER, SEED, 12, 12)
    assert (record.user, record.la_code, record.quarter, record.seed, record.size, record.drawn) == expected
    assert record.allocation == drawn.parsed["allocation"] and where == f"/dip-samples/{record.sample_id}"
    assert not any(r["pseudonym"] in record.model_dump_json() for r in rows)
    (viewed,) = harness.audit.for_route("dip_sample")
    assert viewed.sample_id == record.sample_id and viewed.user == "hos.kent"


def _changed(document: dict[str, Any], **changes: Any) -> bytes:
    return json.dumps(document | changes).encode()


async def test_a_tampered_or_another_councils_sample_is_refused_and_neither_kept_nor_audited(drawn: Drawn) -> None:
    document = drawn.parsed
    allocation = dict(document["allocation"])
    biggest, smallest = max(allocation, key=allocation.get), min(allocation, key=allocation.get)  # type: ignore[arg-type]
    allocation[biggest], allocation[smallest] = allocation[biggest] - 1, allocation[smallest] + 1
    raw_id = [dict(document["sample"][0], pseudonym="886-0001234"), *document["sample"][1:]]
    oldham = [dict(r, la_code="353") for r in document["sample"]]
    harness = desk_with([])
    async with browser(harness, "hos.kent") as client:
        answers = [
            await upload(client, body)
            for body in (
                _changed(document, allocation=allocation),
                _changed(document, sample=raw_id),
                _changed(document, la_code="353", sample=oldham),
                b"not json",
            )
        ]
        texts = [await a.text() for a in answers]
        listing = await (await client.get("/dip-samples")).text()

    assert [a.status for a in answers] == [400, 400, 400, 400]
    assert "allocation" in texts[0] and "pseudonym" in texts[1] and "council 353" in texts[2]
    assert "No sample loaded yet" in listing
    assert harness.audit.dip_samples() == []


async def test_only_heads_of_service_load_or_see_samples_and_only_their_own_councils(drawn: Drawn) -> None:
    harness = desk_with([])
    async with browser(harness, "hos.kent") as client:
        where = (await upload(client, drawn.document)).headers["Location"]
        menu = await (await client.get("/feed", headers={"Accept": "text/html"})).text()
    assert 'href="/dip-samples"' in menu
    for name in ("dm.kent", "tm.kent", "perf.kent", "police.kent"):
        async with browser(harness, name) as client:
            statuses = [
                (await client.get("/dip-samples")).status,
                (await client.get(where)).status,
                (await upload(client, drawn.document)).status,
            ]
            menu = await (await client.get("/aggregates", headers={"Accept": "text/html"})).text()
        assert statuses == [403, 403, 403], name
        assert 'href="/dip-samples"' not in menu
    async with browser(harness, "hos.oldham") as oldham:
        assert (await oldham.get(where)).status == 404
    assert len(harness.audit.dip_samples()) == 1 and len(harness.audit.for_route("dip_sample")) == 0


async def test_a_sample_whose_audit_record_cannot_be_written_is_not_kept(drawn: Drawn) -> None:
    harness = desk_with([])

    class BrokenSink:
        async def record(self, entry: AuditRecord) -> None:
            raise RuntimeError("audit topic unavailable")

    async with browser(harness, "hos.kent") as client:
        harness.context.audit = BrokenSink()
        answer = await upload(client, drawn.document)

    assert answer.status == 500
    assert samples_of(harness.desk.state.db, LA_CODE) == []


def test_a_loaded_sample_survives_a_rebuild_of_the_projection(drawn: Drawn, tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'desk.db'}")
    db.create_schema()
    sample = DipSampleFile.model_validate_json(drawn.document)
    save_sample(db, StoredSample("s" * 32, LA_CODE, "hos.kent", NOW, sample))

    db.drop_schema()
    db.create_schema()

    kept = sample_of(db, LA_CODE, "s" * 32)
    assert kept is not None and kept.sample == sample and kept.loaded_at == NOW
    assert sample_of(db, "353", "s" * 32) is None
