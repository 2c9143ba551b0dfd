"""One posted item through the DfE CSC API door: validate, then `receive_record`, as `ingest --format dfe-csc-api`.

The receiver's `Translate` over services/ingest/csc_api.py: the same validation and the same `receive_record`
(pseudonymise, look up the previous record, translate) that `frontdoor ingest --format dfe-csc-api` uses, so a
record means the same whichever way it came in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import ValidationError

from schemas.csc_api import CscChildState
from services.ingest.annex_a_values import validation_summary
from services.ingest.csc_api import receive_record, validate_record
from services.ingest.identity import Pseudonymiser
from services.pseudonym_keys import PseudonymKeyring
from services.receiver.intake import Admitted, Lookup, RecordRefused


@dataclass(slots=True)
class LookedUp:
    """The receiver's lookup as the door's `get`, remembering whether the child had a record before this one."""

    lookup: Lookup
    had_record: bool = False

    async def get(self, child_key: str) -> CscChildState | None:
        state = await self.lookup(child_key)
        if state is not None and not isinstance(state, CscChildState):
            raise TypeError("the previous-record store holds something other than CscChildState")
        self.had_record = state is not None and state.record is not None
        return state


@dataclass(frozen=True, slots=True)
class CscRecords:
    """Translate for the receiver: `keys` are each council's pseudonymisation keys (never the public dev key)."""

    keys: PseudonymKeyring
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)

    async def __call__(self, item: object, la_code: str, previous: Lookup) -> Admitted:
        # A Pseudonymiser per record, so its identities are this child's only: sealed into the identity store when
        # the receiver sees the child for the first time (or again after a purge), erased on a whole-child purge.
        pseudonymiser = Pseudonymiser(self.keys, keep_identities=True)
        looked_up = LookedUp(previous)
        try:
            council, record = validate_record(item, la_code)
            translation = await receive_record(
                record, la_code=council, pseudonymiser=pseudonymiser, previous=looked_up, received_at=self.clock()
            )
        except ValidationError as error:
            raise RecordRefused(validation_summary(error)) from None
        except ValueError as error:
            raise RecordRefused(str(error)) from None
        child_key = translation.state.child_key
        identities = pseudonymiser.identities or {}
        identity = None if looked_up.had_record else identities.get(child_key)
        erased = tuple(sorted(pseudonymiser.erased))
        return Admitted(child_key, translation.events, translation.state, identity, erased)
