"""The secured broker for the Kafka ACL tests.

Under `make test` the run's own broker is the secured one (KAFKA_CREDENTIALS, bench/kafka_principals.py), and
these tests use it: one broker for the whole run. Otherwise (pytest against a PLAINTEXT dev broker) a secured one
is started once per session, only when a test asks for it, by `launcher.py up --secure` on private ports and a
private state dir, and stopped (state wiped) afterwards. Without Java the tests are skipped, unless
KAFKA_REQUIRED=1, when they fail: a CI run that skipped them would prove nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench.kafka_principals import credentials_file as run_credentials_file
from services.settings import Settings

REPO = Path(__file__).resolve().parents[2]
LAUNCHER = REPO / "deploy" / "kafka" / "launcher.py"
START_TIMEOUT_SECONDS = 180


@dataclass(frozen=True, slots=True)
class SecureBroker:
    """The running broker's address and the credentials file the launcher wrote."""

    credentials: dict[str, Any]
    credentials_file: Path
    start_seconds: float

    @property
    def bootstrap(self) -> str:
        return str(self.credentials["bootstrap_servers"])

    def username(self, service: str) -> str:
        return str(self.credentials["principals"][service]["username"])

    def settings(self, service: str, *, password: str | None = None) -> Settings:
        """A service's own production settings: SASL_SSL, SCRAM-SHA-512, the local CA."""
        principal = self.credentials["principals"][service]
        return Settings(
            profile="production",
            bootstrap_servers=self.bootstrap,
            security_protocol="SASL_SSL",
            sasl_mechanism="SCRAM-SHA-512",
            sasl_username=principal["username"],
            sasl_password=password if password is not None else principal["password"],
            ssl_cafile=self.credentials["ssl_cafile"],
            client_id=f"acl-test-{service}",
        )

    def env(self, service: str) -> dict[str, str]:
        """The service's FRONTDOOR_* variables, as the launcher wrote them for it."""
        path = self.credentials_file.parent / "env" / f"{service}.env"
        return dict(line.split("=", 1) for line in path.read_text().splitlines() if line)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def java_available() -> bool:
    java_home = os.environ.get("JAVA_HOME")
    return bool((java_home and (Path(java_home) / "bin" / "java").exists()) or shutil.which("java"))


@pytest.fixture(scope="session")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    run_broker = run_credentials_file()
    if run_broker is not None:
        yield SecureBroker(json.loads(run_broker.read_text()), run_broker, start_seconds=0.0)
        return
    if not java_available():
        reason = "Java 17+ is not installed: the secured broker (deploy/kafka/launcher.py up --secure) needs it"
        if os.environ.get("KAFKA_REQUIRED") == "1":
            pytest.fail(f"KAFKA_REQUIRED=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    state = tmp_path_factory.mktemp("secure-kafka")
    env = os.environ | {
        "KAFKA_PORT": str(free_port()),
        "KAFKA_CONTROLLER_PORT": str(free_port()),
        "KAFKA_STATE_DIR": str(state),
        "KAFKA_START_TIMEOUT": "120",
    }
    env.pop("KAFKA_SECURE", None)
    launcher = [sys.executable, str(LAUNCHER)]
    started = time.monotonic()
    up = subprocess.run(
        [*launcher, "up", "--secure"],
        env=env,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_SECONDS,
        check=False,
    )
    start_seconds = time.monotonic() - started
    try:
        if up.returncode != 0:
            pytest.fail(f"the secured broker did not start:\n{up.stdout}\n{up.stderr}", pytrace=False)
        print(f"\nsecured broker up in {start_seconds:.1f}s:\n{up.stdout}")
        credentials_file = state / "credentials.json"
        yield SecureBroker(json.loads(credentials_file.read_text()), credentials_file, start_seconds)
    finally:
        subprocess.run([*launcher, "down", "--wipe"], env=env, capture_output=True, timeout=60, check=False)
