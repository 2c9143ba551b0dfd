"""Dip samples loaded into the desk: the `frontdoor dip-sample` JSON, checked against the draw's own rules, kept.

The desk does not draw the sample itself: its timeline rows are display lines (codes, dates, teams) without the
referral ids that tie a closure to its referral or the event times that order a day, which the core's
re-referral list needs (docs/alertdesk.md, "Dip samples"). It takes the command's output instead and checks it
with the same public functions the command used (`allocate`, `quarter_days`).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from schemas.events import LaCode
from schemas.pseudonyms import is_pseudonym
from services.alertdesk.database import Database
from services.reports.dip_sample import allocate, quarter_days

MAX_ROWS = 120  # the desk takes request bodies up to 64 KB: 120 rows of council 886 are a 55 KB file


def _pseudonym(value: str) -> str:
    if not is_pseudonym(value):
        raise ValueError("not a pseudonym: the sample must carry pseudonyms, never a council's child id")
    return value


Text = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class SampledReferral(BaseModel):
    """One row of the command's `sample` list (DipSample.rows)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stratum: Text
    pseudonym: Annotated[str, AfterValidator(_pseudonym)]
    la_code: LaCode
    referral_date: dt.date
    previous_referral_date: dt.date
    previous_closure_date: dt.date | None
    previous_closure_reason: Text
    previous_team: Text
    primary_need: Text | None
    previous_primary_need: Text | None
    same_concern: bool


class DipSampleFile(BaseModel):
    """The command's JSON output, refused unless its allocation and rows are what a draw of it would give."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    la_code: LaCode
    quarter: Annotated[str, StringConstraints(pattern=r"^\d{4}-Q[1-4]$")]
    by: Literal["closing-team", "closure-reason", "none"]
    seed: int
    size: int = Field(ge=1, le=MAX_ROWS)
    population: dict[Text, Annotated[int, Field(ge=0)]]
    allocation: dict[Text, Annotated[int, Field(ge=0)]]
    sample: list[SampledReferral] = Field(max_length=MAX_ROWS)

    @model_validator(mode="after")
    def _consistent(self) -> DipSampleFile:
        if self.allocation != allocate(self.population, self.size):
            raise ValueError("the allocation is not the one the population and size give")
        if dict(Counter(r.stratum for r in self.sample)) != {k: v for k, v in self.allocation.items() if v}:
            raise ValueError("the rows per stratum do not match the allocation")
        first, last = quarter_days(self.quarter)
        if any(r.la_code != self.la_code or not first <= r.referral_date <= last for r in self.sample):
            raise ValueError(f"every row must be a re-referral of council {self.la_code} in {self.quarter}")
        return self


@dataclass(frozen=True, slots=True)
class StoredSample:
    sample_id: str
    la_code: str
    loaded_by: str
    loaded_at: dt.datetime
    sample: DipSampleFile


def save_sample(db: Database, stored: StoredSample) -> None:
    with db.transaction():
        db.execute(
            "INSERT INTO desk_dip_samples (sample_id, la_code, quarter, loaded_by, loaded_at, body) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (stored.sample_id, stored.la_code, stored.sample.quarter, stored.loaded_by, stored.loaded_at.isoformat(),
             stored.sample.model_dump_json()),
        )  # fmt: skip


def _stored(row: tuple[object, ...]) -> StoredSample:
    sample_id, la_code, loaded_by, loaded_at, body = row
    when = dt.datetime.fromisoformat(str(loaded_at))
    sample = DipSampleFile.model_validate_json(str(body))
    return StoredSample(str(sample_id), str(la_code), str(loaded_by), when, sample)


def samples_of(db: Database, la_code: str) -> list[StoredSample]:
    """The council's loaded samples, newest first."""
    rows = db.query(
        "SELECT sample_id, la_code, loaded_by, loaded_at, body FROM desk_dip_samples WHERE la_code = ? "
        "ORDER BY loaded_at DESC, sample_id",
        (la_code,),
    )
    return [_stored(r) for r in rows]


def sample_of(db: Database, la_code: str, sample_id: str) -> StoredSample | None:
    """The sample, only if it belongs to this council: another council's id looks exactly like no id."""
    rows = db.query(
        "SELECT sample_id, la_code, loaded_by, loaded_at, body FROM desk_dip_samples WHERE sample_id = ? "
        "AND la_code = ?",
        (sample_id, la_code),
    )
    return _stored(rows[0]) if rows else None


def referral_days(db: Database, la_code: str, child_keys: list[str]) -> set[tuple[str, dt.date]]:
    """(child, date) of every referral line the desk's timeline holds for these children."""
    found: set[tuple[str, dt.date]] = set()
    for start in range(0, len(child_keys), 500):
        chunk = child_keys[start : start + 500]
        marks = ",".join("?" * len(chunk))  # placeholders only: the keys themselves are bound
        rows = db.query(
            f"SELECT child_key, event_date FROM desk_timeline WHERE la_code = ? AND type = 'ReferralOpened' "  # noqa: S608  # as above
            f"AND child_key IN ({marks})",
            [la_code, *chunk],
        )
        found |= {(str(key), dt.date.fromisoformat(str(day))) for key, day in rows}
    return found
