"""A council's targets live in its section of the rules file; the old metrics file still works for one release."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from services.cli import main
from services.core.config import RuleConfig
from services.council_targets import load_targets
from services.metrics.collector import IndicatorCollector
from services.metrics.config import MetricsConfig
from services.rules_config import CouncilSettings, RulesConfigError, load_council_rules, load_council_settings

NOW = dt.datetime(2025, 5, 20, 9, 30, tzinfo=dt.UTC)
KENT, MEDWAY = "886", "887"

RULES = """
[default.targets]
referral_to_assessment = 0.75

[councils.886]
name = "Kent"
statistical_neighbours = ["887", "845"]

[councils.886.targets]
rereferral = 0.20
contact_to_referral = 0.30
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def targets_of(rules: Path | None, old: Path | None = None) -> MetricsConfig:
    """As an entry point reads them: the rules file once, then the targets (and the deprecated file's)."""
    return load_targets(load_council_settings(rules) if rules is not None else None, old)


def target_gauge(config: MetricsConfig, name: str, la_code: str) -> float | None:
    registry = CollectorRegistry()
    registry.register(IndicatorCollector(lambda: {la_code: Counter()}, lambda: NOW, config))
    return registry.get_sample_value(name, {"la_code": la_code})


def test_a_target_in_the_councils_section_of_the_rules_file_reaches_the_worker_gauge(tmp_path: Path) -> None:
    config = targets_of(write(tmp_path, "rules.toml", RULES))

    assert target_gauge(config, "frontdoor_rereferral_target_ratio", KENT) == 0.20
    assert target_gauge(config, "frontdoor_contact_to_referral_target_ratio", KENT) == 0.30
    assert target_gauge(config, "frontdoor_referral_to_assessment_target_ratio", KENT) == 0.75  # from [default]
    assert target_gauge(config, "frontdoor_referral_to_assessment_target_ratio", MEDWAY) == 0.75
    assert target_gauge(config, "frontdoor_contact_to_referral_target_ratio", MEDWAY) is None


def test_the_rules_files_statistical_neighbours_are_the_gauges_neighbours_too(tmp_path: Path) -> None:
    config = targets_of(write(tmp_path, "rules.toml", RULES))

    assert config.for_council(KENT).neighbours == ("887", "845")
    assert config.for_council(MEDWAY).neighbours == ()


def test_targets_change_no_rule_definition(tmp_path: Path) -> None:
    path = write(tmp_path, "rules.toml", RULES)
    without = write(tmp_path, "plain.toml", '[councils.886]\nname = "Kent"\nstatistical_neighbours = ["887", "845"]\n')

    assert load_council_rules(path) == load_council_rules(without)


@pytest.mark.parametrize(
    "text",
    [
        "[councils.886.targets]\nrereferral = 22.6",
        "[councils.886.targets]\nrereferral_target = 0.2",
        "[councils.886]\nrereferral_target = 0.2",
        "[[councils.886.changes]]\nfrom = 2025-04-01\ntargets = {rereferral = 0.2}",
    ],
    ids=["a percentage", "the old file's name", "a target outside the targets table", "a dated target"],
)
def test_a_wrong_target_in_the_rules_file_is_refused_naming_the_council(tmp_path: Path, text: str) -> None:
    with pytest.raises(RulesConfigError, match=r"council 886"):
        targets_of(write(tmp_path, "rules.toml", text))


def test_a_target_for_the_same_council_in_both_files_is_refused_naming_both_files(tmp_path: Path) -> None:
    rules = write(tmp_path, "rules.toml", RULES)
    old = write(tmp_path, "metrics.toml", '[councils."886"]\nrereferral_target = 0.25\n')

    with pytest.raises(RulesConfigError) as refused:
        targets_of(rules, old)

    assert str(rules) in str(refused.value) and str(old) in str(refused.value)
    assert "[councils.886.targets] rereferral" in str(refused.value)


def test_a_default_target_in_both_files_is_refused_too(tmp_path: Path) -> None:
    rules = write(tmp_path, "rules.toml", RULES)
    old = write(tmp_path, "metrics.toml", "[default]\nreferral_to_assessment_target = 0.7\n")

    with pytest.raises(RulesConfigError, match=r"\[default.targets\] referral_to_assessment"):
        targets_of(rules, old)


def test_the_old_metrics_file_still_works_with_a_warning_naming_each_setting_to_move(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rules = write(tmp_path, "rules.toml", RULES)
    old = write(tmp_path, "metrics.toml", '[councils."887"]\nrereferral_target = 0.19\nneighbours = ["886"]\n')

    with caplog.at_level(logging.WARNING, logger="services.council_targets"):
        config = targets_of(rules, old)

    assert target_gauge(config, "frontdoor_rereferral_target_ratio", MEDWAY) == 0.19
    assert target_gauge(config, "frontdoor_rereferral_target_ratio", KENT) == 0.20  # the rules file's, unchanged
    assert config.for_council(MEDWAY).neighbours == ("886",)
    [warning] = caplog.records
    message = warning.getMessage()
    assert "deprecated" in message and "FRONTDOOR_PROCESSOR_METRICS_CONFIG" in message and str(old) in message
    assert '[councils."887"] rereferral_target -> [councils.887.targets] rereferral' in message
    assert '[councils."887"] neighbours -> [councils.887] statistical_neighbours' in message


def test_without_a_rules_file_the_old_metrics_file_is_read_as_before_and_the_warning_names_the_variable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old = write(tmp_path, "metrics.toml", "[default]\nreferral_to_assessment_target = 0.7\n")

    with caplog.at_level(logging.WARNING, logger="services.council_targets"):
        config = targets_of(None, old)

    assert config.for_council(KENT).referral_to_assessment_target == 0.7
    assert "FRONTDOOR_RULES_CONFIG" in caplog.records[0].getMessage()


def test_the_same_neighbours_in_both_files_are_only_warned_about_and_different_ones_are_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rules = write(tmp_path, "rules.toml", RULES)
    same = write(tmp_path, "same.toml", '[councils."886"]\nneighbours = ["887", "845"]\n')
    different = write(tmp_path, "different.toml", '[councils."886"]\nneighbours = ["850"]\n')

    with caplog.at_level(logging.WARNING, logger="services.council_targets"):
        assert targets_of(rules, same).for_council(KENT).neighbours == ("887", "845")
    assert "[councils.886] statistical_neighbours" in caplog.records[0].getMessage()
    with pytest.raises(RulesConfigError, match=r"\[councils.886\] statistical_neighbours .*/different\.toml"):
        targets_of(rules, different)


def test_only_the_rules_file_gives_no_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="services.council_targets"):
        targets_of(write(tmp_path, "rules.toml", RULES))

    assert caplog.records == []


def test_the_worker_refuses_to_start_when_both_files_give_a_target_before_it_touches_kafka(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = write(tmp_path, "rules.toml", RULES)
    old = write(tmp_path, "metrics.toml", '[councils."886"]\nrereferral_target = 0.25\n')
    monkeypatch.setenv("FRONTDOOR_RULES_CONFIG", str(rules))
    monkeypatch.setenv("FRONTDOOR_PROCESSOR_METRICS_CONFIG", str(old))
    monkeypatch.setenv("FRONTDOOR_BOOTSTRAP_SERVERS", "127.0.0.1:9")  # nothing listens: no broker is reached

    assert main(["worker", "--store", "memory://", "--datadir", str(tmp_path / "state")]) == 2

    refusal = capsys.readouterr().err
    assert refusal.startswith("frontdoor worker:") and str(rules) in refusal and str(old) in refusal
    assert not (tmp_path / "state").exists()


def test_the_example_rules_file_gives_kent_its_targets_and_every_council_the_default_one() -> None:
    example = targets_of(Path(__file__).resolve().parents[2] / "deploy" / "rules.example.toml")

    assert example.for_council(KENT).rereferral_target == 0.20
    assert example.for_council("942").referral_to_assessment_target == 0.75
    assert len(example.for_council(KENT).neighbours) == 5


def test_a_default_neighbour_list_in_the_old_file_is_to_be_moved_to_each_councils_own_list(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old = write(tmp_path, "metrics.toml", '[default]\nneighbours = ["887"]\n')

    with caplog.at_level(logging.WARNING, logger="services.council_targets"):
        assert targets_of(None, old).for_council(KENT).neighbours == ("887",)  # still read, as before

    assert "each council's [councils.<LA code>] statistical_neighbours" in caplog.records[0].getMessage()


def test_the_worker_reads_its_definitions_and_its_targets_from_one_read_of_the_rules_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.processor.cli_processor import worker_configuration  # noqa: PLC0415
    from services.processor.settings import ProcessorSettings  # noqa: PLC0415
    from services.settings import Settings  # noqa: PLC0415

    reads: list[Path] = []

    def counted(path: Path, base: RuleConfig) -> CouncilSettings:
        reads.append(path)
        return load_council_settings(path, base)

    monkeypatch.setattr("services.processor.cli_processor.load_council_settings", counted)
    path = write(tmp_path, "rules.toml", RULES.replace('name = "Kent"', 'name = "Kent"\nrepeated_contacts_min = 4'))

    rules, targets = worker_configuration(Settings(rules_config=path), ProcessorSettings(metrics_config=None))

    assert reads == [path]
    assert rules.at(KENT, NOW.date()).repeated_contacts_min == 4
    assert targets.for_council(KENT).rereferral_target == 0.20
