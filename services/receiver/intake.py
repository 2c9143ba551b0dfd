"""A batch's records through validation, the council check and translation, before anything is published.

Plain Python over an injected `Translate`, so the per-record answers are tested without HTTP or Kafka. A child
sent twice in one batch is translated against its record as the earlier entry left it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from schemas.events import InboundEvent
from services.receiver.answers import RecordAnswer, accepted, rejected
from services.receiver.clients import LA_CODE
from services.receiver.tokens import Caller

MAX_REASON_CHARACTERS = 300


class RecordRefused(Exception):
    """A record that cannot be taken; the message is the reason sent back, and must not quote the record."""


@dataclass(frozen=True, slots=True)
class Admitted:
    """One record translated: its pseudonymised child, the events it changed, and what to store for next time.

    `record` is the merged record (no plain child id) for the previous-record store; `identity` is
    (la_code, the council's child id) for the sealed identity store, or None to leave it as it is; `erased` are the
    pseudonyms to erase from the identity store (a whole-child purge: the child under every key of its council).
    """

    child_key: str
    events: Sequence[InboundEvent]
    record: object
    identity: tuple[str, str] | None = None
    erased: tuple[str, ...] = ()


# The child's previous record by pseudonym (None: never seen).
Lookup = Callable[[str], Awaitable[object | None]]
# (one JSON item, the caller's council, the lookup) -> Admitted, or raises RecordRefused
Translate = Callable[[object, str, Lookup], Awaitable[Admitted]]


@dataclass(slots=True)
class BatchPlan:
    """What a batch asks to publish, and every record's answer once it is published."""

    admitted: list[tuple[int, Admitted]] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)

    @property
    def events(self) -> list[InboundEvent]:
        return [event for _index, admitted in self.admitted for event in admitted.events]

    def records(self) -> dict[str, object]:
        """The last stored record of each child the batch touched."""
        return {admitted.child_key: admitted.record for _index, admitted in self.admitted}

    def answers(self, now: dt.datetime) -> list[RecordAnswer]:
        """In the batch's order; call it only once the events are durably published."""
        answers = [accepted(index, now) for index, _admitted in self.admitted]
        answers += [rejected(index, reason) for index, reason in self.refused]
        return sorted(answers, key=lambda a: a.index)


async def plan_batch(items: Sequence[object], caller: Caller, translate: Translate, previous: Lookup) -> BatchPlan:
    """Each record checked and translated independently: one bad record never stops the others."""
    plan = BatchPlan()
    seen: dict[str, object] = {}

    async def latest(child_key: str) -> object | None:
        return seen[child_key] if child_key in seen else await previous(child_key)

    for index, item in enumerate(items):
        try:
            refuse_other_councils(item, caller)
            admitted = await translate(item, caller.la_code, latest)
        except RecordRefused as refusal:
            plan.refused.append((index, clean_reason(str(refusal))))
            continue
        seen[admitted.child_key] = admitted.record
        plan.admitted.append((index, admitted))
    return plan


def refuse_other_councils(item: object, caller: Caller) -> None:
    """A record that names a council must name the token's: a sender can never write another council's children."""
    if not isinstance(item, Mapping):
        raise RecordRefused("a record must be a JSON object")
    named = item.get("la_code")
    if named is None:
        return
    code = str(named).strip().zfill(3)
    if not LA_CODE.fullmatch(code):
        raise RecordRefused("la_code is not a three-digit DfE council code")
    if code != caller.la_code:
        raise RecordRefused(f"this record is for council {code}, and the token is for council {caller.la_code}")


def clean_reason(reason: str) -> str:
    """One line, bounded, without square brackets (the pilot's sender reads `[i]` in the answer as a record index)."""
    flat = " ".join(reason.split()).replace("[", "(").replace("]", ")")
    return flat[:MAX_REASON_CHARACTERS]
