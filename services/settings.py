"""All runtime configuration, read once from FRONTDOOR_* environment variables through pydantic-settings."""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections import Counter
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, StringConstraints, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.pseudonym_keys import CouncilKeys, KeyEntry, PseudonymKey, PseudonymKeyring

SecurityProtocol = Literal["PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["SCRAM-SHA-512"]
Profile = Literal["dev", "production"]
# What ingest does with a worker's name (`closing_worker`): dropped unless the council's configuration asks for it.
WorkerNames = Literal["drop", "pseudonymise", "keep"]

# The one key a developer may use without configuring anything. It is only accepted in the dev profile,
# so a production deployment cannot pseudonymise with a key that is printed in the source code.
DEV_PSEUDONYM_KEY = "frontdoor-dev-profile-key-not-for-real-data"
MIN_PSEUDONYM_KEY_BYTES = 32
MIN_PSEUDONYM_KEY_BITS = 128  # estimated entropy, so a long key of few repeated characters is still refused
KEY_HELP = 'make one with: python -c "import secrets; print(secrets.token_hex(32))"'


class Settings(BaseSettings):
    """Every setting the services read. Construct it once in an entry point and pass it down."""

    model_config = SettingsConfigDict(env_prefix="FRONTDOOR_", extra="ignore", frozen=True)

    profile: Profile = "production"

    # Kafka connection
    bootstrap_servers: str = "127.0.0.1:9092"
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: str | None = None
    client_id: str = "frontdoor"

    # Topics: every source topic and faust changelog share one partition count (faust co-partitioning).
    topic_partitions: int = Field(default=6, ge=1, le=1024)
    topic_replication_factor: int = Field(default=1, ge=1, le=7)

    # Pseudonymisation of child identifiers at ingest (keyed HMAC-SHA256): a key per council, with its id, e.g.
    # FRONTDOOR_PSEUDONYM_KEYS='{"886": {"id": "886-2026a", "key": "<64 hex digits>", "retired": [...]}}'.
    pseudonym_keys: dict[Annotated[str, StringConstraints(pattern=r"^\d{3}$")], CouncilKeys] = Field(
        default_factory=dict
    )
    # One key for every council: the dev profile only (and `simulate`, `report --cin-census`), never production ingest.
    pseudonym_key: SecretStr | None = None
    # Workers' names in council extracts: "drop" (default), "pseudonymise" (keyed HMAC) or "keep".
    worker_names: WorkerNames = "drop"

    # The identity store (pseudonym -> the council's own child id, AES-256-GCM): one key for every council, or
    # per-council keys as JSON, e.g. FRONTDOOR_IDENTITY_KEYS='{"886": "<64 hex digits>"}', which take precedence.
    identity_key: SecretStr | None = None
    identity_keys: dict[str, SecretStr] = Field(default_factory=dict)

    # Per-council rule definitions (deploy/rules.example.toml); None: the DfE defaults for every council.
    rules_config: Path | None = None

    @model_validator(mode="after")
    def _sasl_needs_credentials(self) -> Settings:
        if self.security_protocol == "SASL_SSL" and not (self.sasl_username and self.sasl_password):
            raise ValueError(
                "FRONTDOOR_SECURITY_PROTOCOL=SASL_SSL needs FRONTDOOR_SASL_USERNAME and FRONTDOOR_SASL_PASSWORD"
            )
        return self

    def pseudonym_key_bytes(self) -> bytes:
        """The HMAC key; outside the dev profile there is no default, and a missing or weak key is an error."""
        if self.pseudonym_key is not None and self.pseudonym_key.get_secret_value():
            text = self.pseudonym_key.get_secret_value()
            weakness = pseudonym_key_weakness(text) if self.profile != "dev" else None
            if weakness is not None:
                raise WeakPseudonymKeyError(f"FRONTDOOR_PSEUDONYM_KEY is too weak: {weakness}; {KEY_HELP}")
            return text.encode()  # the text's bytes, as always, so pseudonyms made before stay the same
        if self.profile == "dev":
            return DEV_PSEUDONYM_KEY.encode()
        raise MissingPseudonymKeyError(
            "No pseudonymisation key: set FRONTDOOR_PSEUDONYM_KEY (a long random secret), "
            f"or FRONTDOOR_PROFILE=dev for local synthetic data only; {KEY_HELP}"
        )

    def pseudonym_key_for_council_files(self) -> bytes:
        """The key for a council's real files: as above, but never the built-in dev key, in any profile.

        The dev key is printed in this file, so anything pseudonymised with it can be reversed by anyone;
        it serves `simulate` and `demo` (synthetic children) only.
        """
        key = self.pseudonym_key_bytes()
        if key == DEV_PSEUDONYM_KEY.encode():
            raise DevPseudonymKeyError(
                "refusing to pseudonymise council files with the built-in dev key (it is public, in "
                f"services/settings.py): set FRONTDOOR_PSEUDONYM_KEY to the council's own secret; {KEY_HELP}"
            )
        return key

    def pseudonym_keyring(self, *, council_files: bool = True) -> PseudonymKeyring:
        """Each council's keys (FRONTDOOR_PSEUDONYM_KEYS), checked; in the dev profile only, the single key serves
        councils without their own. `council_files`: never the public dev key, as for a council's real files."""
        councils = {la: _council_keys(la, entry, self.profile) for la, entry in sorted(self.pseudonym_keys.items())}
        secrets_seen = [key.secret for keys in councils.values() for key in keys]
        if self.profile != "dev" and len(secrets_seen) != len(set(secrets_seen)):
            raise WeakPseudonymKeyError("FRONTDOOR_PSEUDONYM_KEYS: a key is used twice; every council needs its own")
        if self.profile != "dev":
            if not councils:
                raise MissingPseudonymKeyError(_NO_COUNCIL_KEYS + _SHARED_KEY_NOTE * bool(self.pseudonym_key))
            return PseudonymKeyring(councils)
        try:
            shared = self.pseudonym_key_for_council_files() if council_files else self.pseudonym_key_bytes()
        except MissingPseudonymKeyError:
            if not councils:
                raise
            return PseudonymKeyring(councils)
        return PseudonymKeyring(councils, PseudonymKeyring.shared(shared).fallback)


_NO_COUNCIL_KEYS = (
    "No pseudonymisation key: set FRONTDOOR_PSEUDONYM_KEYS to each council's key and key id, e.g. "
    '\'{"886": {"id": "886-2026a", "key": "<64 hex digits>"}}\' (docs/platform.md)'
)
_SHARED_KEY_NOTE = "; FRONTDOOR_PSEUDONYM_KEY (one key for every council) serves the dev profile only"


def _council_keys(la_code: str, entry: CouncilKeys, profile: Profile) -> tuple[PseudonymKey, ...]:
    """A council's current key then its retired ones; weak keys refused outside dev, the public dev key always."""
    keys: list[KeyEntry] = [entry, *entry.retired]
    ids = [k.id for k in keys]
    if len(ids) != len(set(ids)):
        raise WeakPseudonymKeyError(f"FRONTDOOR_PSEUDONYM_KEYS[{la_code}]: two keys share an id")
    for key in keys:
        text = key.key.get_secret_value()
        weakness = pseudonym_key_weakness(text) if profile != "dev" or text == DEV_PSEUDONYM_KEY else None
        if weakness is not None:
            raise WeakPseudonymKeyError(
                f"FRONTDOOR_PSEUDONYM_KEYS[{la_code}] key {key.id} is too weak: {weakness}; {KEY_HELP}"
            )
    return tuple(PseudonymKey(k.id, k.key.get_secret_value().encode()) for k in keys)


def pseudonym_key_weakness(text: str) -> str | None:
    """Why a configured key is too weak to pseudonymise real children with, or None when it is strong enough.

    A key is read as hex or base64 when it is one (as `secrets.token_hex`/`token_urlsafe` print them), else as
    its UTF-8 bytes; either way it needs 32 bytes, and an entropy estimate that a repeated pattern cannot reach.
    """
    if text == DEV_PSEUDONYM_KEY:
        return "it is the built-in dev key, which is public"
    decoded = _decoded_bytes(text)
    if decoded < MIN_PSEUDONYM_KEY_BYTES:
        return f"{decoded} bytes after decoding, fewer than {MIN_PSEUDONYM_KEY_BYTES}"
    if (text + text).find(text, 1) < len(text):
        return "it repeats a shorter pattern"
    counts = Counter(text)
    bits = len(text) * -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())
    if len(counts) < 8 or bits < MIN_PSEUDONYM_KEY_BITS:
        return f"too few different characters (about {bits:.0f} bits of entropy, {MIN_PSEUDONYM_KEY_BITS} needed)"
    return None


def _decoded_bytes(text: str) -> int:
    if re.fullmatch(r"(?:[0-9a-fA-F]{2})+", text):
        return len(text) // 2
    # Base64 only when it looks like a token (mixed case and digits, or padded), not a dashed passphrase.
    token_like = text.endswith("=") or all(re.search(c, text) for c in ("[a-z]", "[A-Z]", "[0-9]"))
    if token_like and re.fullmatch(r"[A-Za-z0-9_\-+/]+={0,2}", text):
        try:
            return len(base64.urlsafe_b64decode(text.replace("+", "-").replace("/", "_") + "=" * (-len(text) % 4)))
        except (binascii.Error, ValueError):
            pass
    return len(text.encode())


class MissingPseudonymKeyError(RuntimeError):
    """Raised when child identifiers would be pseudonymised without a configured key."""


class WeakPseudonymKeyError(MissingPseudonymKeyError):
    """Raised outside the dev profile when the configured key is short or low in entropy."""


class DevPseudonymKeyError(MissingPseudonymKeyError):
    """Raised when a council's real files would be pseudonymised with the public dev key."""
