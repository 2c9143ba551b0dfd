"""The receiver's door on a whole-child purge: the child's identity is erased, and sealed again if it comes back."""

from __future__ import annotations

from services.pseudonym_keys import PseudonymKeyring
from services.receiver.intake import Admitted
from services.receiver.records import CscRecords
from tests.unit.receiver.receiver_builders import KENT, NOW
from tests.unit.receiver.test_receiver_csc_records import KEY, full_record

PURGE = {"la_child_id": "LA-001", "mis_child_id": "MIS-LA-001", "purge": True}


async def test_a_whole_child_purge_asks_for_its_identity_to_be_erased_and_a_later_resend_to_be_sealed_again() -> None:
    records = CscRecords(PseudonymKeyring.shared(KEY), clock=lambda: NOW)
    stored: dict[str, object] = {}

    async def lookup(child_key: str) -> object | None:
        return stored.get(child_key)

    async def send(item: object) -> Admitted:
        admitted = await records(item, KENT, lookup)
        stored[admitted.child_key] = admitted.record
        return admitted

    first = await send(full_record())
    purged = await send(PURGE)
    again = await send(full_record())

    assert first.identity == (KENT, "LA-001") and first.erased == ()
    assert purged.identity is None and purged.erased == (first.child_key,)
    assert again.identity == (KENT, "LA-001") and again.erased == ()


async def test_a_purge_of_a_child_never_seen_seals_nothing_and_still_erases() -> None:
    records = CscRecords(PseudonymKeyring.shared(KEY), clock=lambda: NOW)

    async def nothing(_child_key: str) -> object | None:
        return None

    purged = await records(PURGE, KENT, nothing)

    assert purged.identity is None and purged.erased == (purged.child_key,)
