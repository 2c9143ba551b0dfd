"""The audit entry a dip sample leaves: always a JSON line beside the sample, and on the audit topic when asked.

The record says who drew which sample, when, and with which seed, so anyone can draw it again and check it. It
carries counts per stratum (team or closure reason), never a pseudonym: the sample file holds those.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from schemas.audit import DipSampleDrawn
from services.reports.dip_sample import DipSample
from services.settings import Settings

AUDIT_FILE = "dip-sample-audit.jsonl"


def audit_record(sample: DipSample, user: str, when: dt.datetime, outputs: list[str]) -> DipSampleDrawn:
    return DipSampleDrawn(
        occurred_at=when,
        user=user,
        la_code=sample.la_code,
        quarter=sample.quarter,
        by=sample.by,
        seed=sample.seed,
        size=sample.size,
        drawn=len(sample.drawn),
        allocation=sample.allocation,
        population=sample.population,
        outputs=outputs,
    )


def append_local(directory: Path, record: DipSampleDrawn) -> Path:
    """Append the record to the audit file in `directory` (one JSON object a line; never rewritten)."""
    path = directory / AUDIT_FILE
    with path.open("a", encoding="utf-8") as out:
        out.write(record.model_dump_json() + "\n")
    return path


async def publish(settings: Settings, record: DipSampleDrawn, topic: str) -> None:
    """Send the record to the audit topic with the durable producer, keyed by user as the desk's records are."""
    from aiokafka import AIOKafkaProducer  # noqa: PLC0415  # only --audit-to-kafka needs it

    from services.kafka.clients import producer_kwargs  # noqa: PLC0415

    producer = AIOKafkaProducer(**producer_kwargs(settings))
    await producer.start()
    try:
        await producer.send_and_wait(topic, value=record.model_dump_json().encode(), key=record.user.encode())
    finally:
        await producer.stop()
