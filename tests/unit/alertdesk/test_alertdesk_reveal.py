"""Revealing a child's council id: only to that council's staff who open case records, and every reveal audited."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
import secrets
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from schemas.audit import AuditRecord, ChildIdentityRevealed
from schemas.codec import encode
from services.alertdesk.audit import MemoryAuditSink
from services.alertdesk.auth import LocalUser, User, UserDirectory, hash_password
from services.alertdesk.reveal_budget import RevealBudget
from services.alertdesk.settings import AlertDeskSettings
from services.identity.sealing import Keyring
from services.identity.vault import IdentityVault
from services.ingest.identity import Pseudonymiser
from tests.unit.alertdesk.desk_builders import PASSWORD, Harness, browser, make_rereferral

pytestmark = pytest.mark.timeout(30)
NOW = dt.datetime(2024, 6, 5, 9, 30, tzinfo=dt.UTC)
PSEUDONYMS = Pseudonymiser(secrets.token_bytes(32))
KENT_CHILD_ID, OLDHAM_CHILD_ID = "KENT-0004711", "OLDHAM-0000815"
KENT_CHILD = PSEUDONYMS.pseudonymise_child("886", KENT_CHILD_ID).pseudonym
OLDHAM_CHILD = PSEUDONYMS.pseudonymise_child("353", OLDHAM_CHILD_ID).pseudonym
STAFF = {
    "dm.kent": User("dm.kent", "duty_manager", "886"),
    "tm.kent": User("tm.kent", "team_manager", "886"),
    "hos.kent": User("hos.kent", "head_of_service", "886"),
    "dm.oldham": User("dm.oldham", "duty_manager", "353"),
    "perf.kent": User("perf.kent", "performance", "886"),
    "police.kent": User("police.kent", "partner", "886", agency="police"),
}


@functools.cache
def _hash() -> str:
    return hash_password(PASSWORD)


def desk(template: str | None = None, audit: MemoryAuditSink | None = None) -> Harness:
    """A desk whose identity store holds one Kent child and one Oldham child, sealed with their councils' keys."""
    settings = AlertDeskSettings(cookie_secure=True, case_record_url_template=template)
    users = UserDirectory({name: LocalUser(user, _hash()) for name, user in STAFF.items()})
    harness = Harness(settings=settings, users=users, audit=audit or MemoryAuditSink())
    ring = Keyring(None, {"886": secrets.token_bytes(32), "353": secrets.token_bytes(32)})
    vault = IdentityVault(ring)
    for la_code, key, child_id in (("886", KENT_CHILD, KENT_CHILD_ID), ("353", OLDHAM_CHILD, OLDHAM_CHILD_ID)):
        vault.fold(key.encode(), encode(ring.seal(la_code, key, child_id, NOW)))
    harness.context.identity = vault
    harness.fold(make_rereferral(child_key=KENT_CHILD), make_rereferral(la_code="353", child_key=OLDHAM_CHILD))
    return harness


async def page_token(client: TestClient[Any, Any]) -> str:
    """The CSRF token from a page every role may open (the totals), so no child-level view is audited."""
    page = await (await client.get("/aggregates", headers={"Accept": "text/html"})).text()
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    assert match, page[:300]
    return match[1]


async def post_reveal(client: TestClient[Any, Any], child_key: str) -> tuple[int, str]:
    token = await page_token(client)
    response = await client.post(f"/children/{child_key}/reveal", headers={"X-CSRF-Token": token})
    return response.status, await response.text()


@pytest.mark.parametrize("username", ["dm.kent", "tm.kent", "hos.kent"])
async def test_a_councils_case_staff_see_their_childs_council_id_and_the_reveal_is_audited(username: str) -> None:
    harness = desk()
    async with browser(harness, username) as client:
        token = await page_token(client)
        response = await client.post(f"/children/{KENT_CHILD}/reveal", headers={"X-CSRF-Token": token})

        assert response.status == 200
        assert await response.json() == {"la_child_id": KENT_CHILD_ID}
    (record,) = harness.audit.reveals()
    assert (record.user, record.la_code, record.route, record.child_key) == (username, "886", "reveal", KENT_CHILD)
    assert record.occurred_at == NOW
    assert KENT_CHILD_ID not in record.model_dump_json()


async def test_performance_and_partner_roles_and_another_council_get_the_same_answer_as_an_unknown_child() -> None:
    harness = desk()
    attempts = [
        ("perf.kent", KENT_CHILD),
        ("police.kent", KENT_CHILD),
        ("dm.oldham", KENT_CHILD),
        ("dm.kent", OLDHAM_CHILD),
        ("dm.kent", "0" * 32),
        ("dm.kent", "not-a-pseudonym"),
    ]
    answers = []
    for username, child in attempts:
        async with browser(harness, username) as client:
            answers.append(await post_reveal(client, child))

    assert answers == [(403, "not available")] * 6
    assert harness.audit.reveals() == []


async def test_a_reveal_without_the_csrf_token_or_a_session_is_refused() -> None:
    harness = desk()
    async with browser(harness, "dm.kent") as client:
        assert (await client.post(f"/children/{KENT_CHILD}/reveal")).status == 403
    async with browser(harness) as anonymous:
        assert (await anonymous.post(f"/children/{KENT_CHILD}/reveal")).status == 401


async def test_the_case_link_opens_the_id_audits_it_and_redirects_to_the_case_record() -> None:
    harness = desk("https://lcs.example/child/{la_child_id}?council={la_code}&p={child_key}")
    async with browser(harness, "dm.kent") as client:
        feed = await (await client.get("/feed")).text()
        response = await client.get(f"/children/{KENT_CHILD}/case", allow_redirects=False)

    assert f'href="/children/{KENT_CHILD}/case"' in feed
    assert KENT_CHILD_ID not in feed
    assert response.status == 303
    assert response.headers["Location"] == f"https://lcs.example/child/{KENT_CHILD_ID}?council=886&p={KENT_CHILD}"
    (record,) = harness.audit.reveals()
    assert (record.route, record.child_key, record.user) == ("case", KENT_CHILD, "dm.kent")


async def test_the_case_link_is_refused_like_a_reveal_for_another_councils_child() -> None:
    harness = desk("https://lcs.example/child/{la_child_id}")
    async with browser(harness, "dm.oldham") as client:
        response = await client.get(f"/children/{KENT_CHILD}/case", allow_redirects=False)
        answer = (response.status, await response.text())

    assert answer == (403, "not available")


class FailingAudit(MemoryAuditSink):
    """Keeps every record but a reveal's, which the broker refuses."""

    async def record(self, entry: AuditRecord) -> None:
        if isinstance(entry, ChildIdentityRevealed):
            raise ConnectionError("broker refused the audit record")
        await super().record(entry)


async def test_no_id_leaves_the_desk_when_the_reveal_cannot_be_audited() -> None:
    harness = desk(audit=FailingAudit())
    async with browser(harness, "dm.kent") as client:
        status, body = await post_reveal(client, KENT_CHILD)

    assert status == 503
    assert KENT_CHILD_ID not in body
    assert not harness.context.audit_health.ok


async def test_an_erased_child_can_no_longer_be_revealed() -> None:
    harness = desk()
    harness.context.identity.fold(KENT_CHILD.encode(), None)
    async with browser(harness, "dm.kent") as client:
        assert await post_reveal(client, KENT_CHILD) == (403, "not available")


async def test_no_plain_child_id_reaches_the_logs_metrics_or_audit_after_reveals_and_refusals(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    harness = desk("https://lcs.example/child/{la_child_id}")
    async with browser(harness, "dm.kent") as client:
        await post_reveal(client, KENT_CHILD)
        await client.get(f"/children/{KENT_CHILD}/case", allow_redirects=False)
        await post_reveal(client, OLDHAM_CHILD)
        metrics = await (await client.get("/metrics")).text()
    harness.context.identity.keyring = Keyring(secrets.token_bytes(32))  # a wrong key: the unsealable path logs
    async with browser(harness, "dm.kent") as client:
        assert (await post_reveal(client, KENT_CHILD))[0] == 403

    audit = "".join(r.model_dump_json() for r in harness.audit.records)
    for text in (caplog.text, metrics, audit):
        assert KENT_CHILD_ID not in text and OLDHAM_CHILD_ID not in text
    assert 'frontdoor_alertdesk_identity_reveals_total{outcome="revealed",route="reveal"} 1.0' in metrics
    assert 'frontdoor_alertdesk_identity_reveals_total{outcome="refused",route="reveal"} 1.0' in metrics


async def test_one_person_may_reveal_only_so_many_ids_an_hour_and_others_are_unaffected() -> None:
    harness = desk()
    harness.context.reveal_budget = RevealBudget(per_hour=2)
    async with browser(harness, "dm.kent") as client:
        answers = [(await post_reveal(client, KENT_CHILD))[0] for _ in range(3)]
    async with browser(harness, "tm.kent") as other:
        answers.append((await post_reveal(other, KENT_CHILD))[0])

    assert answers == [200, 200, 429, 200]
    assert len(harness.audit.reveals()) == 3  # the refused one revealed nothing, so it is counted, not audited


def test_the_reveal_budget_is_a_sliding_hour() -> None:
    budget = RevealBudget(per_hour=2)

    assert budget.take("dm.kent", NOW) and budget.take("dm.kent", NOW + dt.timedelta(minutes=30))
    assert not budget.take("dm.kent", NOW + dt.timedelta(minutes=59))
    assert budget.take("dm.kent", NOW + dt.timedelta(minutes=60))
    assert not budget.take("dm.kent", NOW + dt.timedelta(minutes=61))
