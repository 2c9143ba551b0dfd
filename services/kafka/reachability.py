"""Whether a Kafka broker answers: one metadata request within a deadline, for entry points that check first."""

from __future__ import annotations

import asyncio
import contextlib

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from services.kafka.clients import common_kwargs
from services.settings import Settings


async def broker_answers(settings: Settings, timeout_seconds: float = 5.0) -> bool:
    """True if the configured bootstrap servers answer a list of topics within `timeout_seconds`."""
    admin = AIOKafkaAdminClient(**common_kwargs(settings), request_timeout_ms=int(timeout_seconds * 1000))
    try:
        async with asyncio.timeout(timeout_seconds):
            await admin.start()
            await admin.list_topics()
    except (KafkaError, OSError, TimeoutError):
        return False
    finally:
        with contextlib.suppress(KafkaError, OSError):  # a client that never connected has nothing to free
            await admin.close()
    return True
