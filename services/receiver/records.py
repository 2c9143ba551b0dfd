"""One posted item through the DfE CSC API door: validate, pseudonymise, translate against the child's last record.

The receiver's `Translate` over services/ingest/csc_api.py: the same validation, pseudonymisation and translator
that `frontdoor ingest --format dfe-csc-api` uses, so a record means the same whichever way it came in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import ValidationError

from schemas.csc_api import CscChildState
from services.ingest.annex_a_values import validation_summary
from services.ingest.csc_api import pseudonymise_record, validate_record
from services.ingest.csc_translate import translate
from services.ingest.identity import Pseudonymiser
from services.pseudonym_keys import PseudonymKeyring
from services.receiver.intake import Admitted, Lookup, RecordRefused


@dataclass(frozen=True, slots=True)
class CscRecords:
    """Translate for the receiver: `keys` are each council's pseudonymisation keys (never the public dev key)."""

    keys: PseudonymKeyring
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)

    async def __call__(self, item: object, la_code: str, previous: Lookup) -> Admitted:
        try:
            council, record = validate_record(item, la_code)
        except ValidationError as error:
            raise RecordRefused(validation_summary(error)) from None
        except ValueError as error:
            raise RecordRefused(str(error)) from None
        # A Pseudonymiser per record, so its identities are this child's only: sealed into the identity store the
        # first time the receiver sees the child.
        pseudonymiser = Pseudonymiser(self.keys, keep_identities=True)
        door = pseudonymise_record(record, council, pseudonymiser)
        state = await previous(door.la_child_id)
        if state is not None and not isinstance(state, CscChildState):
            raise TypeError("the previous-record store holds something other than CscChildState")
        try:
            key_id = pseudonymiser.key_id(council)
            translation = translate(state, door, la_code=council, received_at=self.clock(), pseudonym_key_id=key_id)
        except ValueError as error:
            raise RecordRefused(str(error)) from None
        identities = pseudonymiser.identities or {}
        identity = identities.get(door.la_child_id) if state is None else None
        return Admitted(door.la_child_id, translation.events, translation.state, identity)
