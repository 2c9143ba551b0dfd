"""The integration conftest: without a broker, kafka tests skip, and with KAFKA_REQUIRED=1 they fail loudly."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

KAFKA_TEST = """
import pytest


@pytest.mark.kafka
def test_needs_a_broker(kafka_settings):
    assert kafka_settings.bootstrap_servers
"""

PYTEST_INI = """
[pytest]
addopts = --strict-markers -ra -p no:cacheprovider
markers =
    kafka: needs the real Kafka broker
"""


def unused_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def suite_without_broker(tmp_path: Path) -> Path:
    """A one-test suite using a copy of this directory's conftest, in its own rootdir."""
    shutil.copy(Path(__file__).with_name("conftest.py"), tmp_path / "conftest.py")
    (tmp_path / "pytest.ini").write_text(PYTEST_INI)
    (tmp_path / "test_needs_kafka.py").write_text(KAFKA_TEST)
    return tmp_path


def run_suite(suite: Path, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"KAFKA_REQUIRED", "PYTEST_ADDOPTS"}}
    env |= {"FRONTDOOR_BOOTSTRAP_SERVERS": f"127.0.0.1:{unused_port()}", "PYTHONPATH": str(REPO_ROOT)} | extra_env
    return subprocess.run(
        [sys.executable, "-m", "pytest", str(suite)],
        cwd=suite,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_with_kafka_required_and_no_broker_the_suite_fails_naming_make_kafka_up(suite_without_broker: Path) -> None:
    result = run_suite(suite_without_broker, KAFKA_REQUIRED="1")

    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "KAFKA_REQUIRED=1 but no Kafka broker answers" in output
    assert "make kafka-up" in output
    assert "1 error" in output


def test_without_kafka_required_and_no_broker_kafka_tests_are_skipped_naming_make_kafka_up(
    suite_without_broker: Path,
) -> None:
    result = run_suite(suite_without_broker)

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "1 skipped" in output
    assert "make kafka-up" in output
