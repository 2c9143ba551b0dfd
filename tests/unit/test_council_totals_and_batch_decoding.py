"""report's fast paths give exactly the slow answers: council totals by window pattern, events decoded in batches."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from schemas.codec import decode_event, decode_events, encode
from schemas.events import InboundEvent
from services.core.aggregates import AggregateKey, contribution, council_totals
from services.core.config import RuleConfig
from services.core.engine import Engine
from services.ingest.jsonl import BATCH_LINES, iter_jsonl
from services.ingest.result import Rejected
from tests.builders import make_referral
from tests.unit.test_arrival_order_properties import front_door_histories

CONFIG = RuleConfig(retention_months=None)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=front_door_histories())
def test_council_totals_are_the_sum_of_the_childrens_contributions_without_zeros(events: list[InboundEvent]) -> None:
    engine = Engine(CONFIG, alerts=False)
    for event in events:
        engine.apply(event)
    summed: Counter[AggregateKey] = Counter()
    for history in engine.children.values():
        summed.update(contribution(history, CONFIG))

    assert council_totals(engine.children.values(), CONFIG) == +summed


def test_a_batch_decodes_to_the_events_each_line_decodes_to() -> None:
    lines = [encode(make_referral(f"2024-0{m}-10", referral_id=f"r{m}")) for m in range(1, 10)]

    assert decode_events(lines) == [decode_event(line) for line in lines]


def test_a_batch_with_a_bad_line_or_a_line_of_two_objects_is_left_to_be_decoded_line_by_line() -> None:
    good = [encode(make_referral("2024-01-10", referral_id=f"r{n}")) for n in range(3)]

    assert decode_events([*good, b'{"type": "ReferralOpened"}']) is None
    assert decode_events([good[0], good[1] + b"," + good[2]]) is None  # two lines' worth of events from one


def test_every_line_of_a_large_file_keeps_its_own_event_or_its_own_rejection_and_line_number(tmp_path: Path) -> None:
    lines = [encode(make_referral("2024-01-10", referral_id=f"r{n}")) for n in range(BATCH_LINES + 10)]
    lines[5] = b'{"type": "ReferralOpened", "la_code": "886"}'
    lines[BATCH_LINES + 3] = b"not json"
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b"\n".join(lines) + b"\n\n")

    items = list(iter_jsonl(path, None))

    assert len(items) == len(lines)
    rejected = [(i, item.location) for i, item in enumerate(items) if isinstance(item, Rejected)]
    assert rejected == [(5, "line 6"), (BATCH_LINES + 3, f"line {BATCH_LINES + 4}")]
    assert [item.referral_id for item in items if not isinstance(item, Rejected)] == [  # type: ignore[union-attr]
        f"r{n}" for n in range(BATCH_LINES + 10) if n not in (5, BATCH_LINES + 3)
    ]


def test_blank_lines_and_a_lone_byte_order_mark_are_skipped_and_later_lines_keep_their_numbers(tmp_path: Path) -> None:
    good = [encode(make_referral("2024-01-10", referral_id=f"r{n}")) for n in range(4)]
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\xef\xbb\xbf\n" + good[0] + b"\n  \n" + good[1] + b"\nnot json\n\n" + good[2] + b"\n")

    items = list(iter_jsonl(path, None))

    assert [item.location for item in items if isinstance(item, Rejected)] == ["line 5"]
    assert [item for item in items if not isinstance(item, Rejected)] == [decode_event(line) for line in good[:3]]
