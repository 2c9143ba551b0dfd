"""One batch of decoded events through the core: each child read once, alerts in arrival order, one write per child.

Pure: no faust, no Kafka, no clock. The worker hands it the batch and a reader for the children table, and
gets back the alert messages, the table writes and the council contributions to send. It may belong in
services/core; it lives here because the table value format (child documents and redirects) is the worker's.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from schemas.alerts import AlertMessage
from schemas.events import ChildRecordsMerged, InboundEvent
from services.core.aggregates import AggregateKey, contribution
from services.core.calendar import local_date, minus_months
from services.core.config import RuleConfig
from services.core.engine import ChildId, Engine
from services.core.history import ChildHistory, Outcome
from services.core.state import from_document, to_document

Reader = Callable[[ChildId], bytes | None]  # the children table, as seen from this batch's partitions
# Whether a merge's merged record lives in the surviving record's partition, so this batch can read it.
SamePartition = Callable[[ChildRecordsMerged], bool]

_REDIRECT_PREFIX = b'{"redirect":'


@dataclass(frozen=True, slots=True)
class Redirect:
    """A merged record: its later events belong to the surviving record `into` (in the same council)."""

    into: str
    day: dt.date  # the merge's date; the redirect expires with the retention like any fact

    def dump(self) -> bytes:
        return json.dumps({"redirect": self.into, "day": self.day.toordinal()}, separators=(",", ":")).encode()


def load(raw: bytes) -> ChildHistory | Redirect:
    """A children-table value: a child document (services.core.state) or a redirect."""
    if raw.startswith(_REDIRECT_PREFIX):
        document = json.loads(raw)
        return Redirect(document["redirect"], dt.date.fromordinal(document["day"]))
    return from_document(raw)


def table_key(child: ChildId) -> bytes:
    """Children-table key. Kafka partitions by child_key alone; the council keeps two councils' keys apart."""
    return f"{child[0]}|{child[1]}".encode()


def child_of(key: bytes) -> ChildId:
    la_code, _, child_key = key.decode().partition("|")
    return (la_code, child_key)


@dataclass(frozen=True, slots=True)
class Contribution:
    """A child's whole contribution to its council's aggregates at `version`; empty when the child is gone."""

    la_code: str
    child_key: str
    version: int
    counts: Counter[AggregateKey]


@dataclass(slots=True)
class BatchResult:
    """What the worker must send and write for one batch, in this order: messages, contributions, writes."""

    messages: list[AlertMessage] = field(default_factory=list)
    outcomes: list[tuple[InboundEvent, Outcome]] = field(default_factory=list)
    parked: list[InboundEvent] = field(default_factory=list)  # merges this partition cannot serve
    writes: dict[ChildId, bytes | None] = field(default_factory=dict)  # None deletes the child
    contributions: list[Contribution] = field(default_factory=list)


def expired(history: ChildHistory) -> bool:
    """Nothing left after pruning: no facts, tombstones, standing alerts or remembered event ids."""
    return not (history.facts or history.retracted or history.standing or history.seen)


@dataclass(slots=True)
class _Loaded:
    """The batch's children as they were read: raw values, versions, and an Engine holding them."""

    read: Reader
    engine: Engine
    raw: dict[ChildId, bytes] = field(default_factory=dict)
    versions: dict[ChildId, int] = field(default_factory=dict)
    asked: set[ChildId] = field(default_factory=set)

    def bring(self, child: ChildId) -> None:
        """Read a child once per batch, following redirects to the surviving record."""
        while child not in self.asked:
            self.asked.add(child)
            raw = self.read(child)
            if raw is None:
                return
            self.raw[child] = raw
            value = load(raw)
            if isinstance(value, Redirect):
                self.engine.redirects[child] = value.into
                child = (child[0], value.into)
            else:
                self.versions[child] = value.version
                self.engine.children[child] = value


def apply_batch(
    events: Sequence[InboundEvent], read: Reader, same_partition: SamePartition, config: RuleConfig
) -> BatchResult:
    """Apply `events` in arrival order, exactly as Engine.apply would one at a time, then prune and diff."""
    loaded = _Loaded(read, Engine(config))
    result = BatchResult()
    for event in events:
        loaded.bring((event.la_code, event.child_key))
        if isinstance(event, ChildRecordsMerged):
            if not same_partition(event):
                result.parked.append(event)
                continue
            loaded.bring((event.la_code, event.merged_child_key))
        outcome, messages = loaded.engine.apply(event)
        result.outcomes.append((event, outcome))
        result.messages.extend(messages)
    if result.outcomes:
        today = max(local_date(event.occurred_at) for event, _ in result.outcomes)
        _diff(loaded, today, config, result)
    return result


def _diff(loaded: _Loaded, today: dt.date, config: RuleConfig, result: BatchResult) -> None:
    """Prune every child read or created, and write each one back, changed or not.

    Writing an unchanged child costs little (a batch's children nearly always change) and heals the changelog
    after a crash: a worker killed between its local state write and the changelog flush had not committed
    those events, so they come again, and this rewrite sends the state the changelog missed.
    """
    for child, history in loaded.engine.children.items():
        history.prune(today, config)
        previous = loaded.versions.get(child)
        if expired(history):
            if child in loaded.raw:
                result.writes[child] = None
            if previous is not None:
                result.contributions.append(Contribution(*child, previous + 1, Counter()))
            continue
        result.writes[child] = to_document(history)
        if history.version != previous:
            result.contributions.append(Contribution(*child, history.version, contribution(history, config)))
    for child, into in loaded.engine.redirects.items():
        if child in loaded.raw and isinstance(load(loaded.raw[child]), Redirect):
            continue  # an existing redirect; the Engine never moves one
        result.writes[child] = Redirect(into, today).dump()
        previous = loaded.versions.get(child)
        if previous is not None:  # the merged record's contribution moves to the surviving record
            result.contributions.append(Contribution(*child, previous + 1, Counter()))


def sweep_one(raw: bytes, today: dt.date, config: RuleConfig) -> tuple[bool, int | None]:
    """Whether an untouched table value has expired by `today`, and the version its removal must carry."""
    value = load(raw)
    if isinstance(value, Redirect):
        if config.retention_months is None:
            return False, None
        return value.day < minus_months(today, config.retention_months), None
    value.prune(today, config)
    return expired(value), value.version + 1
