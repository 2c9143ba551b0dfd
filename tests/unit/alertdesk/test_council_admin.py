"""Issue 18: a council admin manages the users of their own council through the desk, audited, and sees no data."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from services.alertdesk.auth import load_users, write_users
from tests.unit.alertdesk.desk_builders import PASSWORD, Harness, browser, directory, sign_in

pytestmark = pytest.mark.timeout(60)
NEW_PASSWORD = "a long new first password 42"


def harness_with_users_file(tmp_path: Path) -> Harness:
    path = tmp_path / "users.toml"
    write_users(path, directory("admin.kent", "dm.kent", "police.kent", "dm.oldham").users)
    return Harness(users=load_users(path))


async def token(client: TestClient[Any, Any]) -> str:
    page = await client.get("/admin/users")
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', await page.text())
    assert match
    return match[1]


async def test_a_council_admin_sees_and_manages_only_their_own_councils_users(tmp_path: Path) -> None:
    harness = harness_with_users_file(tmp_path)
    async with browser(harness, "admin.kent") as client:
        page = await (await client.get("/admin/users")).text()
        assert "dm.kent" in page and "police.kent" in page and "dm.oldham" not in page
        csrf = await token(client)
        added = await client.post(
            "/admin/users",
            data={"username": "schools.lead", "role": "partner", "agency": "schools", "password": NEW_PASSWORD},
            headers={"X-CSRF-Token": csrf},
        )
        assert added.status == 200
        changed = await client.post(
            "/admin/users/police.kent/role", data={"role": "performance", "agency": ""}, headers={"X-CSRF-Token": csrf}
        )
        assert changed.status == 200
    users = load_users(tmp_path / "users.toml").users
    assert (users["schools.lead"].user.la_code, users["schools.lead"].user.agency) == ("886", "schools")
    assert users["police.kent"].user.role == "performance"
    assert [(r.action, r.target, r.target_role) for r in harness.audit.user_changes()] == [
        ("added", "schools.lead", "partner"),
        ("role_changed", "police.kent", "performance"),
    ]
    assert all(r.user == "admin.kent" and r.la_code == "886" for r in harness.audit.user_changes())


async def test_a_disabled_user_cannot_sign_in_and_their_session_ends_at_once(tmp_path: Path) -> None:
    harness = harness_with_users_file(tmp_path)
    async with browser(harness, "dm.kent") as duty_manager:
        assert (await duty_manager.get("/feed", allow_redirects=False)).status == 200
        async with browser(harness, "admin.kent") as admin:
            response = await admin.post("/admin/users/dm.kent/disable", headers={"X-CSRF-Token": await token(admin)})
            assert response.status == 200
        assert (await duty_manager.get("/feed", allow_redirects=False)).status in (303, 401)
        assert (await sign_in(duty_manager, "dm.kent", PASSWORD)).status == 401
    assert load_users(tmp_path / "users.toml").users["dm.kent"].disabled
    assert [r.action for r in harness.audit.user_changes()] == ["disabled"]


async def test_another_councils_user_looks_like_no_user_and_the_attempt_is_audited(tmp_path: Path) -> None:
    harness = harness_with_users_file(tmp_path)
    async with browser(harness, "admin.kent") as client:
        csrf = await token(client)
        for path in ("/admin/users/dm.oldham/disable", "/admin/users/nobody/disable"):
            response = await client.post(path, headers={"X-CSRF-Token": csrf})
            assert (response.status, await response.text()) == (404, "no such user in your council")
    assert not load_users(tmp_path / "users.toml").users["dm.oldham"].disabled
    assert [(r.route, r.status) for r in harness.audit.refusals()] == [("/admin/users/{username}/{action}", 404)] * 2
    assert harness.audit.user_changes() == []


async def test_a_council_admin_sees_no_alert_child_or_figure(tmp_path: Path) -> None:
    harness = harness_with_users_file(tmp_path)
    async with browser(harness, "admin.kent") as client:
        for path in ("/feed", "/history", "/aggregates", "/partner/886/police", "/review/weekly"):
            assert (await client.get(path, allow_redirects=False)).status == 403, path
    assert len(harness.audit.refusals()) == 5


async def test_other_roles_cannot_manage_users(tmp_path: Path) -> None:
    harness = harness_with_users_file(tmp_path)
    async with browser(harness, "dm.kent") as client:
        assert (await client.get("/admin/users")).status == 403
        csrf_page = await (await client.get("/feed")).text()
        match = re.search(r'<meta name="csrf-token" content="([^"]+)"', csrf_page)
        assert match
        response = await client.post("/admin/users/police.kent/disable", headers={"X-CSRF-Token": match[1]})
        assert response.status == 403
    assert not load_users(tmp_path / "users.toml").users["police.kent"].disabled
