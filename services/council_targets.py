"""Each council's targets and statistical neighbours: the rules file's, and for one release the old metrics file's."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from services.metrics.config import CouncilTargets, MetricsConfig, load_metrics_config
from services.rules_config import CouncilSettings, RulesConfigError

log = logging.getLogger(__name__)

RULES_SETTING = "FRONTDOOR_RULES_CONFIG"
METRICS_SETTING = "FRONTDOOR_PROCESSOR_METRICS_CONFIG"
# The old metrics file's names -> (the table under a council's section, the key) in the rules file.
RULES_FILE_NAMES = {
    "rereferral_target": (".targets", "rereferral"),
    "contact_to_referral_target": (".targets", "contact_to_referral"),
    "referral_to_assessment_target": (".targets", "referral_to_assessment"),
    "neighbours": ("", "statistical_neighbours"),
}


def load_targets(
    rules_file: CouncilSettings | None, metrics_file: Path | None, metrics_given_by: str = METRICS_SETTING
) -> MetricsConfig:
    """The one model of targets and neighbours that the gauges, `pack` and `report --by` read, once, at start-up.

    They belong in the rules file (`[councils.<LA code>.targets]`, `statistical_neighbours`), which the entry
    point has read once (`load_council_settings`), with the council's definitions. The old metrics
    file is still read for this release, with a warning naming each setting to move. A target both files give
    for the same council (or both `[default]`s) is refused, naming both files; so are two different neighbour
    lists (the same list in both is only warned about: the old file was the gauges', the rules file `report`'s).
    """
    ours = rules_file.targets if rules_file is not None else MetricsConfig()
    rules_path = rules_file.path if rules_file is not None else None
    if metrics_file is None:
        return ours
    old = _read_old(metrics_file, metrics_given_by)
    sections = {"default": (ours.default, old.default)}
    sections |= {la: (ours.councils.get(la, CouncilTargets()), own) for la, own in old.councils.items()}
    merged = {
        name: _merged(name, new, previous, rules_path, metrics_file) for name, (new, previous) in sections.items()
    }
    moves = list(_moves(old))
    if moves:
        log.warning(
            "the metrics file %s (%s) is deprecated and will not be read after this release; "
            "move its settings to the rules file (%s): %s",
            metrics_file,
            metrics_given_by,
            rules_path or RULES_SETTING,
            "; ".join(moves),
        )
    councils = dict(ours.councils) | {la: targets for la, targets in merged.items() if la != "default"}
    return MetricsConfig(default=merged["default"], councils=dict(sorted(councils.items())))


def _read_old(path: Path, given_by: str) -> MetricsConfig:
    try:
        return load_metrics_config(path)
    except (OSError, ValueError, ValidationError) as error:  # ValidationError and TOML syntax errors are ValueErrors
        raise RulesConfigError(f"metrics file {path} ({given_by}): {error}") from None


def _merged(
    section: str, new: CouncilTargets, old: CouncilTargets, rules_file: Path | None, metrics_file: Path
) -> CouncilTargets:
    fields = new.model_dump(include=new.model_fields_set)
    for name in sorted(old.model_fields_set):
        value = getattr(old, name)
        if name in fields and not (name == "neighbours" and fields[name] == value):
            raise RulesConfigError(
                f"{_rules_file_name(section, name)} is set in the rules file {rules_file} and, as {name}, in the "
                f"metrics file {metrics_file}: keep it in the rules file only"
            )
        fields[name] = value
    return CouncilTargets.model_validate(fields)


def _moves(old: MetricsConfig) -> Iterator[str]:
    for section, targets in [("default", old.default), *sorted(old.councils.items())]:
        for name in sorted(targets.model_fields_set):
            yield f"{_old_file_name(section, name)} -> {_rules_file_name(section, name)}"


def _old_file_name(section: str, name: str) -> str:
    return f"[default] {name}" if section == "default" else f'[councils."{section}"] {name}'


def _rules_file_name(section: str, name: str) -> str:
    if section == "default" and name == "neighbours":  # a council's neighbours are its own: no default list
        return "each council's [councils.<LA code>] statistical_neighbours"
    table, key = RULES_FILE_NAMES[name]
    return f"[{'default' if section == 'default' else f'councils.{section}'}{table}] {key}"
