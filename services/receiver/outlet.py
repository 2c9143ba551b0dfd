"""The receiver's Kafka side: events (acks=all), then identities sealed or erased and merged records; dead letters.

Events go first: if the process dies before the merged records are stored, the sender's next send is translated
against the older record and gives the same event ids again, which the core ignores.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from schemas.codec import encode
from schemas.csc_api import CscChildState
from services.identity.sealing import Keyring
from services.identity.store import send_erasure
from services.kafka.previous_records import KafkaPreviousRecords
from services.kafka.publish import EventPublisher
from services.receiver.intake import BatchPlan

log = logging.getLogger(__name__)


@dataclass(slots=True)
class KafkaOutlet:
    """`keyring` None: no identity key configured, so no child's council id is kept (the desk cannot reveal)."""

    publisher: EventPublisher
    store: KafkaPreviousRecords
    keyring: Keyring | None
    identity_topic: str
    deadletter_topic: str
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)

    async def previous(self, child_key: str) -> object | None:
        return await self.store.get(child_key)

    async def deliver(self, plan: BatchPlan) -> None:
        await self.publisher.send_batch(plan.events)
        await self._update_identities(plan)
        states = [state for state in plan.records().values() if isinstance(state, CscChildState)]
        await self.store.put(states)

    async def _update_identities(self, plan: BatchPlan) -> None:
        """In the batch's order: a child seen for the first time has its council id sealed with the council's key
        (AES-256-GCM); a child purged whole is erased, tombstones as `frontdoor identity erase` sends them."""
        now, producer = self.clock(), self.publisher.producer
        pending, erased = [], 0
        for _index, admitted in plan.admitted:
            if admitted.identity is not None and self.keyring is not None:
                la_code, la_child_id = admitted.identity
                sealed = self.keyring.seal(la_code, admitted.child_key, la_child_id, now)
                pending.append(await producer.send(self.identity_topic, encode(sealed), key=sealed.child_key.encode()))
            if admitted.erased:
                await asyncio.gather(*pending)  # a seal before an erasure of the same child lands first
                pending = []
                await send_erasure(producer, admitted.erased, self.identity_topic)
                erased += len(admitted.erased)
        await asyncio.gather(*pending)
        if erased:
            log.info("identity store: %d pseudonyms of children purged whole erased (%s)", erased, self.identity_topic)

    async def dead_letters(self, la_code: str, refused: Sequence[tuple[int, str]]) -> None:
        """Where the record was and why it was refused, never the record (it holds the council's child id)."""
        producer = self.publisher.producer
        pending = []
        for index, reason in refused:
            letter = {"stage": "receive", "source": "dfe-csc-api", "la_code": la_code}
            letter |= {"location": f"batch record {index}", "reason": reason}
            pending.append(
                await producer.send(self.deadletter_topic, json.dumps(letter).encode(), key=la_code.encode())
            )
        await asyncio.gather(*pending)
