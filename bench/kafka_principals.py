"""Which Kafka principal a process started by a test or benchmark connects as, on the secured CI broker.

`make test` (deploy/run-tests.sh) starts `launcher.py up --secure --test-acls`, exports the admin principal's
FRONTDOOR_* variables (so `Settings()` from the environment is the admin, for topic setup and checking results)
and KAFKA_CREDENTIALS, the launcher's credentials.json. A service a test runs (worker, desk, ingest) connects as
its own principal from the launcher's env/<service>.env beside that file. Without KAFKA_CREDENTIALS (a PLAINTEXT
dev broker) every service connects as the environment says, as before.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from services.settings import Settings

CREDENTIALS_VARIABLE = "KAFKA_CREDENTIALS"
SERVICES = ("admin", "ingest", "worker", "desk", "receiver")


def credentials_file() -> Path | None:
    """The secured broker's credentials.json when the run uses one, else None."""
    path = os.environ.get(CREDENTIALS_VARIABLE)
    return Path(path) if path else None


def principal_env(service: str) -> dict[str, str]:
    """FRONTDOOR_* connection variables of `service`'s own principal; empty on a PLAINTEXT broker."""
    if service not in SERVICES:
        raise ValueError(f"unknown Kafka principal {service!r}; one of {SERVICES}")
    credentials = credentials_file()
    if credentials is None:
        return {}
    lines = (credentials.parent / "env" / f"{service}.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line)


def principal_settings(service: str, **overrides: Any) -> Settings:
    """Settings from the environment (dev profile), as `service`'s own principal when the broker is secured."""
    fields = {key.removeprefix("FRONTDOOR_").lower(): value for key, value in principal_env(service).items()}
    return Settings(**({"profile": "dev"} | fields | overrides))
