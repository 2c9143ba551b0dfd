"""Kafka client settings in one place: aiokafka keyword arguments and faust broker credentials from Settings."""

from __future__ import annotations

import ssl
from typing import Any

from services.settings import Settings


class InsecureKafkaError(RuntimeError):
    """Raised when a client outside the dev profile would talk to Kafka in PLAINTEXT."""


def require_secure_outside_dev(settings: Settings) -> None:
    """Outside the dev profile every Kafka connection is SASL_SSL: a PLAINTEXT one is refused before it is made.

    Checked when a client is built rather than when Settings is read, so commands that never touch Kafka
    (report, replay, add-user) still run with the default production profile.
    """
    if settings.profile != "dev" and settings.security_protocol == "PLAINTEXT":
        raise InsecureKafkaError(
            f"FRONTDOOR_PROFILE={settings.profile} refuses a PLAINTEXT Kafka connection: set "
            "FRONTDOOR_SECURITY_PROTOCOL=SASL_SSL with FRONTDOOR_SASL_USERNAME, FRONTDOOR_SASL_PASSWORD and "
            "FRONTDOOR_SSL_CAFILE (see docs/security.md), or FRONTDOOR_PROFILE=dev for a local broker and "
            "synthetic data only"
        )


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """A verifying TLS context for SASL_SSL (system CAs, or the council's CA bundle); None for PLAINTEXT."""
    if settings.security_protocol != "SASL_SSL":
        return None
    context = ssl.create_default_context(cafile=settings.ssl_cafile)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def common_kwargs(settings: Settings) -> dict[str, Any]:
    """Connection arguments shared by aiokafka producers, consumers and admin clients."""
    require_secure_outside_dev(settings)
    kwargs: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "client_id": settings.client_id,
        "security_protocol": settings.security_protocol,
    }
    if settings.security_protocol == "SASL_SSL":
        assert settings.sasl_password is not None  # guaranteed by the Settings validator
        kwargs |= {
            "ssl_context": ssl_context(settings),
            "sasl_mechanism": settings.sasl_mechanism,
            "sasl_plain_username": settings.sasl_username,
            "sasl_plain_password": settings.sasl_password.get_secret_value(),
        }
    return kwargs


def producer_kwargs(settings: Settings) -> dict[str, Any]:
    """The durable producer: every in-sync replica acknowledges, and retries cannot duplicate or reorder.

    A send is retried (leader moved, too few replicas in sync) every `retry_backoff_ms` until `request_timeout_ms`,
    then fails with an error the caller sees: a leader election (seconds) is ridden out, a lasting loss of
    min.insync.replicas is not waited on silently.
    """
    return common_kwargs(settings) | {
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "compression_type": None,
        "retry_backoff_ms": 250,
        "request_timeout_ms": 30_000,
    }


def consumer_kwargs(settings: Settings, group_id: str | None) -> dict[str, Any]:
    """At-least-once consumption: offsets are committed by the caller after the work is done."""
    return common_kwargs(settings) | {
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "isolation_level": "read_committed",
    }


def faust_broker_url(settings: Settings) -> str:
    """faust's broker URL; faust's kafka:// transport is aiokafka underneath."""
    require_secure_outside_dev(settings)
    return ",".join(f"kafka://{host.strip()}" for host in settings.bootstrap_servers.split(",") if host.strip())


def faust_credentials(settings: Settings) -> Any:
    """faust SASL credentials for SASL_SSL, or None for PLAINTEXT."""
    if settings.security_protocol != "SASL_SSL":
        return None
    from faust.auth import SASLCredentials  # noqa: PLC0415  # faust is imported only by entry points that run it

    assert settings.sasl_password is not None  # guaranteed by the Settings validator
    return SASLCredentials(
        username=settings.sasl_username,
        password=settings.sasl_password.get_secret_value(),
        ssl_context=ssl_context(settings),
        mechanism=settings.sasl_mechanism,
    )
