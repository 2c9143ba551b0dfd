"""The receiver's own settings (FRONTDOOR_RECEIVER_*), read once by its entry point beside the shared Settings."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.topics import CSC_RECORDS, DEADLETTER, EVENTS, IDENTITY

MIB = 1024 * 1024
MIN_TOKEN_SECRET_BYTES = 32


class ReceiverSettings(BaseSettings):
    """Everything `frontdoor receive` reads besides the Kafka connection. Construct once and pass down."""

    model_config = SettingsConfigDict(env_prefix="FRONTDOOR_RECEIVER_", extra="ignore", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8090, ge=1, le=65535)  # plain HTTP: TLS ends at the reverse proxy in front
    # The councils' senders (client id, council, argon2id hash of the secret); see `frontdoor receive add-client`.
    clients_file: Path = Path("receiver-clients.json")
    # Signs the access tokens the token endpoint issues (HS256). Without it a random key is made at start, which
    # only means senders ask for a new token after a restart; set a long random value to run several receivers.
    token_secret: SecretStr | None = None
    token_ttl_seconds: int = Field(default=900, ge=60, le=3600)
    token_issuer: str = "frontdoor-receiver"  # noqa: S105  # the iss claim, not a secret
    # An external identity provider instead of (or beside) the token endpoint: its issuer URL (JWKS by discovery),
    # the audience its tokens name, and the claim that names the council.
    oidc_issuer: str | None = None
    oidc_audience: str = "frontdoor-receiver"
    oidc_la_code_claim: str = "frontdoor_la_code"

    # A body larger than this is refused with 413 before it is read; the pilot sender posts 100 records a batch.
    max_body_bytes: int = Field(default=8 * MIB, ge=1024)
    max_records_per_batch: int = Field(default=1000, ge=1)
    # Token requests check an argon2id hash in a small thread pool: at most this many at once, and this many queued.
    max_concurrent_secret_checks: int = Field(default=2, ge=1, le=16)
    max_waiting_secret_checks: int = Field(default=16, ge=0)
    keepalive_timeout_seconds: float = Field(default=15.0, gt=0)

    # The topics it writes (the production names; tests give private copies).
    events_topic: str = EVENTS.name
    deadletter_topic: str = DEADLETTER.name
    identity_topic: str = IDENTITY.name
    records_topic: str = CSC_RECORDS.name

    @field_validator("token_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < MIN_TOKEN_SECRET_BYTES:
            raise ValueError(f"FRONTDOOR_RECEIVER_TOKEN_SECRET needs at least {MIN_TOKEN_SECRET_BYTES} bytes")
        return value
