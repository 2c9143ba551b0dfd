"""Where the shared reference data lives: `../shared/reference-data` beside the checkout, as in CI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REFERENCE_DATA = Path(
    os.environ.get("FRONTDOOR_REFERENCE_DATA", Path(__file__).resolve().parents[2] / "shared" / "reference-data")
)


def reference_file(*parts: str) -> Path:
    """A reference file; missing data fails under REFERENCE_DATA_REQUIRED=1 (make test) and skips otherwise."""
    path = REFERENCE_DATA.joinpath(*parts)
    if not path.exists():
        message = f"reference data not present at {path} (set FRONTDOOR_REFERENCE_DATA)"
        if os.environ.get("REFERENCE_DATA_REQUIRED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path
