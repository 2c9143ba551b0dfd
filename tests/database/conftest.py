"""The read model's backends: SQLite in a temporary file, and a private PostgreSQL started once per session.

PostgreSQL is started with deploy/postgres/launcher.py (initdb + pg_ctl) on a free port and a socket dir under a
temporary directory, and stopped at the end. Without the server binaries its tests skip, unless
POSTGRES_REQUIRED=1 (as `make test` sets), when they fail.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.alertdesk.database import Database
from services.alertdesk.readmodel import ReadModel

LAUNCHER = Path(__file__).resolve().parents[2] / "deploy" / "postgres" / "launcher.py"
_spec = importlib.util.spec_from_file_location("postgres_launcher", LAUNCHER)
assert _spec and _spec.loader
launcher = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(launcher)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if not launcher.available():
        message = "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found"
        if os.environ.get("POSTGRES_REQUIRED") == "1":
            pytest.fail(f"POSTGRES_REQUIRED=1 but {message}", pytrace=False)
        pytest.skip(message)
    # Not under pytest's tmp dir: that is private to root, and as root the server runs as the postgres user.
    directory = Path(tempfile.mkdtemp(prefix="frontdoor-postgres-"))
    try:
        yield launcher.up(directory, _free_port())
    finally:
        launcher.down(directory)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test runs on both backends; on PostgreSQL in a schema of its own, dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'desk.sqlite3'}"
        return
    base = request.getfixturevalue("postgres_url")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = Database(base)
    admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")
        admin.close()


@pytest.fixture
def model(database_url: str) -> Iterator[ReadModel]:
    db = Database(database_url)
    db.create_schema()
    try:
        yield ReadModel(db)
    finally:
        db.close()
