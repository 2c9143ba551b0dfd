"""Council-month totals on `frontdoor.council-totals.v1`: one council's aggregates for one month, whole, no child."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from schemas.events import Label, LaCode

Month = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
Measure = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,64}$")]


def totals_key(la_code: str, month: str) -> str:
    """The topic's key, "<la_code>|<YYYY-MM>": compaction keeps the latest snapshot of each council-month."""
    return f"{la_code}|{month}"


class TotalCell(BaseModel):
    """One count of the month: a measure of services.core.aggregates, its label (a source group, need, reason...)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    measure: Measure
    label: Label
    count: int  # never 0 (an absent cell is 0); a month-end stock's change may be negative


class CouncilMonthTotals(BaseModel):
    """The whole of one council-month as the worker holds it: every non-zero cell, sorted; empty when none is left.

    Each message replaces the one before under its key, so publishing the same month twice changes nothing and
    only the order within a key matters. Aggregates only: no child, referral or event id is ever in it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["CouncilMonthTotals"] = "CouncilMonthTotals"
    la_code: LaCode
    month: Month
    cells: tuple[TotalCell, ...] = Field(default=())
    schema_version: Literal[1] = 1

    @property
    def key(self) -> str:
        return totals_key(self.la_code, self.month)
