"""What the SSD contacts door last published for each contact, kept on `frontdoor.csc-records.v1` (compacted)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.csc_api import CscChildState, Pseudonym
from schemas.events import Id, LaCode


class SsdContactState(BaseModel):
    """One contact as the door left it, keyed by `contact_key` (the contact id's council-reference pseudonym).

    `standing` are the ids of the contact's events the door published last (its ContactReceived and, once decided,
    its ContactDecided); `retracted` every id the door withdrew for it. The core keeps retractions as tombstones
    for good, so a decision changed back to an earlier outcome is published under a fresh id.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["SsdContactState"] = "SsdContactState"
    la_code: LaCode
    contact_key: Pseudonym
    child_key: Pseudonym
    standing: tuple[Id, ...] = ()
    retracted: tuple[Id, ...] = ()
    updated_at: AwareDatetime
    schema_version: Literal[1] = 1


# A value of `frontdoor.csc-records.v1`: a DfE CSC API child's previous record, or an SSD contact's state.
PreviousRecordValue = Annotated[CscChildState | SsdContactState, Field(discriminator="type")]
