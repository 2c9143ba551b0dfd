"""The pseudonym format every child key has on Kafka (32 hex digits of a keyed HMAC-SHA256), and its key id."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import StringConstraints

PSEUDONYM_HEX_DIGITS = 32
PSEUDONYM_PATTERN = re.compile(rf"[0-9a-f]{{{PSEUDONYM_HEX_DIGITS}}}")
# A council's key id, e.g. "886-2026a": public, recorded with every event, never the key itself.
KEY_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
PseudonymKeyId = Annotated[str, StringConstraints(pattern=KEY_ID_PATTERN)]


def is_pseudonym(value: object) -> bool:
    """True for what the ingest HMAC produces; a raw council id (e.g. "C123", an NHS number) is never one."""
    return isinstance(value, str) and PSEUDONYM_PATTERN.fullmatch(value) is not None
