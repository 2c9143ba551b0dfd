"""A batch of one partition through the core, as the worker runs it: the same results as replay, however batched."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.codec import encode
from schemas.events import InboundEvent, ReferralOpened
from services.core.aggregates import AggregateKey, contribution
from services.core.calendar import local_date
from services.core.config import DEFAULT_CONFIG, RuleConfig
from services.core.engine import Engine
from services.core.history import ChildHistory
from services.core.state import to_document
from services.processor.batch import apply_batch, expired, expiry
from services.processor.tables import Redirect, child_of, load, table_key
from tests.builders import CHILD_A, make_contact, make_merge, make_nfa, make_referral, make_retraction

CONFIG = DEFAULT_CONFIG
COUNCILS = ("886", "201")  # one partition of six holds both (services.kafka.topics.partition_for)
CHILDREN = ("child-a", "child-b", "child-c")
DAYS = 300  # the events fall within the retention, so pruning drops nothing a later batch needs


@dataclass
class Worker:
    """A dict as the children table; what the batches sent, and their changes to each council's aggregates."""

    config: RuleConfig = CONFIG
    table: dict[bytes, bytes] = field(default_factory=dict)
    messages: list[bytes] = field(default_factory=list)
    changes: dict[str, Counter[AggregateKey]] = field(default_factory=dict)

    def run(self, batch: Sequence[InboundEvent]) -> None:
        result = apply_batch(batch, self.table.get, self.config)
        self.messages += [encode(m) for m in result.messages]
        for key, value in result.writes.items():
            if value is None:
                self.table.pop(key, None)
            else:
                self.table[key] = value
        for la_code, change in result.changes.items():
            self.changes.setdefault(la_code, Counter()).update(change)

    def histories(self) -> dict[bytes, dict[str, object]]:
        return {k: facts_of(v) for k, v in self.table.items() if isinstance(load(v), ChildHistory)}

    def redirects(self) -> dict[bytes, str]:
        return {k: value.into for k, v in self.table.items() if isinstance(value := load(v), Redirect)}


def batched(events: Sequence[InboundEvent], cuts: Sequence[bool] = ()) -> Worker:
    """The events in batches, a new batch after each event whose cut is True (and one batch with no cuts)."""
    worker, batch = Worker(), []
    for event, cut in zip(events, [*cuts, *[False] * len(events)], strict=False):
        batch.append(event)
        if cut:
            worker.run(batch)
            batch = []
    worker.run(batch)
    return worker


def replay(events: Sequence[InboundEvent], config: RuleConfig = CONFIG) -> tuple[list[bytes], Engine]:
    """`frontdoor replay`: one Engine, one event at a time; the histories pruned as the worker stores them."""
    engine = Engine(config)
    messages = [encode(m) for m in engine.apply_all(events)]
    today = max(local_date(e.occurred_at) for e in events)
    for history in engine.children.values():
        history.prune(today, config)
    return messages, engine


def facts_of(raw: bytes) -> dict[str, object]:
    """A stored child as a document: its facts, event ids, tombstones with their dates, and standing alerts."""
    document: dict[str, object] = orjson.loads(raw)
    return document


def replayed_table(engine: Engine) -> tuple[dict[bytes, dict[str, object]], dict[bytes, str]]:
    histories = {table_key(c): facts_of(to_document(h)) for c, h in engine.children.items() if not expired(h)}
    return histories, {table_key(c): into for c, into in engine.redirects.items()}


def summed(table: dict[bytes, bytes], config: RuleConfig = CONFIG) -> dict[str, Counter[AggregateKey]]:
    totals: dict[str, Counter[AggregateKey]] = {}
    for key, raw in table.items():
        value = load(raw)
        if isinstance(value, ChildHistory):
            totals.setdefault(child_of(key)[0], Counter()).update(contribution(value, config))
    return {la: +counts for la, counts in totals.items() if +counts}


def nonzero(changes: dict[str, Counter[AggregateKey]]) -> dict[str, dict[AggregateKey, int]]:
    counted = {la: {k: n for k, n in change.items() if n} for la, change in changes.items()}
    return {la: counts for la, counts in counted.items() if counts}


@st.composite
def arrivals(draw: st.DrawFn) -> list[InboundEvent]:
    """Referrals, contacts, NFAs, retractions, merges and redeliveries of two councils, in any arrival order."""
    events: list[InboundEvent] = []
    steps = draw(
        st.lists(st.tuples(st.integers(0, 7), st.integers(0, 5), st.integers(0, DAYS)), min_size=1, max_size=24)
    )
    for n, (kind, pick, offset) in enumerate(steps):
        date = dt.date(2024, 1, 1) + dt.timedelta(days=offset)
        la_code, child = COUNCILS[pick % 2], CHILDREN[pick % 3]
        referrals = [e for e in events if isinstance(e, ReferralOpened)]
        if kind == 1 and referrals:
            events.append(make_nfa(referrals[pick % len(referrals)], date, event_id=f"e{n}"))
        elif kind == 2 and events:
            events.append(make_retraction(events[pick % len(events)], date, event_id=f"e{n}"))
        elif kind == 3 and CHILDREN[offset % 3] != child:
            events.append(
                make_merge(into=child, merged=CHILDREN[offset % 3], date=date, la_code=la_code, event_id=f"e{n}")
            )
        elif kind == 4 and events:
            events.append(events[pick % len(events)])  # delivered again
        elif kind == 5:
            events.append(make_contact(date, la_code=la_code, child_key=child, event_id=f"e{n}"))
        else:
            events.append(make_referral(date, la_code=la_code, child_key=child, event_id=f"e{n}"))
    return events


def test_a_batch_applies_its_events_in_arrival_order_exactly_as_the_engine_does_one_at_a_time() -> None:
    earlier = make_referral("2024-01-10", event_id="r1")
    events = [
        make_referral("2024-06-10", event_id="r2"),
        make_contact("2024-06-01", event_id="c1"),
        earlier,  # arrives late: makes r2 a re-referral
        make_nfa(earlier, "2024-01-12", event_id="nfa"),
        earlier,  # delivered again
        make_referral("2024-03-01", child_key="child-b", event_id="b1"),
        make_merge(into="child-a", merged="child-b", date="2024-07-01", event_id="merge"),
    ]
    engine = Engine(CONFIG)
    expected = [engine.apply(e) for e in events]

    result = apply_batch(events, {}.get, CONFIG)

    assert [(e.event_id, outcome) for e, outcome in result.outcomes] == [
        (e.event_id, o) for e, (o, _) in zip(events, expected, strict=True)
    ]
    assert [encode(m) for m in result.messages] == [encode(m) for _, ms in expected for m in ms]


def test_a_batch_writes_each_child_it_read_or_created_and_a_redirect_for_each_record_it_merged() -> None:
    events = [
        make_referral("2024-03-01", child_key="child-b", event_id="b1"),
        make_merge(into="child-a", merged="child-b", date="2024-07-01", event_id="merge"),
    ]

    writes = apply_batch(events, {}.get, CONFIG).writes

    assert set(writes) == {table_key(("886", "child-a")), table_key(("886", "child-b"))}
    assert load(writes[table_key(("886", "child-b"))]) == Redirect("child-a", dt.date(2024, 7, 1))


def test_an_empty_batch_reads_nothing_and_writes_nothing() -> None:
    result = apply_batch([], lambda key: (_ for _ in ()).throw(AssertionError(key)), CONFIG)
    assert (result.messages, result.writes, result.changes) == ([], {}, {})


@settings(max_examples=100, deadline=None)
@given(events=arrivals(), cuts=st.lists(st.booleans(), max_size=24))
def test_splitting_the_events_into_batches_anywhere_gives_the_alerts_and_table_of_one_batch_and_of_replay(
    events: list[InboundEvent], cuts: list[bool]
) -> None:
    split, whole = batched(events, cuts), batched(events)
    messages, engine = replay(events)
    histories, redirects = replayed_table(engine)

    assert split.messages == whole.messages == messages
    assert split.histories() == whole.histories() == histories
    # A redirect's day is its batch's latest date, so only where it leads is the same however the events are batched.
    assert split.redirects() == whole.redirects() == redirects


@settings(max_examples=100, deadline=None)
@given(events=arrivals(), cuts=st.lists(st.booleans(), max_size=24))
def test_the_changes_each_batch_reports_add_up_to_the_council_totals_of_the_final_table(
    events: list[InboundEvent], cuts: list[bool]
) -> None:
    worker = batched(events, cuts)

    assert nonzero(worker.changes) == nonzero(summed(worker.table))


def test_a_child_with_nothing_left_inside_the_retention_expires_and_takes_its_contribution_with_it() -> None:
    stored = apply_batch([make_referral("2021-01-04", event_id="old")], {}.get, CONFIG).writes
    raw = stored[table_key(("886", CHILD_A))]
    assert raw is not None

    assert expiry("886", raw, dt.date(2023, 4, 3), CONFIG) == (False, contribution(load(raw), CONFIG))  # type: ignore[arg-type]
    gone, was = expiry("886", raw, dt.date(2024, 6, 3), CONFIG)
    assert gone and was == contribution(load(raw), CONFIG)  # type: ignore[arg-type]


def test_a_redirect_expires_with_the_retention_and_contributes_nothing() -> None:
    raw = Redirect("child-a", dt.date(2021, 1, 4)).dump()

    assert expiry("886", raw, dt.date(2023, 4, 4), CONFIG) == (False, Counter())
    assert expiry("886", raw, dt.date(2023, 4, 5), CONFIG) == (True, Counter())


def test_a_survivor_stored_after_a_merge_does_not_depend_on_where_the_batches_split() -> None:
    # A merge of two records without facts leaves the survivor nothing to keep after the batch, so it is not
    # stored; its first referral in the next batch starts a new record, which must equal one batch's.
    events = [
        make_merge(into="child-b", merged="child-a", date="2024-01-01", event_id="merge"),
        make_referral("2024-01-01", child_key="child-b", event_id="b1"),
    ]

    split, whole = batched(events, [True]), batched(events)

    assert split.table == whole.table


def test_a_tombstones_date_does_not_depend_on_where_the_batches_split() -> None:
    # Pruning forgets a retraction's own event id, so a redelivered one is applied again: the latest date wins.
    referral = make_referral("2024-01-01", event_id="r1")
    first = make_retraction(referral, "2024-01-01", event_id="x1")
    events = [referral, first, make_retraction(referral, "2024-01-02", event_id="x2"), first]  # x1 delivered again

    split, whole = batched(events, [False, True]), batched(events)

    assert split.table == whole.table
