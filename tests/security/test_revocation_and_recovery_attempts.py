"""Issue 17, item 5 replayed: revocation without a restart, audit and actions that recover, bounded audit records."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from aiokafka.errors import KafkaError, OutOfOrderSequenceNumber

from schemas.audit import MAX_ALERT_IDS_PER_RECORD, AuditRecord, ChildLevelDataViewed
from schemas.codec import encode
from services.alertdesk.audit import MemoryAuditSink
from services.alertdesk.auth import add_user, load_users, make_user
from services.alertdesk.kafka import DeskPublisher
from services.alertdesk.revocation import UsersWatcher
from services.processor.cli_processor import alert_line
from tests.builders import CHILD_A
from tests.unit.alertdesk.desk_builders import (
    PASSWORD,
    USERS,
    Harness,
    browser,
    make_rereferral,
    read_events,
    sign_in,
    withdrawn,
)

pytestmark = pytest.mark.timeout(60)
KAFKA_MESSAGE_LIMIT = 1024 * 1024


def users_file(tmp_path: Path, *names: str) -> Path:
    path = tmp_path / "users.toml"
    for name in names:
        user = USERS[name]
        add_user(path, make_user(user.username, user.role, user.la_code, user.agency), PASSWORD)
    return path


async def test_a_removed_user_is_signed_out_at_once_and_cannot_sign_in_again(tmp_path: Path) -> None:
    path = users_file(tmp_path, "dm.kent", "tm.kent")
    harness = Harness(users=load_users(path))
    watcher = UsersWatcher(harness.context, path)
    async with browser(harness, "dm.kent") as client, client.get("/feed/stream?after=e1-0") as stream:
        path.unlink()
        users_file(tmp_path, "tm.kent")
        assert watcher.check() == 1
        events = await read_events(stream, 1)  # the open live feed ends now, not at its next heartbeat
        feed = await client.get("/feed", allow_redirects=False)
        again = await sign_in(client, "dm.kent")
    assert events[-1].event == "expired"
    assert feed.status in (303, 401) and again.status == 401


async def test_a_demoted_user_loses_child_level_access_at_once(tmp_path: Path) -> None:
    path = users_file(tmp_path, "dm.kent")
    harness = Harness(users=load_users(path))
    watcher = UsersWatcher(harness.context, path)
    async with browser(harness, "dm.kent") as client:
        add_user(path, make_user("dm.kent", "performance", "886"), PASSWORD)
        watcher.check()
        feed = await client.get("/feed", allow_redirects=False)
    assert feed.status in (303, 401)


async def test_a_users_file_broken_mid_edit_keeps_the_previous_users(tmp_path: Path) -> None:
    path = users_file(tmp_path, "dm.kent")
    harness = Harness(users=load_users(path))
    watcher = UsersWatcher(harness.context, path)
    path.write_text("[[users]\nbroken")
    assert watcher.check() == 0
    assert harness.context.users.authenticate("dm.kent", PASSWORD) is not None


@dataclasses.dataclass
class FakeProducer:
    fail_with: KafkaError | None = None
    sent: list[tuple[str, bytes]] = dataclasses.field(default_factory=list)
    stopped: bool = False

    async def send_and_wait(self, topic: str, value: bytes, key: bytes) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append((topic, value))

    async def stop(self) -> None:
        self.stopped = True


async def test_after_a_fatal_producer_error_audit_and_actions_go_through_a_new_producer() -> None:
    broken = FakeProducer(fail_with=OutOfOrderSequenceNumber())
    producers = [broken, FakeProducer(), FakeProducer()]
    made: list[FakeProducer] = []

    async def start() -> Any:
        made.append(producers[len(made)])
        return made[-1]

    publisher = DeskPublisher(start, "actions", "audit")
    entry = ChildLevelDataViewed(
        occurred_at=make_rereferral().occurred_at, user="dm.kent", role="duty_manager", la_code="886",
        route="alert", purpose="x", alert_ids=(make_rereferral().alert_id,),
    )  # fmt: skip
    await publisher.record(entry)
    await publisher.record(entry)
    assert broken.stopped and publisher.replaced_total == 1
    assert [topic for topic, _ in producers[1].sent] == ["audit", "audit"] and made == producers[:2]


class FailingAuditSink(MemoryAuditSink):
    failing: bool = True

    async def record(self, entry: AuditRecord) -> None:
        if self.failing:
            raise KafkaError("the broker refused the write")
        await MemoryAuditSink.record(self, entry)


async def test_healthz_fails_while_audit_writes_fail_and_recovers_after() -> None:
    sink = FailingAuditSink()
    sink.failing = False
    harness = Harness(audit=sink)
    harness.fold(make_rereferral(child_key=CHILD_A))
    async with browser(harness, "dm.kent") as client:
        sink.failing = True
        assert (await client.get("/healthz")).status == 200
        assert (await client.get("/feed")).status == 500  # nothing child-level leaves without its audit record
        health = await client.get("/healthz")
        body = await health.json()
        sink.failing = False
        assert (await client.get("/feed")).status == 200
        recovered = await client.get("/healthz")
    assert health.status == 503 and body["status"] == "failing" and body["audit"]["consecutive_failures"] == 1
    assert recovered.status == 200


@dataclasses.dataclass
class Viewed:
    alert_id: str


async def test_a_view_of_31000_alerts_is_audited_in_records_each_far_below_the_brokers_limit() -> None:
    harness = Harness()
    ids = [f"{i:032x}" for i in range(31_000)]
    await harness.context.audit_view(USERS["dm.kent"], "weekly_csv", [Viewed(i) for i in ids])  # type: ignore[misc]
    records = harness.audit.for_route("weekly_csv")
    assert [i for r in records for i in r.alert_ids] == ids
    assert all(len(r.alert_ids) <= MAX_ALERT_IDS_PER_RECORD for r in records)
    assert max(len(encode(r)) for r in records) < KAFKA_MESSAGE_LIMIT // 20
    assert {(r.part, r.parts) for r in records} == {(n, len(records)) for n in range(1, len(records) + 1)}


async def test_the_feed_shows_and_audits_one_page_not_the_whole_feed() -> None:
    harness = Harness()
    harness.fold(*[make_rereferral(child_key=f"{i:032x}") for i in range(450)])
    size = harness.context.settings.feed_page_size
    async with browser(harness, "dm.kent") as client:
        first = await client.get("/feed")
        html = await first.text()
        record = harness.audit.for_route("feed")[-1]  # signing in showed the first page too
        older = re.search(r'href="/feed\?older=(\d+)" rel="next"', html)
        assert older, "a keyset link to the next older page"
        second = await client.get(f"/feed?older={older[1]}")
        assert second.status == 200
    next_record = harness.audit.for_route("feed")[-1]
    assert first.status == 200 and len(record.alert_ids) == size and len(next_record.alert_ids) == size
    assert not set(record.alert_ids) & set(next_record.alert_ids), "each page audits the alerts it shows"
    assert '<span id="child-total">450</span> with <span id="alert-total">450</span> open alerts' in html


def test_alerts_tail_prints_no_child_key() -> None:
    alert = make_rereferral(child_key=CHILD_A)
    lines = [alert_line(alert), alert_line(withdrawn(alert))]
    assert all(CHILD_A[:8] not in line and "child=" not in line for line in lines)
    assert all(alert.alert_id[:12] in line for line in lines)
