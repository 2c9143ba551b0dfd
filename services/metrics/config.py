"""The one model of per-council targets and statistical neighbours (gauges, pack, report), and the old file's reader."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

LaCode = Annotated[str, StringConstraints(pattern=r"^\d{3}$")]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class CouncilTargets(BaseModel):
    """A council's targets as fractions; a missing re-referral target means England's latest published rate."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rereferral_target: Fraction | None = None
    contact_to_referral_target: Fraction | None = None
    referral_to_assessment_target: Fraction | None = None
    # DfE's statistical neighbours (the children's services benchmarking tool); not shipped with the package.
    neighbours: tuple[LaCode, ...] = Field(default=(), max_length=15)


class MetricsConfig(BaseModel):
    """`default` applies to every council; `councils` overrides it field by field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: CouncilTargets = CouncilTargets()
    councils: Mapping[LaCode, CouncilTargets] = Field(default_factory=dict)

    def for_council(self, la_code: str) -> CouncilTargets:
        own = self.councils.get(la_code)
        if own is None:
            return self.default
        return self.default.model_copy(update=own.model_dump(exclude_unset=True))


def load_metrics_config(path: Path | None) -> MetricsConfig:
    """Read the deprecated metrics file (FRONTDOOR_PROCESSOR_METRICS_CONFIG); only services.council_targets calls it."""
    if path is None:
        return MetricsConfig()
    with path.open("rb") as handle:
        return MetricsConfig.model_validate(tomllib.load(handle))
