"""Grafana boards: committed JSON matches the generator, stable unique uids, one datasource, known metrics."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from services.metrics.dashboards import DASHBOARD_DIR, all_dashboards, dashboard_files, panels_of
from services.metrics.metrics import ALL_SPECS, LA_CODE, metric_names, sample_names
from services.metrics.panels import DATASOURCE
from services.metrics.promql import PROMETHEUS_SERIES
from services.metrics.promql import metric_names as names_in

ROOT = Path(__file__).resolve().parents[2]
DATASOURCE_FILE = ROOT / "deploy" / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
RULE_FILES = sorted((ROOT / "deploy" / "prometheus" / "rules").glob("*.yml"))
STABLE_UIDS = {"frontdoor-mash-wall", "frontdoor-performance", "frontdoor-partners"}
BUILTIN_VARIABLES = {"__range", "__rate_interval", "__interval"}


def committed() -> list[dict[str, Any]]:
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(DASHBOARD_DIR.glob("*.json"))]


def recorded_names() -> set[str]:
    return {
        rule["record"]
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
        for rule in group["rules"]
        if "record" in rule
    }


def test_committed_json_is_what_the_generator_writes() -> None:
    for path, text in dashboard_files().items():
        assert path.exists(), f"{path.name} missing: run python -m services.metrics.generate"
        assert path.read_text(encoding="utf-8") == text, (
            f"{path.name} is stale: run python -m services.metrics.generate"
        )
    assert {p.name for p in DASHBOARD_DIR.glob("*.json")} == {f"{uid}.json" for uid in STABLE_UIDS}


def test_uids_are_stable_unique_and_name_their_files() -> None:
    boards = committed()

    assert {b["uid"] for b in boards} == STABLE_UIDS
    assert len({b["title"] for b in boards}) == len(boards)
    for path in DASHBOARD_DIR.glob("*.json"):
        assert json.loads(path.read_text(encoding="utf-8"))["uid"] == path.stem


def test_every_panel_and_query_uses_the_provisioned_datasource_uid() -> None:
    provisioned = yaml.safe_load(DATASOURCE_FILE.read_text(encoding="utf-8"))["datasources"][0]["uid"]

    assert DATASOURCE["uid"] == provisioned == "frontdoor-prometheus"
    for board in committed():
        for panel in panels_of(board):
            assert panel["datasource"] == DATASOURCE, (board["uid"], panel["title"])
            assert panel["targets"], (board["uid"], panel["title"])
            assert all(t["datasource"] == DATASOURCE for t in panel["targets"]), (board["uid"], panel["title"])
        for variable in board["templating"]["list"]:
            if variable["type"] == "query":
                assert variable["datasource"] == DATASOURCE


def test_every_query_uses_only_metrics_the_metrics_module_or_the_recording_rules_define() -> None:
    known = metric_names() | recorded_names() | PROMETHEUS_SERIES
    for board in committed():
        for panel in panels_of(board):
            for target in panel["targets"]:
                unknown = names_in(target["expr"]) - known
                assert not unknown, (board["uid"], panel["title"], unknown)
        for variable in board["templating"]["list"]:
            if variable["type"] == "query":
                assert names_in(variable["definition"].removeprefix("label_values(")) <= known | {"la_code"}


def test_every_variable_a_query_uses_is_defined_on_its_board() -> None:
    for board in committed():
        defined = {v["name"] for v in board["templating"]["list"]} | BUILTIN_VARIABLES
        for panel in panels_of(board):
            texts = (
                [panel["title"]] + [t["expr"] for t in panel["targets"]] + [t["legendFormat"] for t in panel["targets"]]
            )
            used = {m for text in texts for m in re.findall(r"\$\{?(\w+)", text)}
            assert used <= defined, (board["uid"], panel["title"], used - defined)


def test_panel_ids_are_unique_and_panels_fit_the_24_column_grid() -> None:
    for board in all_dashboards():
        ids = [panel["id"] for panel in board["panels"]]
        assert len(ids) == len(set(ids)), board["uid"]
        for panel in board["panels"]:
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24, (board["uid"], panel["title"])


def test_every_query_of_a_per_council_metric_filters_by_the_council_picker() -> None:
    per_council = {name for spec in ALL_SPECS if LA_CODE in spec.labels for name in sample_names(spec)}
    for board in committed():
        for panel in panels_of(board):
            for target in panel["targets"]:
                if names_in(target["expr"]) & per_council:
                    assert 'la_code="$la_code"' in target["expr"], (board["uid"], panel["title"], target["expr"])


def test_the_wall_boards_alert_panels_count_the_picked_councils_alerts_only() -> None:
    wall = next(b for b in committed() if b["uid"] == "frontdoor-mash-wall")
    alert_panels = [p for p in panels_of(wall) if p["title"].startswith("Alerts raised today")]

    assert [p["title"] for p in alert_panels] == ["Alerts raised today", "Alerts raised today by rule"]
    for panel in alert_panels:
        (target,) = panel["targets"]
        assert 'frontdoor_alerts_raised_total{la_code="$la_code"}' in target["expr"]


def test_the_wall_board_is_built_for_a_kiosk() -> None:
    wall = next(b for b in committed() if b["uid"] == "frontdoor-mash-wall")

    assert wall["refresh"] == "30s"
    assert wall["time"] == {"from": "now/d", "to": "now"}
    assert wall["editable"] is False


def test_the_partner_board_lets_the_viewer_pick_one_of_the_eleven_source_groups() -> None:
    partners = next(b for b in committed() if b["uid"] == "frontdoor-partners")
    variable = next(v for v in partners["templating"]["list"] if v["name"] == "source_group")

    assert len(variable["options"]) == 11
    assert "police" in variable["query"].split(",")
