"""Browser tests need the broker: reuse the integration fixtures (kafka settings, the skip hook)."""

from tests.integration.conftest import kafka_settings, pytest_runtest_setup

__all__ = ["kafka_settings", "pytest_runtest_setup"]
