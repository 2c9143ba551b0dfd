"""`frontdoor receive add-client` registers a council's sender; `frontdoor receive` refuses to start without a key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.cli import main
from services.receiver.clients import ClientRegistry


@pytest.mark.slow
def test_add_client_prints_the_secret_once_and_stores_only_its_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clients_file = tmp_path / "clients.json"
    monkeypatch.setenv("FRONTDOOR_RECEIVER_CLIENTS_FILE", str(clients_file))

    assert main(["receive", "add-client", "kent-sender", "--la-code", "886"]) == 0

    secret = capsys.readouterr().out.strip().splitlines()[-1]
    stored = json.loads(clients_file.read_text())["clients"]["kent-sender"]
    assert stored["la_code"] == "886"
    assert stored["secret_hash"].startswith("$argon2id$")
    assert secret not in clients_file.read_text()
    assert clients_file.stat().st_mode & 0o077 == 0
    client = ClientRegistry.load(clients_file).check("kent-sender", secret)
    assert client is not None and client.la_code == "886"


def test_add_client_refuses_a_council_that_is_not_a_dfe_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FRONTDOOR_RECEIVER_CLIENTS_FILE", str(tmp_path / "clients.json"))

    assert main(["receive", "add-client", "kent-sender", "--la-code", "Kent"]) == 2
    assert "three-digit DfE code" in capsys.readouterr().err
    assert not (tmp_path / "clients.json").exists()


def test_the_receiver_will_not_start_without_the_councils_pseudonymisation_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("FRONTDOOR_PSEUDONYM_KEY", raising=False)
    monkeypatch.setenv("FRONTDOOR_PROFILE", "production")

    assert main(["receive"]) == 2
    assert "FRONTDOOR_PSEUDONYM_KEY" in capsys.readouterr().err
