"""All runtime configuration, read once from FRONTDOOR_* environment variables through pydantic-settings."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SecurityProtocol = Literal["PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["SCRAM-SHA-512"]
Profile = Literal["dev", "production"]

# The one key a developer may use without configuring anything. It is only accepted in the dev profile,
# so a production deployment cannot pseudonymise with a key that is printed in the source code.
DEV_PSEUDONYM_KEY = "frontdoor-dev-profile-key-not-for-real-data"


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

    # Pseudonymisation of child identifiers at ingest (keyed HMAC-SHA256).
    pseudonym_key: SecretStr | None = None

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
        """The HMAC key; outside the dev profile there is no default and a missing key is an error."""
        if self.pseudonym_key is not None and self.pseudonym_key.get_secret_value():
            return self.pseudonym_key.get_secret_value().encode()
        if self.profile == "dev":
            return DEV_PSEUDONYM_KEY.encode()
        raise MissingPseudonymKeyError(
            "No pseudonymisation key: set FRONTDOOR_PSEUDONYM_KEY (a long random secret), "
            "or FRONTDOOR_PROFILE=dev for local synthetic data only."
        )


class MissingPseudonymKeyError(RuntimeError):
    """Raised when child identifiers would be pseudonymised without a configured key."""
