"""The stream libraries the worker is tested against are the ones installed: an upgrade is a deliberate change."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def pinned() -> dict[str, str]:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    pins = {}
    for requirement in dependencies:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^,;\s]+)", requirement.strip())
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def test_faust_streaming_and_aiokafka_are_pinned_to_exact_versions() -> None:
    assert {"faust-streaming", "aiokafka"} <= set(pinned())


@pytest.mark.parametrize("package", ["faust-streaming", "aiokafka"])
def test_the_installed_version_is_the_pinned_one(package: str) -> None:
    assert version(package) == pinned()[package], (
        f"{package} {version(package)} is installed but {pinned()[package]} is pinned: re-run the processor's broker "
        "tests and tests/component/test_faust_workarounds.py against the new version before changing the pin"
    )
