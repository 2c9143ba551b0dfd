"""The security-relevant defaults of services.settings: Kafka auth, env prefix, and the pseudonymisation key."""

from __future__ import annotations

import os

import pytest
from pydantic import SecretStr, ValidationError

from services.kafka.clients import InsecureKafkaError, common_kwargs, faust_broker_url, faust_credentials
from services.settings import DEV_PSEUDONYM_KEY, MissingPseudonymKeyError, Settings

SECRET_PASSWORD = "correct-horse-battery-staple-7"
SECRET_KEY = "a-long-random-production-pseudonym-key"
UNPREFIXED_NAMES = ("PROFILE", "BOOTSTRAP_SERVERS", "SECURITY_PROTOCOL", "SASL_USERNAME", "SASL_PASSWORD")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from an environment with no frontdoor settings in it, prefixed or not."""
    for name in list(os.environ):
        if name.startswith("FRONTDOOR_") or name in UNPREFIXED_NAMES:
            monkeypatch.delenv(name)


def use_sasl_ssl(monkeypatch: pytest.MonkeyPatch, *, username: str | None, password: str | None) -> None:
    monkeypatch.setenv("FRONTDOOR_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("FRONTDOOR_SASL_MECHANISM", "SCRAM-SHA-512")
    if username is not None:
        monkeypatch.setenv("FRONTDOOR_SASL_USERNAME", username)
    if password is not None:
        monkeypatch.setenv("FRONTDOOR_SASL_PASSWORD", password)


def test_kafka_connection_defaults_to_plaintext_on_loopback_without_credentials() -> None:
    settings = Settings()

    assert settings.security_protocol == "PLAINTEXT"
    assert settings.bootstrap_servers == "127.0.0.1:9092"
    assert settings.sasl_username is None
    assert settings.sasl_password is None


def test_sasl_ssl_with_scram_sha_512_and_credentials_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    use_sasl_ssl(monkeypatch, username="frontdoor-worker", password=SECRET_PASSWORD)
    monkeypatch.setenv("FRONTDOOR_SSL_CAFILE", "/etc/frontdoor/ca.pem")

    settings = Settings()

    assert settings.security_protocol == "SASL_SSL"
    assert settings.sasl_mechanism == "SCRAM-SHA-512"
    assert settings.sasl_username == "frontdoor-worker"
    assert settings.ssl_cafile == "/etc/frontdoor/ca.pem"
    assert isinstance(settings.sasl_password, SecretStr)
    assert settings.sasl_password.get_secret_value() == SECRET_PASSWORD


def test_sasl_password_never_appears_in_repr_or_str(monkeypatch: pytest.MonkeyPatch) -> None:
    use_sasl_ssl(monkeypatch, username="frontdoor-worker", password=SECRET_PASSWORD)

    settings = Settings()

    assert SECRET_PASSWORD not in repr(settings)
    assert SECRET_PASSWORD not in str(settings)
    assert SECRET_PASSWORD not in repr(settings.model_dump())


@pytest.mark.parametrize(
    ("username", "password"),
    [(None, None), ("frontdoor-worker", None), (None, SECRET_PASSWORD), ("", SECRET_PASSWORD)],
)
def test_sasl_ssl_without_both_credentials_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, username: str | None, password: str | None
) -> None:
    use_sasl_ssl(monkeypatch, username=username, password=password)

    with pytest.raises(ValidationError) as raised:
        Settings()

    message = str(raised.value)
    assert "FRONTDOOR_SASL_USERNAME" in message
    assert "FRONTDOOR_SASL_PASSWORD" in message
    if password is not None:
        assert password not in message


def test_sasl_mechanisms_weaker_than_scram_sha_512_are_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    use_sasl_ssl(monkeypatch, username="frontdoor-worker", password=SECRET_PASSWORD)
    monkeypatch.setenv("FRONTDOOR_SASL_MECHANISM", "PLAIN")

    with pytest.raises(ValidationError, match="sasl_mechanism"):
        Settings()


def test_unencrypted_sasl_protocols_are_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_SECURITY_PROTOCOL", "SASL_PLAINTEXT")

    with pytest.raises(ValidationError, match="security_protocol"):
        Settings()


def test_frontdoor_prefixed_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_BOOTSTRAP_SERVERS", "broker-1.la.example:9093")
    monkeypatch.setenv("FRONTDOOR_TOPIC_PARTITIONS", "12")

    settings = Settings()

    assert settings.bootstrap_servers == "broker-1.la.example:9093"
    assert settings.topic_partitions == 12


def test_unprefixed_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOOTSTRAP_SERVERS", "attacker.example:9092")
    monkeypatch.setenv("SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("PROFILE", "dev")

    settings = Settings()

    assert settings.bootstrap_servers == "127.0.0.1:9092"
    assert settings.security_protocol == "PLAINTEXT"
    assert settings.profile == "production"


def test_profile_defaults_to_production() -> None:
    assert Settings().profile == "production"


@pytest.mark.parametrize("configured_key", [None, ""])
def test_missing_pseudonym_key_outside_dev_profile_names_the_variable_to_set(
    monkeypatch: pytest.MonkeyPatch, configured_key: str | None
) -> None:
    monkeypatch.setenv("FRONTDOOR_PROFILE", "production")
    if configured_key is not None:
        monkeypatch.setenv("FRONTDOOR_PSEUDONYM_KEY", configured_key)
    settings = Settings()

    with pytest.raises(MissingPseudonymKeyError, match="FRONTDOOR_PSEUDONYM_KEY"):
        settings.pseudonym_key_bytes()


def test_production_profile_uses_the_configured_pseudonym_key_and_hides_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FRONTDOOR_PSEUDONYM_KEY", SECRET_KEY)

    settings = Settings()

    assert settings.pseudonym_key_bytes() == SECRET_KEY.encode()
    assert SECRET_KEY not in repr(settings)


def test_dev_profile_has_a_pseudonym_key_without_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_PROFILE", "dev")

    key = Settings().pseudonym_key_bytes()

    assert key == DEV_PSEUDONYM_KEY.encode()
    assert len(key) >= 32


def test_dev_profile_still_prefers_a_configured_pseudonym_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_PROFILE", "dev")
    monkeypatch.setenv("FRONTDOOR_PSEUDONYM_KEY", SECRET_KEY)

    assert Settings().pseudonym_key_bytes() == SECRET_KEY.encode()


def test_the_production_profile_refuses_a_plaintext_kafka_client_before_connecting() -> None:
    settings = Settings()  # the defaults: production profile, PLAINTEXT

    with pytest.raises(InsecureKafkaError, match="FRONTDOOR_SECURITY_PROTOCOL=SASL_SSL"):
        common_kwargs(settings)
    with pytest.raises(InsecureKafkaError):
        faust_broker_url(settings)


def test_the_production_profile_builds_sasl_ssl_clients_with_scram_sha_512(monkeypatch: pytest.MonkeyPatch) -> None:
    use_sasl_ssl(monkeypatch, username="frontdoor-worker", password=SECRET_PASSWORD)

    kwargs = common_kwargs(Settings())

    assert kwargs["security_protocol"] == "SASL_SSL"
    assert kwargs["sasl_mechanism"] == "SCRAM-SHA-512"
    assert faust_credentials(Settings()).mechanism.value == "SCRAM-SHA-512"


def test_the_dev_profile_may_use_a_plaintext_local_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_PROFILE", "dev")

    assert common_kwargs(Settings())["security_protocol"] == "PLAINTEXT"
