"""`frontdoor alertdesk add-user` and the first run of `serve`; the state module stays pure."""

from __future__ import annotations

import argparse
import ast
import io
from pathlib import Path

import pytest

from services.alertdesk import cli_alertdesk
from services.alertdesk.auth import load_users

PURE_MODULES = [Path(cli_alertdesk.__file__).with_name(name) for name in ("state.py", "weeks.py")]


def run(argv: list[str], monkeypatch: pytest.MonkeyPatch, stdin: str = "") -> int:
    parser = argparse.ArgumentParser(prog="frontdoor")
    cli_alertdesk.register(parser.add_subparsers(dest="command", required=True))
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    args = parser.parse_args(argv)
    result: int = args.handler(args)
    return result


def test_add_user_saves_a_hashed_password_from_standard_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "users.toml"
    argv = ["alertdesk", "add-user", "--users-file", str(path), "--username", "dm.kent", "--role", "duty_manager"]
    assert run([*argv, "--la-code", "886", "--password-stdin"], monkeypatch, "a long enough secret\n") == 0
    assert load_users(path).authenticate("dm.kent", "a long enough secret") is not None


def test_add_user_refuses_a_short_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "users.toml"
    argv = ["alertdesk", "add-user", "--users-file", str(path), "--username", "x", "--role", "performance"]
    assert run([*argv, "--la-code", "886", "--password-stdin"], monkeypatch, "short\n") == 2
    assert not path.exists()


def test_serve_without_users_or_oidc_explains_how_to_create_the_first_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FRONTDOOR_ALERTDESK_USERS_FILE", str(tmp_path / "none.toml"))
    monkeypatch.delenv("FRONTDOOR_ALERTDESK_OIDC_ISSUER", raising=False)
    assert run(["alertdesk", "serve", "--port", "0"], monkeypatch) == 2
    err = capsys.readouterr().err
    assert "no default user or password" in err and "frontdoor alertdesk add-user" in err


@pytest.mark.parametrize("module", PURE_MODULES, ids=lambda p: p.name)
def test_the_state_modules_are_pure_no_web_kafka_clock_or_io(module: Path) -> None:
    tree = ast.parse(module.read_text())
    imported = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    allowed = (
        "__future__",
        "dataclasses",
        "datetime",
        "re",
        "collections",
        "typing",
        "schemas.",
        "services.alertdesk.actions",
        "services.alertdesk.weeks",
    )
    assert all(name.startswith(allowed) for name in imported), imported
    calls = {
        node.func.attr for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert not calls & {"now", "today", "utcnow", "open", "read_text", "write_text", "time"}
