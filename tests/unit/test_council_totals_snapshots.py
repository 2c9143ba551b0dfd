"""The council totals topic: whole council-month snapshots of the sums, changed months only, dense on rebuild."""

from __future__ import annotations

from collections import Counter

from schemas.codec import decode_totals, encode
from schemas.codes import ReferralSource
from schemas.topics import ALL_TOPICS, COUNCIL_TOTALS
from services.core.aggregates import AggregateKey, council_totals
from services.core.config import DEFAULT_CONFIG
from services.core.engine import Engine
from services.kafka.topics import plan_topic
from services.processor.snapshots import batch_snapshots, changed_months, rebuilt_snapshots
from services.processor.totals import CouncilTotals
from services.settings import Settings
from tests.builders import make_retraction
from tests.unit.alertdesk.test_partner_portal import journeys
from tests.worker_totals import WorkerTotals, latest


def cells(snapshot: object) -> Counter[AggregateKey]:
    from schemas.totals import CouncilMonthTotals  # noqa: PLC0415  # the type, for mypy's narrowing only

    assert isinstance(snapshot, CouncilMonthTotals)
    return Counter({(snapshot.month, c.measure, c.label): c.count for c in snapshot.cells})


def by_month(counts: Counter[AggregateKey]) -> dict[str, Counter[AggregateKey]]:
    months: dict[str, Counter[AggregateKey]] = {}
    for key, n in counts.items():
        months.setdefault(key[0], Counter())[key] = n
    return months


def test_a_batch_publishes_exactly_the_months_whose_totals_it_changed_each_whole() -> None:
    worker = WorkerTotals()
    worker.batch(journeys("886", "2024-05", 8, ReferralSource.POLICE, referred=3, in_need=1))
    before = by_month(worker.totals.council_totals("886"))
    published = worker.batch(journeys("886", "2024-06", 5, ReferralSource.SCHOOLS, referred=2, in_need=1))
    after = by_month(worker.totals.council_totals("886"))
    moved = {m for m in before.keys() | after.keys() if before.get(m) != after.get(m)}
    assert [s.month for s in published] == sorted(moved)
    assert "2024-05" not in moved and "2024-06" in moved  # May's contacts are untouched: May is not sent again
    for snapshot in published:
        assert cells(snapshot) == after.get(snapshot.month, Counter())
    assert cells(published[0])[("2024-06", "contacts", "schools")] == 5


def test_a_second_batch_in_a_month_publishes_the_months_new_whole_not_the_change() -> None:
    worker = WorkerTotals()
    worker.batch(journeys("886", "2024-05", 8, ReferralSource.POLICE, referred=3, in_need=1))
    (may,) = worker.batch(journeys("886", "2024-05", 4, ReferralSource.SCHOOLS, referred=0, in_need=0))
    assert cells(may)[("2024-05", "contacts", "police")] == 8  # the police contacts of the first batch are kept
    assert cells(may)[("2024-05", "contacts", "schools")] == 4


def test_a_month_emptied_by_a_retraction_publishes_an_empty_snapshot() -> None:
    worker = WorkerTotals()
    (contact,) = journeys("886", "2024-05", 1, ReferralSource.POLICE, referred=0, in_need=0)
    worker.batch([contact])
    published = worker.batch([make_retraction(contact, "2024-07-01")])
    assert [(s.key, s.cells) for s in published] == [("886|2024-05", ())]


def test_a_batch_that_changes_nothing_publishes_nothing() -> None:
    worker = WorkerTotals()
    events = journeys("886", "2024-05", 6, ReferralSource.POLICE, referred=2, in_need=1)
    worker.batch(events)
    assert worker.batch(events) == []  # redelivered: the same events again move no count
    assert changed_months({"886": Counter({("2024-05", "contacts", "police"): 0})}) == {}


def test_after_a_rebuild_every_month_of_each_council_is_published_first_to_last_the_empty_ones_too() -> None:
    totals = CouncilTotals()
    totals.rebuild(
        [
            ("886", Counter({("2024-02", "contacts", "police"): 3, ("2024-05", "referrals", "schools"): 1})),
            ("353", Counter({("2023-12", "contacts", "health_services"): 2, ("2024-01", "contacts", "police"): 1})),
        ]
    )
    published = rebuilt_snapshots(totals)
    assert [s.key for s in published] == [
        "353|2023-12", "353|2024-01", "886|2024-02", "886|2024-03", "886|2024-04", "886|2024-05",
    ]  # fmt: skip
    assert [len(s.cells) for s in published] == [1, 1, 1, 0, 0, 1]  # March and April: empty, so a reader clears them


def test_the_latest_snapshot_of_every_key_is_the_cores_council_totals_whatever_the_batches() -> None:
    events = [
        *journeys("886", "2024-05", 12, ReferralSource.POLICE, referred=6, in_need=3),
        *journeys("886", "2024-06", 9, ReferralSource.SCHOOLS, referred=4, in_need=2),
        *journeys("353", "2024-05", 7, ReferralSource.POLICE, referred=5, in_need=5),
    ]
    events.append(make_retraction(events[0], "2024-07-01"))
    engine = Engine(DEFAULT_CONFIG, alerts=False)
    for event in events:
        engine.apply(event)
    for size in (1, 17, len(events)):
        kept = latest(WorkerTotals().run(events, size))
        for la_code in ("886", "353"):
            expected = council_totals((h for (la, _), h in engine.children.items() if la == la_code), DEFAULT_CONFIG)
            got = sum((cells(s) for s in kept.values() if s.la_code == la_code), Counter[AggregateKey]())
            assert got == expected, (size, la_code)


def test_a_snapshot_round_trips_through_the_codec_and_names_no_child() -> None:
    events = journeys("886", "2024-05", 6, ReferralSource.POLICE, referred=2, in_need=1)
    worker = WorkerTotals()
    published = worker.batch(events) + worker.rebuilt()
    for snapshot in published:
        raw = encode(snapshot)
        assert decode_totals(raw) == snapshot
        assert not any(event.child_key.encode() in raw for event in events)
    assert "886|2024-05" in {s.key for s in published}
    assert batch_snapshots(worker.totals, {}) == []


def test_the_totals_topic_is_compacted_keyed_by_council_month_and_rolls_hourly_so_compaction_keeps_up() -> None:
    plan = plan_topic(COUNCIL_TOTALS, Settings(profile="dev"))
    assert COUNCIL_TOTALS in ALL_TOPICS  # `frontdoor topics create` makes it
    assert plan.configs["cleanup.policy"] == "compact" and "retention.ms" not in plan.configs
    assert plan.configs["segment.ms"] == str(3600 * 1000)
