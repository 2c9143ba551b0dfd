"""What a batch writes back: each child pruned, as a document, a held survivor, a redirect or nothing, with its
council contribution when it changed; and the expiry sweep's verdict on a value no batch touched. Pure."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from services.core.aggregates import AggregateKey, contribution
from services.core.calendar import minus_months
from services.core.config import RuleConfig
from services.core.engine import ChildId
from services.core.history import ChildHistory
from services.core.state import to_document
from services.processor.values import Held, Redirect, load

if TYPE_CHECKING:
    from services.processor.batch import Batch


@dataclass(frozen=True, slots=True)
class Contribution:
    """A child's whole contribution to its council's aggregates at `version`; empty when the child is gone."""

    la_code: str
    child_key: str
    version: int
    counts: Counter[AggregateKey]


def expired(history: ChildHistory) -> bool:
    """Nothing left after pruning: no facts, tombstones, standing alerts or remembered event ids."""
    return not (history.facts or history.retracted or history.standing or history.seen)


def write_back(batch: Batch, today: dt.date) -> None:
    """Prune every child read or created, and write each one back, changed or not.

    Writing an unchanged child costs little (a batch's children nearly always change) and heals the changelog
    after a crash: a worker killed between its local state write and the changelog flush had not committed
    those events, so they come again, and this rewrite sends the state the changelog missed.
    """
    config, result = batch.config, batch.result
    if config.retention_months is not None:  # a completed merge is remembered as long as any fact
        cutoff = minus_months(today, config.retention_months)
        for held in batch.held.values():
            held.merged = {e: d for e, d in held.merged.items() if d >= cutoff}
    for child, history in batch.engine.children.items():
        history.prune(today, config)
        previous = batch.versions.get(child)
        if expired(history):
            _write(batch, child, None)
            if previous is not None:
                result.contributions.append(Contribution(*child, previous + 1, Counter()))
            continue
        _write(batch, child, history)
        if history.version != previous:
            result.contributions.append(Contribution(*child, history.version, contribution(history, config)))
    for child in batch.held:
        if not (child in batch.engine.children or child in batch.engine.redirects or child in batch.moved):
            _write(batch, child, None)  # a survivor with no history (yet, or any more)
    for child, into in batch.engine.redirects.items():
        if child in batch.moved or (child in batch.raw and isinstance(load(batch.raw[child]), Redirect)):
            continue  # handed over below, or an existing redirect; the Engine never moves one
        result.writes[child] = (batch.where[child], Redirect(into, today).dump())
        _removed(batch, child)
    for child, redirect in batch.moved.items():
        result.writes[child] = (batch.where[child], redirect.dump())
        _removed(batch, child)


def _write(batch: Batch, child: ChildId, history: ChildHistory | None) -> None:
    """A child's table value: its document, held while it waits for or remembers a merge; deleted when empty."""
    held = batch.held.get(child)
    if held is not None and (held.pending is not None or held.merged):
        held.child = history
        batch.result.writes[child] = (batch.where[child], held.dump())
    elif history is not None:
        batch.result.writes[child] = (batch.where[child], to_document(history))
    elif child in batch.raw:
        batch.result.writes[child] = (batch.where[child], None)


def _removed(batch: Batch, child: ChildId) -> None:
    previous = batch.versions.get(child)
    if previous is not None:  # the merged record's contribution moves to the surviving record
        batch.result.contributions.append(Contribution(*child, previous + 1, Counter()))


def sweep_one(raw: bytes, today: dt.date, config: RuleConfig) -> tuple[bool, int | None]:
    """Whether an untouched table value has expired by `today`, and the version its removal must carry."""
    value = load(raw)
    if isinstance(value, Redirect):
        if config.retention_months is None:
            return False, None
        return value.day < minus_months(today, config.retention_months), None
    if isinstance(value, Held):
        if value.pending is not None:
            return False, None  # waits for its hand-over
        cutoff = None if config.retention_months is None else minus_months(today, config.retention_months)
        if cutoff is None or any(d >= cutoff for d in value.merged.values()):
            return False, None  # still remembers a merge; rewritten without it when next touched
        if value.child is None:
            return True, None
        value = value.child
    value.prune(today, config)
    return expired(value), value.version + 1
