"""DfE children's social care API child records (spec v0.7): one child per record, full or partial, with purges.

A record is the same model whether full or partial: in a partial (delta) record a field that is absent is
unchanged, so the translator reads `model_fields_set` (or `model_dump(exclude_unset=True)`), never defaults.
List items are matched by their `*_id` (`ITEM_ID`); `purge: true` withdraws an item, or on the record the child.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, model_validator

from schemas.codes import ClosureReason, ReferralSource
from schemas.events import Id, LaCode
from schemas.pseudonyms import PSEUDONYM_PATTERN, is_pseudonym

Text = Annotated[str, StringConstraints(max_length=200)]
Factor = Annotated[str, StringConstraints(min_length=1, max_length=8, strip_whitespace=True)]
Pseudonym = Annotated[str, StringConstraints(pattern=rf"^{PSEUDONYM_PATTERN.pattern}$")]
MAX_ITEMS = 500  # items in one list: far above any real child's, low enough to bound one record's cost


def _la_code(value: object) -> object:
    """The payload writes la_code as a number (`123`); the events use three digits ("886", "201")."""
    return f"{value:03d}" if isinstance(value, int) and not isinstance(value, bool) else value


CouncilCode = Annotated[LaCode, BeforeValidator(_la_code)]


class RecordPart(BaseModel):
    """Inbound: unknown fields are ignored, so a sender on a later spec version is not refused for additions."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class ChildDetails(RecordPart):
    """Who the child is. Never stored or published: only its presence is checked, the door drops it."""

    unique_pupil_number: Text | None = None
    former_unique_pupil_number: Text | None = None
    unique_pupil_number_unknown_reason: Text | None = None
    first_name: Text | None = None
    surname: Text | None = None
    date_of_birth: dt.date | None = None
    expected_date_of_birth: dt.date | None = None
    sex: Text | None = None
    ethnicity: Text | None = None
    disabilities: tuple[Text, ...] | None = Field(default=None, max_length=MAX_ITEMS)
    postcode: Text | None = None
    uasc_flag: bool | None = None
    uasc_end_date: dt.date | None = None
    purge: bool = False


class SdqAssessment(RecordPart):
    date: dt.date | None = None
    score: int | None = None


class HealthAndWellbeing(RecordPart):
    sdq_assessments: tuple[SdqAssessment, ...] | None = Field(default=None, max_length=MAX_ITEMS)
    purge: bool = False


class CareWorker(RecordPart):
    worker_id: Id
    start_date: dt.date | None = None
    end_date: dt.date | None = None


class ChildAndFamilyAssessment(RecordPart):
    child_and_family_assessment_id: Id
    start_date: dt.date | None = None
    authorisation_date: dt.date | None = None
    factors: tuple[Factor, ...] | None = Field(default=None, max_length=100)
    purge: bool = False


class ChildInNeedPlan(RecordPart):
    child_in_need_plan_id: Id
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    purge: bool = False


class Section47Assessment(RecordPart):
    section_47_assessment_id: Id
    start_date: dt.date | None = None
    icpc_required_flag: bool | None = None
    icpc_date: dt.date | None = None
    end_date: dt.date | None = None
    purge: bool = False


class ChildProtectionPlan(RecordPart):
    child_protection_plan_id: Id
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    purge: bool = False


class ChildLookedAfterPlacement(RecordPart):
    child_looked_after_placement_id: Id
    start_date: dt.date | None = None
    start_reason: Text | None = None
    placement_type: Text | None = None
    postcode: Text | None = None
    end_date: dt.date | None = None
    end_reason: Text | None = None
    change_reason: Text | None = None
    purge: bool = False


class Adoption(RecordPart):
    initial_decision_date: dt.date | None = None
    matched_date: dt.date | None = None
    placed_date: dt.date | None = None
    purge: bool = False


class CareLeavers(RecordPart):
    contact_date: dt.date | None = None
    activity: Text | None = None
    accommodation: Text | None = None
    purge: bool = False


class SocialCareEpisode(RecordPart):
    """A referral and what followed it; `referral_source` and `closure_reason` are CIN census codes."""

    social_care_episode_id: Id
    referral_date: dt.date | None = None
    referral_source: ReferralSource | None = None
    referral_no_further_action_flag: bool | None = None
    closure_date: dt.date | None = None
    closure_reason: ClosureReason | None = None
    care_worker_details: tuple[CareWorker, ...] | None = Field(default=None, max_length=MAX_ITEMS)
    child_and_family_assessments: tuple[ChildAndFamilyAssessment, ...] | None = Field(
        default=None, max_length=MAX_ITEMS
    )
    child_in_need_plans: tuple[ChildInNeedPlan, ...] | None = Field(default=None, max_length=MAX_ITEMS)
    section_47_assessments: tuple[Section47Assessment, ...] | None = Field(default=None, max_length=MAX_ITEMS)
    child_protection_plans: tuple[ChildProtectionPlan, ...] | None = Field(default=None, max_length=MAX_ITEMS)
    child_looked_after_placements: tuple[ChildLookedAfterPlacement, ...] | None = Field(
        default=None, max_length=MAX_ITEMS
    )
    adoption: Adoption | None = None
    care_leavers: CareLeavers | None = None
    purge: bool = False


class ChildRecord(RecordPart):
    """One child's record as the sender builds it: full on the first send, partial (changes only) after that.

    `{"la_child_id": ..., "mis_child_id": ..., "purge": true}` withdraws the whole child.
    """

    la_child_id: Id
    mis_child_id: Id
    purge: bool = False
    child_details: ChildDetails | None = None
    health_and_wellbeing: HealthAndWellbeing | None = None
    social_care_episodes: tuple[SocialCareEpisode, ...] | None = Field(default=None, max_length=MAX_ITEMS)


class ChildRecordEnvelope(RecordPart):
    """The payload's outer shape: the council, and under `Children` one child's record."""

    la_code: CouncilCode
    children: ChildRecord = Field(alias="Children")


# Each list's item id, by the list's field name: partial records merge into the previous record by it.
ITEM_ID: dict[str, str] = {
    "social_care_episodes": "social_care_episode_id",
    "care_worker_details": "worker_id",
    "child_and_family_assessments": "child_and_family_assessment_id",
    "child_in_need_plans": "child_in_need_plan_id",
    "section_47_assessments": "section_47_assessment_id",
    "child_protection_plans": "child_protection_plan_id",
    "child_looked_after_placements": "child_looked_after_placement_id",
}


class CscChildState(BaseModel):
    """The previous record per child on `frontdoor.csc-records.v1` (compacted), keyed by `child_key`.

    `record` is the merged record as the door left it: child and item ids pseudonymised, no `child_details`,
    None after a whole-child purge. `retracted` lists every event id withdrawn for this child: the core keeps
    those as tombstones for good, so an item withdrawn and later sent again is published under a new id.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["CscChildState"] = "CscChildState"
    la_code: LaCode
    child_key: Pseudonym
    record: ChildRecord | None = None
    retracted: tuple[Id, ...] = ()
    updated_at: AwareDatetime
    schema_version: Literal[1] = 1

    @model_validator(mode="after")
    def _record_is_pseudonymous(self) -> CscChildState:
        if self.record is not None and self.record.la_child_id != self.child_key:
            raise ValueError("the stored record's la_child_id must be the child_key (pseudonymised at the door)")
        if self.record is not None and not is_pseudonym(self.record.mis_child_id):
            raise ValueError("the stored record's mis_child_id must be pseudonymised at the door")
        if self.record is not None and self.record.child_details is not None:
            raise ValueError("the stored record must not hold child_details")
        return self
