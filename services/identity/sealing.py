"""Sealing a child's council id with its council's key (AES-256-GCM, `cryptography`), and opening it again."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr

from schemas.identity import ChildIdentitySealed
from schemas.topics import IDENTITY

KEY_BYTES = 32
NONCE_BYTES = 12
KEY_HELP = 'make one with: python -c "import secrets; print(secrets.token_hex(32))"'


class IdentityKeyError(ValueError):
    """No key is configured for a council, or a configured key is not 32 bytes of hex or base64."""


class IdentityUnsealError(ValueError):
    """A sealed id did not open: another key, or a value altered or moved to another child or council."""


def decode_key(text: str) -> bytes:
    """A 256-bit key from 64 hex digits or URL-safe base64 (as `secrets.token_hex(32)`/`token_urlsafe(32)` print)."""
    text = text.strip()
    try:
        raw = bytes.fromhex(text) if re.fullmatch(r"[0-9a-fA-F]{64}", text) else _b64(text)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise IdentityKeyError(f"an identity key must be {KEY_BYTES} bytes as hex or base64; {KEY_HELP}")
    return raw


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text.replace("+", "-").replace("/", "_") + "=" * (-len(text) % 4))


def key_id(key: bytes) -> str:
    """A short public fingerprint of a key, stored beside each sealed id so a key change is told apart."""
    return hashlib.sha256(b"frontdoor identity key id\x1f" + key).hexdigest()[:16]


def _associated_data(la_code: str, child_key: str) -> bytes:
    return "\x1f".join((IDENTITY.name, la_code, child_key)).encode()


@dataclass(frozen=True, slots=True)
class Keyring:
    """Each council's key: its own when configured (`per_council`), else the shared `default`."""

    default: bytes | None = None
    per_council: Mapping[str, bytes] | None = None

    @classmethod
    def from_secrets(cls, default: SecretStr | None, per_council: Mapping[str, SecretStr]) -> Keyring:
        shared = decode_key(default.get_secret_value()) if default and default.get_secret_value() else None
        own = {la_code: decode_key(secret.get_secret_value()) for la_code, secret in per_council.items()}
        return cls(shared, own)

    @property
    def empty(self) -> bool:
        return self.default is None and not self.per_council

    def key_for(self, la_code: str) -> bytes:
        key = (self.per_council or {}).get(la_code, self.default)
        if key is None:
            raise IdentityKeyError(f"no identity key for council {la_code}: set FRONTDOOR_IDENTITY_KEY(S)")
        return key

    def seal(self, la_code: str, child_key: str, la_child_id: str, now: dt.datetime) -> ChildIdentitySealed:
        key = self.key_for(la_code)
        nonce = os.urandom(NONCE_BYTES)  # random 96-bit nonces: safe far beyond any council's number of children
        sealed = AESGCM(key).encrypt(nonce, la_child_id.encode(), _associated_data(la_code, child_key))
        return ChildIdentitySealed(
            la_code=la_code,
            child_key=child_key,
            key_id=key_id(key),
            nonce=base64.urlsafe_b64encode(nonce).decode(),
            ciphertext=base64.urlsafe_b64encode(sealed).decode(),
            occurred_at=now,
        )

    def unseal(self, record: ChildIdentitySealed) -> str:
        """The council's child id, or IdentityUnsealError (never a partial or guessed value)."""
        key = self.key_for(record.la_code)
        if key_id(key) != record.key_id:
            raise IdentityUnsealError(f"sealed with key {record.key_id}, not council {record.la_code}'s current key")
        try:
            plain = AESGCM(key).decrypt(
                _b64(record.nonce), _b64(record.ciphertext), _associated_data(record.la_code, record.child_key)
            )
        except (InvalidTag, binascii.Error, ValueError) as error:
            raise IdentityUnsealError("the sealed id does not open with this council's key") from error
        return plain.decode()
