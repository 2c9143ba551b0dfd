"""The desk reading the council totals topic: the latest snapshot of each council-month wins, offsets all counted."""

from __future__ import annotations

from aiokafka import ConsumerRecord
from prometheus_client import CollectorRegistry

from schemas.codec import encode
from schemas.totals import CouncilMonthTotals, TotalCell
from services.alertdesk.desk import Desk
from services.alertdesk.kafka import read_poll
from services.alertdesk.metrics import desk_metrics
from services.alertdesk.projection import Batch
from services.alertdesk.settings import AlertDeskSettings
from services.alertdesk.totals import council_totals


def snapshot(month: str, contacts: int) -> CouncilMonthTotals:
    cells = (TotalCell(measure="contacts", label="police", count=contacts),) if contacts else ()
    return CouncilMonthTotals(la_code="886", month=month, cells=cells)


def record(settings: AlertDeskSettings, offset: int, value: CouncilMonthTotals | bytes) -> ConsumerRecord[bytes, bytes]:
    raw = value if isinstance(value, bytes) else encode(value)
    key = b"886|2024-05" if isinstance(value, bytes) else value.key.encode()
    return ConsumerRecord(settings.totals_topic, 0, offset, 0, 0, key, raw, None, len(key), len(raw), ())


def desk(registry: CollectorRegistry | None = None) -> Desk:
    made = Desk(metrics=desk_metrics(registry or CollectorRegistry(), lambda: made.state), caught_up=True)
    return made


def test_of_a_polls_snapshots_of_one_month_only_the_last_is_kept_and_every_offset_is_read() -> None:
    settings, folded, batch = AlertDeskSettings(), desk(), Batch()
    sent = [snapshot("2024-05", 3), snapshot("2024-06", 2), snapshot("2024-05", 7), snapshot("2024-06", 0)]
    read_poll(batch, folded, settings, [record(settings, offset, s) for offset, s in enumerate(sent)])
    assert [m for m, _ in batch.items] == [sent[2], sent[3]]
    assert batch.offsets == {(settings.totals_topic, 0): 4}
    folded.fold_batch(batch)
    assert council_totals(folded.state.db, "886") == {("2024-05", "contacts", "police"): 7}  # June: emptied


def test_a_later_poll_replaces_a_month_and_an_empty_snapshot_clears_it() -> None:
    settings, folded = AlertDeskSettings(), desk()
    for offset, sent in enumerate([snapshot("2024-05", 3), snapshot("2024-05", 0)]):
        batch = Batch()
        read_poll(batch, folded, settings, [record(settings, offset, sent)])
        folded.fold_batch(batch)
        assert council_totals(folded.state.db, "886") == ({("2024-05", "contacts", "police"): 3} if offset == 0 else {})


def test_a_snapshot_that_does_not_decode_is_counted_and_skipped_and_its_offset_read() -> None:
    settings, registry, batch = AlertDeskSettings(), CollectorRegistry(), Batch()
    bad = b'{"type": "CouncilMonthTotals", "la_code": "x"}'
    read_poll(batch, desk(registry), settings, [record(settings, 0, bad)])
    assert batch.items == [] and batch.offsets == {(settings.totals_topic, 0): 1}
    assert registry.get_sample_value("frontdoor_alertdesk_rejected_messages_total", {"topic": "totals"}) == 1
