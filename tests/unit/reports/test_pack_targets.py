"""`frontdoor pack` takes the council's targets from the rules file, the same object as the worker's gauges."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.cli import main
from tests.unit.reports.conftest import FIRST, LA_CODE, LAST, History


def pack(history: History, out: Path, *options: str) -> int:
    argv = ["pack", "--la-code", LA_CODE, "--events", str(history.events), "--from", FIRST, "--to", LAST]
    return main([*argv, "--out", str(out), "--exception", "--user", "tester", *options])


def test_a_target_in_the_rules_file_reaches_the_packs_rag_and_exception_report(
    history: History, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FRONTDOOR_RULES_CONFIG", raising=False)
    rules = tmp_path / "rules.toml"
    rules.write_text(f"[councils.{LA_CODE}.targets]\nrereferral = 0.05\n", encoding="utf-8")
    old = tmp_path / "metrics.toml"
    old.write_text(f'[councils."{LA_CODE}"]\nrereferral_target = 0.05\n', encoding="utf-8")

    assert pack(history, tmp_path / "rules", "--rules", str(rules)) == 0
    assert pack(history, tmp_path / "old", "--targets", str(old)) == 0

    page = f"pack-{LA_CODE}-{FIRST}-to-{LAST}.html"
    exception = f"exception-{LA_CODE}-rereferral-2026-Q1.html"
    assert (tmp_path / "rules" / exception).is_file()  # red two quarters running against 5%
    assert "against a target of 5.0%" in (tmp_path / "rules" / page).read_text(encoding="utf-8")
    assert (tmp_path / "rules" / page).read_text(encoding="utf-8") == (tmp_path / "old" / page).read_text(
        encoding="utf-8"
    )


def test_pack_refuses_a_target_given_in_both_the_rules_file_and_targets_naming_both_files(
    history: History, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(f"[councils.{LA_CODE}.targets]\nrereferral = 0.20\n", encoding="utf-8")
    old = tmp_path / "metrics.toml"
    old.write_text(f'[councils."{LA_CODE}"]\nrereferral_target = 0.05\n', encoding="utf-8")
    monkeypatch.setenv("FRONTDOOR_RULES_CONFIG", str(rules))

    with pytest.raises(SystemExit) as refused:
        pack(history, tmp_path / "out", "--targets", str(old))

    assert str(refused.value.code).startswith("frontdoor pack:")
    assert str(rules) in str(refused.value.code) and str(old) in str(refused.value.code)
    assert not (tmp_path / "out").exists()
