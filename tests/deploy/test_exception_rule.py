"""The two-red-quarters Prometheus rule and the pack's quarterly RAG are one rule: same margin, same cases."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from services.core.rag import RED_MARGIN, Rag, rag_status, red_in_a_row
from services.metrics.panels import RAG_ABOVE_TARGET

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "deploy" / "prometheus" / "rules" / "alerts.yml"
CASES = ROOT / "deploy" / "prometheus" / "tests" / "exception_rule_test.yml"
ALERT = "FrontdoorRereferralAboveTargetTwoQuarters"


def _rule() -> dict[str, str]:
    groups = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["groups"]
    return next(rule for group in groups for rule in group["rules"] if rule.get("alert") == ALERT)


def _value(case: dict, metric: str) -> float:
    series = next(s for s in case["input_series"] if s["series"].startswith(metric + "{"))
    return float(series["values"].split("x")[0])


def test_the_rule_compares_each_quarter_with_the_target_plus_the_cores_red_margin() -> None:
    margins = re.findall(r"frontdoor:rereferral_target:ratio \+ ([0-9.]+)", _rule()["expr"])

    assert [float(m) for m in margins] == [RED_MARGIN, RED_MARGIN]


def test_the_performance_board_turns_red_at_the_cores_red_margin() -> None:
    red = next(step for step in RAG_ABOVE_TARGET if step["color"] == "red")

    assert red["value"] == RED_MARGIN


def test_every_promtool_case_fires_exactly_when_the_pack_rag_shows_two_reds_in_a_row() -> None:
    cases = yaml.safe_load(CASES.read_text(encoding="utf-8"))["tests"]
    seen = set()
    for case in cases:
        target = _value(case, "frontdoor_rereferral_target_ratio")
        before = rag_status(_value(case, "frontdoor_rereferral_quarter_before_last_ratio"), target)
        last = rag_status(_value(case, "frontdoor_rereferral_last_quarter_ratio"), target)
        fires = bool(case["alert_rule_test"][0]["exp_alerts"])
        seen.add((before, last))
        assert fires == red_in_a_row([before, last]), case["name"]

    assert {(Rag.RED, Rag.RED), (Rag.AMBER, Rag.RED), (Rag.RED, Rag.AMBER)} <= seen
