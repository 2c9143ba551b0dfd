"""Issue 17, item 3 replayed: guessing is throttled, locked out and audited; hashing cannot stall the desk."""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import io
import logging
import threading
from pathlib import Path

import pytest

from services.alertdesk import cli_alertdesk
from services.alertdesk.auth import load_users, make_user
from services.alertdesk.passwords import PasswordCheckBusy, PasswordChecker, password_problem
from services.alertdesk.signin import SignIn
from tests.unit.alertdesk.desk_builders import PASSWORD, Harness, browser, login_nonce, sign_in

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def clock() -> list[float]:
    return [1_700_000_000.0]


def guarded(clock: list[float]) -> Harness:
    harness = Harness()
    harness.context.signin = SignIn.build(clock=lambda: clock[0])
    return harness


async def test_a_hundred_wrong_passwords_lock_the_account_so_the_right_one_is_then_refused(
    clock: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    harness = guarded(clock)
    caplog.set_level(logging.WARNING)
    async with browser(harness) as client:
        statuses = [(await sign_in(client, "dm.kent", f"guess number {i}")).status for i in range(100)]
        right = await sign_in(client, "dm.kent", PASSWORD)
        page = await right.text()
    assert statuses[:3] == [401, 401, 401] and set(statuses[10:]) == {429}
    assert right.status == 429 and "Too many sign-in attempts" in page
    assert int(right.headers["Retry-After"]) > 60
    reasons = [r.reason for r in harness.audit.sign_ins()]
    assert reasons.count("account_locked") >= 1 and reasons.count("wrong_password") >= 3
    assert all(r.user == "dm.kent" for r in harness.audit.sign_ins())
    assert "guess number" not in caplog.text and "sign-in refused" in caplog.text


async def test_the_lockout_is_temporary(clock: list[float]) -> None:
    harness = guarded(clock)
    async with browser(harness) as client:
        for i in range(12):
            await sign_in(client, "dm.kent", f"wrong {i}")
        clock[0] += 901
        assert (await sign_in(client, "dm.kent")).status == 200


async def test_an_unknown_user_name_is_throttled_exactly_like_a_real_one(clock: list[float]) -> None:
    harness = guarded(clock)
    async with browser(harness) as client:
        real = [(await sign_in(client, "dm.kent", f"x{i}")).status for i in range(12)]
        clock[0] += 10_000
        made_up = [(await sign_in(client, "nobody.here", f"x{i}")).status for i in range(12)]
    assert real == made_up


async def test_guessing_many_user_names_from_one_address_locks_the_address(clock: list[float]) -> None:
    harness = guarded(clock)
    async with browser(harness) as client:
        for i in range(100):
            await sign_in(client, f"user{i}", "wrong password")
        response = await sign_in(client, "tm.kent")
    assert response.status == 429
    assert "address_locked" in [r.reason for r in harness.audit.sign_ins()]


async def test_a_login_nonce_is_accepted_once() -> None:
    harness = Harness()
    async with browser(harness) as client:
        nonce = login_nonce(await (await client.get("/login")).text())
        form = {"username": "dm.kent", "password": "wrong", "csrf_token": nonce}
        first = await client.post("/login", data=form)
        replayed = [(await client.post("/login", data=form)).status for _ in range(5)]
    assert first.status == 401 and replayed == [403] * 5


async def test_a_login_nonce_older_than_ten_minutes_is_refused(clock: list[float]) -> None:
    harness = guarded(clock)
    async with browser(harness) as client:
        nonce = login_nonce(await (await client.get("/login")).text())
        clock[0] += 601
        form = {"username": "dm.kent", "password": PASSWORD, "csrf_token": nonce}
        assert (await client.post("/login", data=form)).status == 403


async def test_password_hashing_runs_off_the_event_loop() -> None:
    checker = PasswordChecker(max_concurrent=2, max_waiting=0)
    assert await checker.run(threading.get_ident) != threading.get_ident()
    checker.close()


async def test_hashes_beyond_the_bound_are_refused_at_once_not_queued() -> None:
    checker = PasswordChecker(max_concurrent=1, max_waiting=1)
    release = threading.Event()
    running = [asyncio.create_task(checker.run(lambda: release.wait(5))) for _ in range(2)]
    await asyncio.sleep(0.05)
    with pytest.raises(PasswordCheckBusy):
        await checker.run(lambda: True)
    release.set()
    assert await asyncio.gather(*running) == [True, True]
    checker.close()


def _scrypt(password: str) -> str:
    salt = b"0123456789abcdef"
    key = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    b64 = [base64.urlsafe_b64encode(v).decode().rstrip("=") for v in (salt, key)]
    return "$".join(("scrypt", "16384", "8", "1", *b64))


async def test_an_old_scrypt_users_file_still_signs_in_and_is_upgraded_to_argon2id(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    entry = f'[[users]]\nusername = "dm.kent"\npassword_hash = "{_scrypt(PASSWORD)}"\nrole = "duty_manager"\n'
    path.write_text(entry + 'la_code = "886"\n')
    harness = Harness(users=load_users(path))
    async with browser(harness) as client:
        assert (await sign_in(client, "dm.kent")).status == 200
    assert "$argon2id$" in path.read_text() and "scrypt$" not in path.read_text()
    assert load_users(path).authenticate("dm.kent", PASSWORD) is not None


@pytest.mark.parametrize(
    "password",
    [" " * 12, "aaaaaaaaaaaaaaaa", "abcabcabcabcabc", "dm.kent and more", "password1234", "short"],
    ids=["twelve spaces", "one character", "three characters", "the username", "common", "short"],
)
def test_add_user_refuses_a_weak_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], password: str
) -> None:
    parser = argparse.ArgumentParser(prog="frontdoor")
    cli_alertdesk.register(parser.add_subparsers(dest="command", required=True))
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    path = tmp_path / "users.toml"
    args = parser.parse_args(
        ["alertdesk", "add-user", "--users-file", str(path), "--username", "dm.kent", "--role", "duty_manager",
         "--la-code", "886", "--password-stdin"]
    )  # fmt: skip
    assert args.handler(args) == 2
    assert not path.exists() and password_problem(password, "dm.kent") in capsys.readouterr().err


def test_a_passphrase_meets_the_policy() -> None:
    assert password_problem(PASSWORD, "dm.kent") is None
    assert make_user("dm.kent", "duty_manager", "886").username == "dm.kent"
