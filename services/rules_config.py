"""Per-council rule definitions, read once from the TOML file the platform team edits (FRONTDOOR_RULES_CONFIG)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from services.core.config import (
    ALWAYS,
    DEFAULT_CONFIG,
    CouncilRules,
    RereferralWindow,
    RuleConfig,
    SameDayReferrals,
    Timeline,
)
from services.metrics.config import CouncilTargets, Fraction, MetricsConfig


class Definition(BaseModel):
    """The settings a council may change; a field left out keeps the value it inherits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rereferral_window: RereferralWindow | None = None
    same_day_referrals: SameDayReferrals | None = None
    two_referrals_window_months: int | None = Field(default=None, ge=1, le=24)
    repeated_contacts_min: int | None = Field(default=None, ge=2)
    repeated_contacts_window_days: int | None = Field(default=None, ge=1, le=366)
    contact_after_closure_days: int | None = Field(default=None, ge=1, le=366)
    repeat_cpp_window_months: int | None = Field(default=None, ge=1, le=120)
    rereferral_high_referrals: int | None = Field(default=None, ge=2)
    rereferral_medium_within_days: int | None = Field(default=None, ge=0, le=366)
    repeated_contacts_high_margin: int | None = Field(default=None, ge=0)

    def applied_to(self, config: RuleConfig) -> RuleConfig:
        return dataclasses.replace(
            config,
            **self.model_dump(
                exclude_none=True, exclude={"changes", "from_", "statistical_neighbours", "name", "targets"}
            ),
        )


class DatedDefinition(Definition):
    """A change of definition, in force for anything dated on or after `from`."""

    from_: dt.date = Field(alias="from")


class TargetSettings(BaseModel):
    """`[councils.<LA code>.targets]`: fractions, e.g. `rereferral = 0.20`; a target left out is inherited."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rereferral: Fraction | None = None  # none anywhere: England's latest published rate
    contact_to_referral: Fraction | None = None
    referral_to_assessment: Fraction | None = None


class CouncilDefinition(Definition):
    """A council's (or the default's) definition, and its dated changes."""

    changes: list[DatedDefinition] = []
    # The council's name as its boards and folders show it, e.g. "Kent"; listing a council with a name is what
    # makes it one the deployment serves (Grafana gets a folder for it: `frontdoor dashboards generate`).
    name: Annotated[str, StringConstraints(min_length=1, max_length=80, pattern=r"^[^\"\\{}$]+$")] | None = None
    # The councils `report --by` benchmarks against; default: its ten in DfE's 2025 statistical neighbour model.
    statistical_neighbours: list[Annotated[str, StringConstraints(pattern=r"^\d{3}$")]] | None = Field(
        default=None, max_length=15
    )
    # The council's targets for the gauges, the boards' target line and the pack's RAG (not dated: a target is
    # for the year the platform team sets it).
    targets: TargetSettings | None = None

    @field_validator("changes")
    @classmethod
    def _dates_ascend(cls, changes: list[DatedDefinition]) -> list[DatedDefinition]:
        dates = [change.from_ for change in changes]
        if dates != sorted(set(dates)):
            raise ValueError("changes must be listed in ascending order of their `from` dates, one per date")
        return changes


class RulesFile(BaseSettings):
    """The whole file: `[default]` for every council, `[councils.<LA code>]` for one council."""

    model_config = SettingsConfigDict(extra="forbid", frozen=True)

    default: CouncilDefinition = CouncilDefinition()
    councils: dict[str, CouncilDefinition] = {}

    @field_validator("councils")
    @classmethod
    def _three_digit_codes(cls, councils: dict[str, CouncilDefinition]) -> dict[str, CouncilDefinition]:
        wrong = [code for code in councils if not (len(code) == 3 and code.isdigit())]
        if wrong:
            raise ValueError(f"council keys are three-digit LA codes such as 886, not {', '.join(map(repr, wrong))}")
        return councils

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file alone: a definition changed by an environment variable would be invisible to the platform team.
        return (TomlConfigSettingsSource(settings_cls),)


class RulesConfigError(ValueError):
    """The rules file is missing or wrong; the message names the file, the council and the field."""


@dataclasses.dataclass(frozen=True)
class CouncilSettings:
    """What one read of the rules file gives an entry point: the definitions, and the targets and neighbours."""

    path: Path
    rules: CouncilRules
    targets: MetricsConfig  # the one model the gauges, `pack` and `report --by` read (services.council_targets)


def load_council_settings(path: Path, base: RuleConfig = DEFAULT_CONFIG) -> CouncilSettings:
    """Read the rules file once: every council's dated definitions on top of `base`, and its targets.

    A council's definition on a day is: `base`, then `[default]` and its changes in force that day, then the
    council's own settings and its changes in force that day. Later layers win field by field. Targets are not
    dated: `[default.targets]` applies to every council, and a council's `targets` override it target by target.
    """
    parsed = _read(path)
    default = _timeline(base, parsed.default, None)
    councils = {la: _timeline(base, parsed.default, council) for la, council in sorted(parsed.councils.items())}
    targets = {la: _targets(c, c.statistical_neighbours) for la, c in sorted(parsed.councils.items())}
    return CouncilSettings(
        path,
        CouncilRules(default, councils),
        MetricsConfig(
            default=_targets(parsed.default, None),
            councils={la: own for la, own in targets.items() if own.model_fields_set},
        ),
    )


def load_council_rules(path: Path, base: RuleConfig = DEFAULT_CONFIG) -> CouncilRules:
    """The definitions alone, for the commands that need no targets (`replay`, `report`, the desk)."""
    return load_council_settings(path, base).rules


def load_council_names(path: Path) -> dict[str, str]:
    """The councils the deployment serves, by LA code: every council the rules file gives a `name`."""
    return {la: c.name for la, c in sorted(_read(path).councils.items()) if c.name}


def _read(path: Path) -> RulesFile:
    if not path.is_file():
        raise RulesConfigError(f"rules file {path}: not found (FRONTDOOR_RULES_CONFIG or --rules)")

    class FromFile(RulesFile):
        model_config = SettingsConfigDict(toml_file=path)

    try:
        parsed = FromFile()
    except ValidationError as error:
        raise RulesConfigError(_explain(path, error)) from None
    except ValueError as error:  # a TOML syntax error
        raise RulesConfigError(f"rules file {path}: {error}") from None
    return parsed


def _targets(definition: CouncilDefinition, neighbours: list[str] | None) -> CouncilTargets:
    """Only what the file sets, so that `MetricsConfig.for_council` can tell an inherited target from a set one."""
    given = definition.targets.model_dump(exclude_unset=True) if definition.targets else {}
    fields: dict[str, object] = {f"{name}_target": value for name, value in given.items()}
    if neighbours:
        fields["neighbours"] = tuple(neighbours)
    return CouncilTargets.model_validate(fields)


def _timeline(base: RuleConfig, default: CouncilDefinition, council: CouncilDefinition | None) -> Timeline:
    own = council.changes if council else []
    starts = sorted({ALWAYS, *(c.from_ for c in default.changes), *(c.from_ for c in own)})
    entries: list[tuple[dt.date, RuleConfig]] = []
    for start in starts:
        config = default.applied_to(base)
        for change in default.changes:
            config = change.applied_to(config) if change.from_ <= start else config
        if council is not None:
            config = council.applied_to(config)
            for change in own:
                config = change.applied_to(config) if change.from_ <= start else config
        entries.append((start, config))
    return tuple(entries)


def _explain(path: Path, error: ValidationError) -> str:
    lines = [f"rules file {path}: {error.error_count()} error(s)"]
    for item in error.errors():
        lines.append(f"  {_where(item['loc'])}: {item['msg']} (got {item.get('input')!r})")
    return "\n".join(lines)


def _where(loc: tuple[Any, ...]) -> str:
    """`('councils', '886', 'changes', 0, 'rereferral_window')` -> `council 886, changes[0], rereferral_window`."""
    parts = list(loc)
    if parts[:1] == ["councils"] and len(parts) > 1:
        head, parts = f"council {parts[1]}", parts[2:]
    elif parts[:1] == ["default"]:
        head, parts = "default", parts[1:]
    else:
        head = "top level"
    if parts[:1] == ["changes"] and len(parts) > 1:
        head, parts = f"{head}, changes[{parts[1]}]", parts[2:]
    return ", ".join([head, *(str(p) for p in parts)]) if parts else head
