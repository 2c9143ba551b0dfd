"""Council aggregates repartitioned by council: latest version per child wins, totals are sums, never deltas."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from services.core.aggregates import contribution
from services.core.config import DEFAULT_CONFIG
from services.core.state import from_document
from services.processor.batch import Contribution, table_key
from services.processor.councils import (
    CouncilTotals,
    by_council,
    council_key,
    decode_contribution,
    decode_contributions,
    encode_contribution,
    encode_contributions,
)
from tests.builders import make_contact, make_referral
from tests.component.processor_fakes import make_worker


def item(version: int, **counts: int) -> tuple[Contribution, bytes]:
    made = Contribution("886", "child-a", version, Counter({("2024-06", m, ""): n for m, n in counts.items()}))
    return made, encode_contribution(made)


def fold(totals: CouncilTotals, *items: tuple[Contribution, bytes]) -> dict[bytes, bytes]:
    table: dict[bytes, bytes] = {}
    for made, raw in items:
        key = council_key(made.la_code, made.child_key)
        write, value = totals.accept(table.get(key), made, raw)
        if write and value is None:
            del table[key]
        elif write:
            assert value is not None
            table[key] = value
    totals.publish()
    return table


def test_an_older_version_arriving_late_is_ignored() -> None:
    totals = CouncilTotals()
    fold(totals, item(2, referrals=2), item(1, referrals=1))
    assert totals.council_totals("886") == Counter({("2024-06", "referrals", ""): 2})


def test_the_same_version_again_replaces_rather_than_adds() -> None:
    totals = CouncilTotals()
    fold(totals, item(3, referrals=1), item(3, referrals=1))
    assert totals.council_totals("886") == Counter({("2024-06", "referrals", ""): 1})


def test_an_empty_contribution_removes_the_child_and_its_entry() -> None:
    totals = CouncilTotals()
    table = fold(totals, item(1, referrals=1), item(2))
    assert totals.council_totals("886") == Counter()
    assert table == {}


def test_readers_see_a_batchs_sums_only_once_it_is_published_and_old_snapshots_never_change() -> None:
    totals = CouncilTotals()
    fold(totals, item(1, referrals=1))
    snapshot = totals.totals
    made, raw = item(2, referrals=4)
    totals.accept(None, made, raw)
    assert totals.council_totals("886")[("2024-06", "referrals", "")] == 1  # not published yet

    totals.publish()
    assert totals.council_totals("886")[("2024-06", "referrals", "")] == 5
    assert snapshot["886"] == Counter({("2024-06", "referrals", ""): 1})  # what a scrape held is untouched


def test_totals_rebuilt_from_the_table_equal_the_totals_kept_as_messages_arrived() -> None:
    totals = CouncilTotals()
    other = Contribution("886", "child-b", 1, Counter({("2024-06", "referrals", ""): 5}))
    table = fold(totals, item(1, referrals=1), item(2, referrals=2), (other, encode_contribution(other)))
    rebuilt = CouncilTotals()
    rebuilt.rebuild(decode_contribution(raw) for raw in table.values())
    assert rebuilt.totals == totals.totals
    assert rebuilt.council_totals("886")[("2024-06", "referrals", "")] == 7


async def test_the_aggregator_sums_each_childs_latest_contribution_into_its_council(tmp_path: Path) -> None:
    worker = make_worker(tmp_path)
    await worker.handle(make_referral("2024-01-10", event_id="a1"), make_contact("2024-01-08", child_key="child-b"))
    await worker.handle(make_referral("2024-06-10", event_id="a2"))  # child-a again: a newer version
    await worker.aggregate()

    expected: Counter[object] = Counter()
    for child in ("child-a", "child-b"):
        expected.update(contribution(from_document(worker.children.get(table_key(("886", child)))), DEFAULT_CONFIG))
    assert worker.aggregator.totals.council_totals("886") == +expected
    assert worker.aggregator.totals.councils() == ["886"]


def test_a_batchs_contributions_travel_one_message_per_council_of_at_most_a_hundred_children() -> None:
    items = [Contribution("886", f"child-{n}", 1, Counter({("2024-06", "contacts", "police"): 1})) for n in range(250)]
    items.append(Contribution("942", "child-x", 1, Counter()))

    chunks = by_council(items)

    assert [(c[0].la_code, len(c)) for c in chunks] == [("886", 100), ("886", 100), ("886", 50), ("942", 1)]
    assert [i for c in chunks for i in decode_contributions(encode_contributions(c))] == items
