"""Builders for receiver tests: a memory outlet, a stand-in translation, and the app over them."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry

from schemas.codes import ReferralSource
from schemas.events import InboundEvent, ReferralOpened
from services.metrics.metrics import ReceiverMetrics
from services.receiver.app import ReceiverContext
from services.receiver.clients import Client, ClientRegistry
from services.receiver.intake import Admitted, BatchPlan, Lookup, RecordRefused
from services.receiver.service import Receiver
from services.receiver.tokens import TokenIssuer

NOW = dt.datetime(2026, 5, 12, 21, 30, tzinfo=dt.UTC)
KENT, WIRRAL = "886", "344"


def pseudonym(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def make_record(child: str = "C1", **overrides: object) -> dict[str, object]:
    return {"la_child_id": child, "mis_child_id": f"M-{child}", "child_details": {}} | overrides


async def stand_in_translate(item: object, la_code: str, previous: Lookup) -> Admitted:
    """One ReferralOpened per record not seen before; a record without la_child_id is refused."""
    assert isinstance(item, dict)
    if not isinstance(item.get("la_child_id"), str):
        raise RecordRefused("la_child_id: Field required")
    key = pseudonym(item["la_child_id"])
    seen = await previous(key)
    events: list[InboundEvent] = []
    if seen is None:
        events.append(
            ReferralOpened(
                event_id=pseudonym(f"event {key}"),
                la_code=la_code,
                child_key=key,
                occurred_at=NOW,
                recorded_at=NOW,
                referral_id=pseudonym(f"referral {key}"),
                referral_date=NOW.date(),
                source=ReferralSource("1A"),
            )
        )
    return Admitted(key, events, {"sends": (seen or {"sends": 0})["sends"] + 1})  # type: ignore[index]  # test record


@dataclass
class MemoryOutlet:
    """Records what would reach Kafka; `fail` makes the next delivery fail like an unreachable broker."""

    events: list[InboundEvent] = field(default_factory=list)
    records: dict[str, object] = field(default_factory=dict)
    letters: list[tuple[str, int, str]] = field(default_factory=list)
    fail: bool = False

    async def previous(self, child_key: str) -> object | None:
        return self.records.get(child_key)

    async def deliver(self, plan: BatchPlan) -> None:
        if self.fail:
            raise ConnectionError("broker unreachable")
        self.events.extend(plan.events)
        self.records.update(plan.records())

    async def dead_letters(self, la_code: str, refused: Sequence[tuple[int, str]]) -> None:
        self.letters.extend((la_code, index, reason) for index, reason in refused)


@dataclass
class Harness:
    outlet: MemoryOutlet = field(default_factory=MemoryOutlet)
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    issuer: TokenIssuer = field(default_factory=lambda: TokenIssuer(b"k" * 32, "frontdoor-receiver", 900))
    clients: ClientRegistry = field(default_factory=lambda: ClientRegistry({}))
    max_body_bytes: int = 64 * 1024

    def __post_init__(self) -> None:
        self.metrics = ReceiverMetrics(self.registry, (KENT, WIRRAL))
        self.receiver = Receiver(self.outlet, stand_in_translate, self.metrics, clock=lambda: NOW)

    def context(self) -> ReceiverContext:
        return ReceiverContext(
            receiver=self.receiver,
            clients=self.clients,
            issuer=self.issuer,
            metrics=self.metrics,
            registry=self.registry,
            max_body_bytes=self.max_body_bytes,
            max_records_per_batch=100,
            clock=lambda: dt.datetime.now(dt.UTC),
        )

    def token_for(self, la_code: str, client_id: str = "sender") -> str:
        return self.issuer.issue(Client(client_id, la_code), dt.datetime.now(dt.UTC))

    def sample(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels) or 0.0
