"""Sign-in: scrypt-hashed local users, no default user, sessions that expire, CSRF on every change, strict cookies."""

from __future__ import annotations

import json
from http.cookies import SimpleCookie
from pathlib import Path

import pytest

from services.alertdesk.auth import (
    UserDirectory,
    UsersFileError,
    add_user,
    hash_password,
    load_users,
    make_user,
    verify_password,
)
from services.alertdesk.sessions import SESSION_COOKIE
from tests.unit.alertdesk.desk_builders import (
    PASSWORD,
    Harness,
    browser,
    csrf_token,
    login_nonce,
    make_rereferral,
    sign_in,
)

pytestmark = pytest.mark.timeout(30)


def test_a_password_hash_is_salted_argon2id_and_verifies_only_the_right_password() -> None:
    first, second = hash_password("s3cret-enough-pw"), hash_password("s3cret-enough-pw")
    assert first.startswith("$argon2id$") and first != second
    assert verify_password("s3cret-enough-pw", first) and verify_password("s3cret-enough-pw", second)
    assert not verify_password("s3cret-enough-pW", first)


@pytest.mark.parametrize("garbage", ["", "plain", "md5$abc", "scrypt$1$2$3$%%%$%%%", "scrypt$x$8$1$YQ$YQ"])
def test_a_malformed_hash_never_matches(garbage: str) -> None:
    assert not verify_password("anything", garbage)


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_add_user_writes_a_users_file_readable_only_by_its_owner_with_no_plain_password(
    tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"users{suffix}"
    add_user(path, make_user("dm.kent", "duty_manager", "886"), "a long passphrase")
    add_user(path, make_user("police.kent", "partner", "886", agency="police"), "another passphrase")
    text = path.read_text()
    assert "a long passphrase" not in text and "$argon2id$" in text
    assert path.stat().st_mode & 0o077 == 0
    users = load_users(path)
    assert users.authenticate("dm.kent", "a long passphrase") is not None
    assert users.authenticate("dm.kent", "another passphrase") is None
    partner = users.authenticate("police.kent", "another passphrase")
    assert partner is not None and (partner.role, partner.agency) == ("partner", "police")


def test_there_is_no_default_user_when_no_users_file_exists(tmp_path: Path) -> None:
    users = load_users(tmp_path / "absent.toml")
    assert users.empty
    for username, password in [("admin", "admin"), ("admin", ""), ("", "")]:
        assert users.authenticate(username, password) is None


@pytest.mark.parametrize(
    ("role", "la_code", "agency"),
    [("admin", "886", None), ("duty_manager", "88", None), ("duty_manager", "ABC", None), ("partner", "886", None)],
)
def test_a_user_with_an_unknown_role_a_bad_council_or_a_partner_without_agency_is_refused(
    role: str, la_code: str, agency: str | None
) -> None:
    with pytest.raises(UsersFileError):
        make_user("someone", role, la_code, agency)


def test_a_users_file_with_a_bad_entry_is_an_error_not_an_empty_directory(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    path.write_text(json.dumps({"users": [{"username": "x", "role": "duty_manager"}]}))
    with pytest.raises(UsersFileError, match="lacks"):
        load_users(path)


async def test_the_first_run_login_page_says_how_to_create_a_user() -> None:
    harness = Harness(users=UserDirectory({}))
    async with browser(harness) as client:
        page = await (await client.get("/login")).text()
    assert "frontdoor alertdesk add-user" in page and "no default user or password" in page
    assert 'name="password"' not in page


async def test_a_wrong_password_is_refused_and_counted() -> None:
    harness = Harness()
    async with browser(harness) as client:
        response = await sign_in(client, "dm.kent", "wrong password")
        assert response.status == 401
        assert (await client.get("/feed", allow_redirects=False)).status in (303, 401)
    sample = harness.registry.get_sample_value(
        "frontdoor_alertdesk_logins_total", {"method": "local", "outcome": "failure"}
    )
    assert sample == 1


async def test_a_login_post_without_the_forms_nonce_is_refused() -> None:
    async with browser(Harness()) as client:
        await client.get("/login")
        response = await client.post("/login", data={"username": "dm.kent", "password": "x", "csrf_token": "guess"})
        assert response.status == 403


async def test_the_session_cookie_is_secure_http_only_strict_and_expires_with_the_session() -> None:
    harness = Harness()
    async with browser(harness) as client:
        nonce = login_nonce(await (await client.get("/login")).text())
        response = await client.post(
            "/login",
            data={"username": "dm.kent", "password": PASSWORD, "csrf_token": nonce},
            allow_redirects=False,
        )
    assert response.status == 303
    cookie = SimpleCookie()
    for header in response.headers.getall("Set-Cookie"):
        cookie.load(header)
    morsel = cookie[SESSION_COOKIE]
    assert morsel["secure"] and morsel["httponly"]
    assert morsel["samesite"] == "Strict" and morsel["path"] == "/"
    assert int(morsel["max-age"]) == harness.settings.session_max_age_seconds == 8 * 3600


async def test_a_session_ends_after_the_idle_timeout() -> None:
    harness = Harness()
    async with browser(harness, "dm.kent") as client:
        harness.clock.advance(minutes=29)
        assert (await client.get("/feed")).status == 200
        harness.clock.advance(minutes=29)
        assert (await client.get("/feed")).status == 200  # activity 29 minutes ago keeps it alive
        harness.clock.advance(minutes=31)
        assert (await client.get("/feed", allow_redirects=False)).status == 401


async def test_a_session_ends_after_eight_hours_however_active() -> None:
    harness = Harness()
    async with browser(harness, "dm.kent") as client:
        for _ in range(16):
            harness.clock.advance(minutes=29)
            assert (await client.get("/feed")).status == 200
        harness.clock.advance(minutes=29)
        assert (await client.get("/feed", allow_redirects=False)).status == 401


async def test_an_unauthenticated_browser_is_sent_to_the_login_page() -> None:
    async with browser(Harness()) as client:
        response = await client.get("/feed", headers={"Accept": "text/html"}, allow_redirects=False)
        assert (response.status, response.headers["Location"]) == (303, "/login")


async def test_a_forged_session_cookie_is_refused() -> None:
    async with browser(Harness()) as client:
        client.session.cookie_jar.update_cookies({SESSION_COOKIE: "made-up.0123456789abcdef"})
        assert (await client.get("/feed", allow_redirects=False)).status == 401


async def test_a_state_changing_request_without_the_csrf_token_is_refused() -> None:
    harness = Harness()
    alert = make_rereferral()
    harness.fold(alert)
    async with browser(harness, "dm.kent") as client:
        url = f"/alerts/{alert.alert_id}/acknowledge"
        assert (await client.post(url)).status == 403
        assert (await client.post(url, headers={"X-CSRF-Token": "not-the-token"})).status == 403
        token = await csrf_token(client)
        cross_site = {"X-CSRF-Token": token, "Origin": "https://evil.example"}
        assert (await client.post(url, headers=cross_site)).status == 403
        assert harness.published == []
        response = await client.post(url, headers={"X-CSRF-Token": token, "Accept": "application/json"})
        assert response.status == 200
    assert [a.type for a in harness.published] == ["AlertAcknowledged"]


async def test_logout_needs_the_csrf_token_and_ends_the_session_on_the_server() -> None:
    harness = Harness()
    async with browser(harness, "dm.kent") as client:
        stolen = client.session.cookie_jar.filter_cookies(client.make_url("/"))[SESSION_COOKIE].value
        assert (await client.post("/logout")).status == 403
        token = await csrf_token(client)
        assert (await client.post("/logout", data={"csrf_token": token}, allow_redirects=False)).status == 303
    async with browser(harness) as replay:
        replay.session.cookie_jar.update_cookies({SESSION_COOKIE: stolen})
        assert (await replay.get("/feed", allow_redirects=False)).status == 401


async def test_every_page_carries_a_strict_content_security_policy_and_no_store() -> None:
    async with browser(Harness(), "dm.kent") as client:
        response = await client.get("/feed")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # Not no-referrer: under it browsers send "Origin: null" on the desk's own form posts.
    assert response.headers["Referrer-Policy"] == "same-origin"


async def test_a_post_with_origin_null_is_refused_even_with_the_right_token() -> None:
    harness = Harness()
    alert = make_rereferral()
    harness.fold(alert)
    async with browser(harness, "dm.kent") as client:
        token = await csrf_token(client)
        headers = {"X-CSRF-Token": token, "Origin": "null"}
        assert (await client.post(f"/alerts/{alert.alert_id}/acknowledge", headers=headers)).status == 403
