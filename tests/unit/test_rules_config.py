"""The per-council rules file: read once through pydantic-settings, resolved into the core's CouncilRules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.cli import main
from services.core.config import DEFAULT_CONFIG, RuleConfig
from services.rules_config import RulesConfigError, load_council_names, load_council_rules
from tests.builders import day
from tests.reference import reference_file

REPO = Path(__file__).resolve().parents[2]


def rules_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(text)
    return path


def test_a_council_set_to_365_days_counts_365_days_and_the_others_follow_the_default(tmp_path: Path) -> None:
    path = rules_file(
        tmp_path,
        """
        [default]
        repeated_contacts_min = 4

        [councils.201]
        rereferral_window = "365d"
        """,
    )
    rules = load_council_rules(path)
    assert rules.at("201", day("2024-06-15")) == RuleConfig(rereferral_window="365d", repeated_contacts_min=4)
    assert rules.at("886", day("2024-06-15")) == RuleConfig(repeated_contacts_min=4)


def test_a_dated_change_applies_from_its_date_and_the_earlier_definition_before_it(tmp_path: Path) -> None:
    path = rules_file(
        tmp_path,
        """
        [councils.886]
        repeated_contacts_min = 4

        [[councils.886.changes]]
        from = 2025-04-01
        same_day_referrals = "count_after_closure"
        """,
    )
    rules = load_council_rules(path)
    assert rules.at("886", day("2025-03-31")) == RuleConfig(repeated_contacts_min=4)
    changed = RuleConfig(repeated_contacts_min=4, same_day_referrals="count_after_closure")
    assert rules.at("886", day("2025-04-01")) == changed
    assert rules.for_council("886") == changed


def test_a_dated_change_of_the_default_reaches_every_council_except_where_a_council_set_that_field(
    tmp_path: Path,
) -> None:
    path = rules_file(
        tmp_path,
        """
        [[default.changes]]
        from = 2025-04-01
        rereferral_window = "365d"
        repeated_contacts_min = 5

        [councils.201]
        rereferral_window = "12m"
        """,
    )
    rules = load_council_rules(path)
    assert rules.at("886", day("2025-04-01")) == RuleConfig(rereferral_window="365d", repeated_contacts_min=5)
    assert rules.at("201", day("2025-04-01")) == RuleConfig(rereferral_window="12m", repeated_contacts_min=5)
    assert rules.at("201", day("2025-03-31")) == DEFAULT_CONFIG


def test_the_file_is_laid_over_the_entry_points_base_definition(tmp_path: Path) -> None:
    path = rules_file(tmp_path, '[councils.201]\nrereferral_window = "365d"\n')
    rules = load_council_rules(path, base=RuleConfig(retention_months=None))
    assert rules.for_council("201") == RuleConfig(rereferral_window="365d", retention_months=None)
    assert rules.for_council("886").retention_months is None


def test_a_bad_value_names_the_council_and_the_field(tmp_path: Path) -> None:
    path = rules_file(tmp_path, '[councils.886]\nrereferral_window = "13m"\n')
    with pytest.raises(RulesConfigError, match=r"council 886, rereferral_window: .*'12m' or '365d'.*'13m'"):
        load_council_rules(path)


def test_a_bad_value_in_a_dated_change_names_the_council_and_the_change(tmp_path: Path) -> None:
    path = rules_file(tmp_path, "[[councils.201.changes]]\nfrom = 2025-04-01\nrepeated_contacts_min = 0\n")
    with pytest.raises(RulesConfigError, match=r"council 201, changes\[0\], repeated_contacts_min"):
        load_council_rules(path)


def test_an_unknown_setting_is_an_error_not_a_silent_default(tmp_path: Path) -> None:
    path = rules_file(tmp_path, "[councils.886]\nrereferal_window = '365d'\n")
    with pytest.raises(RulesConfigError, match=r"council 886, rereferal_window: Extra inputs are not permitted"):
        load_council_rules(path)


def test_changes_out_of_date_order_are_an_error(tmp_path: Path) -> None:
    text = "[[councils.886.changes]]\nfrom = 2025-04-01\n\n[[councils.886.changes]]\nfrom = 2024-04-01\n"
    with pytest.raises(RulesConfigError, match=r"council 886, changes: .*ascending order"):
        load_council_rules(rules_file(tmp_path, text))


def test_a_council_key_must_be_a_three_digit_la_code(tmp_path: Path) -> None:
    with pytest.raises(RulesConfigError, match="three-digit LA codes"):
        load_council_rules(rules_file(tmp_path, "[councils.Oldham]\nrepeated_contacts_min = 4\n"))


def test_a_missing_file_says_where_it_was_looked_for(tmp_path: Path) -> None:
    with pytest.raises(RulesConfigError, match="not found"):
        load_council_rules(tmp_path / "absent.toml")


def test_the_shipped_example_file_loads() -> None:
    rules = load_council_rules(REPO / "deploy" / "rules.example.toml")
    assert rules.for_council("201").rereferral_window == "365d"
    assert rules.at("886", day("2025-04-01")).same_day_referrals == "count_after_closure"


# `frontdoor report` reads the same file


def census_with_a_pair_exactly_twelve_months_and_366_days_apart(tmp_path: Path) -> Path:
    """The shipped 2024 return (council 201), with one more episode for its second child, a year earlier."""
    source = reference_file("cin-census-xml", "d2i_CIN_Census_2024.xml").read_text()
    later = "    <CINdetails>\n        <CINreferralDate>2024-10-24</CINreferralDate>"
    earlier = (
        "    <CINdetails>\n        <CINreferralDate>2023-10-24</CINreferralDate>\n"
        "        <ReferralSource>1A</ReferralSource>\n        <PrimaryNeedCode>N1</PrimaryNeedCode>\n"
        "        <CINclosureDate>2023-10-29</CINclosureDate>\n        <ReasonForClosure>RC9</ReasonForClosure>\n"
        "        <ReferralNFA>false</ReferralNFA>\n    </CINdetails>\n"
    )
    assert source.count(later) == 1
    path = tmp_path / "census.xml"
    path.write_text(source.replace(later, earlier + later))
    return path


def report(capsys: pytest.CaptureFixture[str], census: Path, *options: str) -> dict[str, object]:
    args = ["report", "--cin-census", str(census), "--period-start", "2023-04-01", "--period-end", "2025-03-31"]
    assert main([*args, "--format", "json", *options]) == 0
    figures: dict[str, object] = json.loads(capsys.readouterr().out)
    return figures


def test_report_on_a_council_configured_for_365_days_gives_the_365_day_flags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FRONTDOOR_RULES_CONFIG", raising=False)
    census = census_with_a_pair_exactly_twelve_months_and_366_days_apart(tmp_path)
    rules = rules_file(tmp_path, '[councils.201]\nrereferral_window = "365d"\n')
    assert report(capsys, census)["rereferrals"] == 1  # no file: 12 calendar months for every council
    assert report(capsys, census, "--rules", str(rules))["rereferrals"] == 0
    monkeypatch.setenv("FRONTDOOR_RULES_CONFIG", str(rules))
    assert report(capsys, census)["rereferrals"] == 0
    assert report(capsys, census, "--window", "12m")["rereferrals"] == 1  # --window overrides every council


def test_report_follows_the_default_for_a_council_the_file_does_not_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FRONTDOOR_RULES_CONFIG", raising=False)
    census = census_with_a_pair_exactly_twelve_months_and_366_days_apart(tmp_path)
    rules = rules_file(tmp_path, '[councils.886]\nrereferral_window = "365d"\n')
    assert report(capsys, census, "--rules", str(rules))["rereferrals"] == 1


def test_report_stops_with_the_rules_files_error_naming_the_council(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FRONTDOOR_RULES_CONFIG", raising=False)
    census = reference_file("cin-census-xml", "d2i_CIN_Census_2024.xml")
    rules = rules_file(tmp_path, '[councils.201]\nsame_day_referrals = "sometimes"\n')
    args = ["report", "--cin-census", str(census), "--period-start", "2023-04-01", "--period-end", "2025-03-31"]
    with pytest.raises(SystemExit, match=r"(?s)frontdoor report: rules file .*council 201, same_day_referrals"):
        main([*args, "--rules", str(rules)])


def test_replay_reads_the_same_rules_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from schemas.codec import encode  # noqa: PLC0415
    from tests.builders import make_referral  # noqa: PLC0415

    monkeypatch.delenv("FRONTDOOR_RULES_CONFIG", raising=False)
    events = tmp_path / "events.jsonl"
    # Exactly 12 calendar months and 366 days apart: a re-referral by 12 months, not by 365 days.
    events.write_bytes(b"".join(encode(make_referral(d)) + b"\n" for d in ("2023-06-15", "2024-06-15")))
    rules = rules_file(tmp_path, '[councils.886]\nrereferral_window = "365d"\n')

    def rereferral_alerts(*options: str) -> int:
        assert main(["replay", "--events", str(events), "--out-dir", str(tmp_path), *options]) == 0
        return (tmp_path / "alerts.jsonl").read_text().count('"RereferralDetected"')

    assert rereferral_alerts() == 1
    assert rereferral_alerts("--rules", str(rules)) == 0
    assert rereferral_alerts("--rules", str(rules), "--window", "12m") == 1


def test_a_council_s_statistical_neighbours_in_the_rules_file_override_the_model_and_change_no_definition(
    tmp_path: Path,
) -> None:
    from services.rules_config import load_council_settings  # noqa: PLC0415  # one test reads them

    path = rules_file(tmp_path, '[councils.886]\nstatistical_neighbours = ["881", "845"]\n')

    assert load_council_settings(path).targets.for_council("886").neighbours == ("881", "845")
    assert load_council_rules(path).at("886", day("2024-06-15")) == DEFAULT_CONFIG


def test_the_councils_a_rules_file_names_are_the_council_list_and_a_name_changes_no_rule(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text('[councils.886]\nname = "Kent"\n\n[councils.201]\nrereferral_window = "365d"\n')

    assert load_council_names(path) == {"886": "Kent"}  # 201 has settings but no name: not served
    assert load_council_rules(path).for_council("886") == load_council_rules(path).default[0][1]
