"""The pseudonym format every child key has on Kafka: the first 32 hex digits of a keyed HMAC-SHA256."""

from __future__ import annotations

import re

PSEUDONYM_HEX_DIGITS = 32
PSEUDONYM_PATTERN = re.compile(rf"[0-9a-f]{{{PSEUDONYM_HEX_DIGITS}}}")


def is_pseudonym(value: object) -> bool:
    """True for what the ingest HMAC produces; a raw council id (e.g. "C123", an NHS number) is never one."""
    return isinstance(value, str) and PSEUDONYM_PATTERN.fullmatch(value) is not None
