"""Bad input interleaved with good: each bad message is dead-lettered with its reason, each good one is applied."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.kafka_principals import principal_settings
from bench.processor.harness import (
    Names,
    WorkerProcess,
    create_topics,
    delete_topics,
    produce,
    read_table,
    read_topic,
    wait_caught_up,
)
from schemas.codec import encode
from services.processor.app import changelog_names
from services.processor.deadletter import KNOWN_TYPES
from services.processor.tables import load, table_key
from services.settings import Settings
from tests.builders import make_contact, make_referral

Message = tuple[str | None, bytes | None, bytes]  # (expected reason code, or None if good; key; value)
Fixture = tuple[Names, Settings, WorkerProcess]


@pytest.fixture(scope="module")
def worker(kafka_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fixture]:
    """One worker for the whole module: hypothesis examples share it, each with its own children."""
    names = Names.unique("it-fuzz")
    asyncio.run(create_topics(kafka_settings, names))
    process = WorkerProcess("worker", tmp_path_factory.mktemp("fuzz"), names.env(), store="memory://").start()
    try:
        yield names, kafka_settings, process
    finally:
        process.stop()
        asyncio.run(delete_topics(kafka_settings, names.all_topics()))


def good_event(child: str, n: int) -> Any:
    make = make_contact if n % 2 else make_referral
    return make(f"2024-0{1 + n % 9}-1{n % 10}", child_key=child, event_id=f"good-{child}-{n}")


def as_dict(event: Any) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(encode(event))
    return loaded


@st.composite
def bad_message(draw: st.DrawFn) -> Message:
    """One message the worker must refuse, with the reason it must give."""
    child = uuid.uuid4().hex  # the pseudonym format, so each bad message fails for its own reason
    key = draw(st.sampled_from([child.encode(), None]))
    base = as_dict(good_event(child, draw(st.integers(0, 50))))
    kind = draw(st.sampled_from(["bytes", "not_object", "missing", "bad_field", "unknown", "future"]))
    if kind == "bytes":
        return "undecodable", key, b"\xff" + draw(st.binary(max_size=60))  # never UTF-8, so never JSON
    if kind == "not_object":
        value = draw(st.one_of(st.integers(), st.text(max_size=20), st.lists(st.booleans(), max_size=3)))
        return "schema_invalid", key, json.dumps(value).encode()
    if kind == "missing":
        del base[draw(st.sampled_from(["event_id", "occurred_at", "la_code", "child_key"]))]
        return "schema_invalid", key, json.dumps(base).encode()
    if kind == "bad_field":
        field, wrong = draw(st.sampled_from([("la_code", "ABCD"), ("occurred_at", "yesterday"), ("schema_version", 2)]))
        return "schema_invalid", key, json.dumps(base | {field: wrong}).encode()
    if kind == "unknown":
        name = draw(st.from_regex(r"\A[A-Z][A-Za-z]{3,20}\Z").filter(lambda t: t not in KNOWN_TYPES))
        return "unknown_type", key, json.dumps(base | {"type": name}).encode()
    ahead = dt.datetime.now(dt.UTC) + dt.timedelta(days=draw(st.integers(3, 400)))
    return "future_dated", key, json.dumps(base | {"occurred_at": ahead.isoformat()}).encode()


@pytest.mark.kafka
@pytest.mark.slow
@pytest.mark.timeout(150)
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bad=st.lists(bad_message(), min_size=5, max_size=25), good_count=st.integers(5, 25), data=st.data())
def test_every_bad_message_is_dead_lettered_with_its_reason_and_every_good_one_is_applied(
    worker: Fixture, bad: list[Message], good_count: int, data: st.DataObject
) -> None:
    children = [uuid.uuid4().hex for _ in range(good_count)]  # 32 hex digits: the pseudonym format
    good: list[Message] = [(None, c.encode(), encode(good_event(c, n))) for n, c in enumerate(children)]
    stream = data.draw(st.permutations(good + bad), label="arrival order")
    asyncio.run(check(worker, stream, children))


async def check(worker: Fixture, stream: list[Message], children: list[str]) -> None:
    names, kafka_settings, process = worker
    processor = names.processor_settings()
    pairs = [(key, value) for _, key, value in stream]
    written = await produce(principal_settings("ingest"), processor.events_topic, pairs)
    await wait_caught_up(kafka_settings, processor.app_id, processor.events_topic, [process], timeout=60)
    letters = {
        (envelope["partition"], envelope["offset"]): envelope
        for envelope in (json.loads(r.value) for r in await read_topic(kafka_settings, processor.deadletter_topic))
        if envelope["topic"] == processor.events_topic
    }
    for (reason, key, value), position in zip(stream, written, strict=True):
        if reason is None:
            assert position not in letters, f"a good event was dead-lettered: {letters[position]}"
            continue
        envelope = letters.get(position)
        assert envelope is not None, f"no dead letter for {value!r} ({reason})"
        assert envelope["reason_code"] == reason, envelope
        assert base64.b64decode(envelope["original_value_b64"]) == value
        assert envelope["original_key_b64"] == (None if key is None else base64.b64encode(key).decode())
    table = await read_table(kafka_settings, changelog_names(processor)[0])
    for n, child in enumerate(children):
        state = table.get(table_key(("886", child)))
        assert state is not None, f"good child {child} has no state"
        assert f"good-{child}-{n}" in load(state).seen  # type: ignore[union-attr]
