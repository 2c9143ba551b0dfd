"""Which principal a service started by a test connects as: its own on the secured CI broker, none on PLAINTEXT."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.kafka_principals import CREDENTIALS_VARIABLE, principal_env, principal_settings
from bench.processor.harness import Names, WorkerProcess


def launcher_files(state: Path) -> Path:
    """The files `launcher.py up --secure` leaves for clients, with made-up passwords."""
    (state / "env").mkdir(parents=True)
    for service in ("admin", "ingest", "worker", "desk", "receiver"):
        (state / "env" / f"{service}.env").write_text(
            "FRONTDOOR_BOOTSTRAP_SERVERS=127.0.0.1:19092\nFRONTDOOR_SECURITY_PROTOCOL=SASL_SSL\n"
            f"FRONTDOOR_SASL_USERNAME=frontdoor-{service}\nFRONTDOOR_SASL_PASSWORD=pw-{service}=x\n"
            f"FRONTDOOR_SSL_CAFILE={state / 'tls' / 'ca.pem'}\n"
        )
    credentials = state / "credentials.json"
    credentials.write_text("{}\n")
    return credentials


def test_on_a_plaintext_broker_a_service_connects_as_the_environment_says(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CREDENTIALS_VARIABLE, raising=False)
    for variable in ("SECURITY_PROTOCOL", "SASL_USERNAME", "SASL_PASSWORD", "SSL_CAFILE"):  # `make test` sets them
        monkeypatch.delenv(f"FRONTDOOR_{variable}", raising=False)
    monkeypatch.setenv("FRONTDOOR_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    assert principal_env("worker") == {}
    settings = principal_settings("desk")
    assert (settings.security_protocol, settings.sasl_username, settings.profile) == ("PLAINTEXT", None, "dev")


def test_on_the_secured_broker_each_service_gets_its_own_principal_not_the_admins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(CREDENTIALS_VARIABLE, str(launcher_files(tmp_path)))
    monkeypatch.setenv("FRONTDOOR_SASL_USERNAME", "frontdoor-admin")  # what `make test` exports for test setup
    monkeypatch.setenv("FRONTDOOR_SASL_PASSWORD", "pw-admin")
    desk = principal_settings("desk")
    assert (desk.security_protocol, desk.sasl_username, desk.bootstrap_servers) == (
        "SASL_SSL",
        "frontdoor-desk",
        "127.0.0.1:19092",
    )
    assert desk.sasl_password is not None and desk.sasl_password.get_secret_value() == "pw-desk=x"
    assert principal_env("ingest")["FRONTDOOR_SASL_USERNAME"] == "frontdoor-ingest"


def test_a_worker_subprocess_runs_as_the_worker_unless_the_test_says_otherwise(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(CREDENTIALS_VARIABLE, str(launcher_files(tmp_path / "state")))
    monkeypatch.setenv("FRONTDOOR_SASL_USERNAME", "frontdoor-admin")
    worker = WorkerProcess("w", tmp_path, Names.unique("it-principal").env())
    assert (worker.env["FRONTDOOR_SASL_USERNAME"], worker.env["FRONTDOOR_SASL_PASSWORD"]) == (
        "frontdoor-worker",
        "pw-worker=x",
    )
    explicit = WorkerProcess("w2", tmp_path, {"FRONTDOOR_SASL_USERNAME": "frontdoor-desk"})
    assert explicit.env["FRONTDOOR_SASL_USERNAME"] == "frontdoor-desk"


def test_an_unknown_principal_is_an_error_rather_than_the_admin() -> None:
    with pytest.raises(ValueError, match="unknown Kafka principal"):
        principal_env("frontdoor-admin")
