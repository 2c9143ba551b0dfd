"""Grafana boards: committed JSON matches the generator, a folder per council with the council fixed in every query."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from services.metrics.council_boards import (
    DASHBOARD_DIR,
    PARTNER_GROUPS,
    PROVISIONING_FILE,
    council_boards,
    councils_served,
    dashboard_files,
    provisioning,
)
from services.metrics.dashboards import panels_of
from services.metrics.metrics import ALL_SPECS, LA_CODE, metric_names, sample_names
from services.metrics.panels import DATASOURCE
from services.metrics.promql import PROMETHEUS_SERIES
from services.metrics.promql import metric_names as names_in
from services.reports.suppression import SMALLEST_RATE_DENOMINATOR, SMALLEST_SHOWN, SUPPRESSED

ROOT = Path(__file__).resolve().parents[2]
DATASOURCE_FILE = ROOT / "deploy" / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
RULE_FILES = sorted((ROOT / "deploy" / "prometheus" / "rules").glob("*.yml"))
BUILTIN_VARIABLES = {"__range", "__rate_interval", "__interval"}
COUNCIL_CODE = re.compile(r"\b\d{3}\b")


def committed() -> list[dict[str, Any]]:
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(DASHBOARD_DIR.rglob("*.json"))]


def committed_folder(folder: str) -> list[dict[str, Any]]:
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted((DASHBOARD_DIR / folder).glob("*.json"))]


def expressions(board: dict[str, Any]) -> list[tuple[str, str]]:
    return [(panel["title"], target["expr"]) for panel in panels_of(board) for target in panel["targets"]]


def recorded_names() -> set[str]:
    return {
        rule["record"]
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
        for rule in group["rules"]
        if "record" in rule
    }


def test_committed_json_and_provisioning_are_what_the_generator_writes_from_the_council_list() -> None:
    councils = councils_served()
    files = dashboard_files(councils)
    for path, text in files.items():
        assert path.exists(), f"{path.name} missing: run python -m services.metrics.generate"
        assert path.read_text(encoding="utf-8") == text, (
            f"{path.name} is stale: run python -m services.metrics.generate"
        )
    assert set(DASHBOARD_DIR.rglob("*.json")) == set(files)
    assert PROVISIONING_FILE.read_text(encoding="utf-8") == provisioning(councils)
    assert {c.la_code for c in councils} == {"942", "886", "201"}


def test_uids_are_unique_fit_grafana_and_name_their_files() -> None:
    boards = committed()

    assert len({b["uid"] for b in boards}) == len(boards)
    assert len({b["title"] for b in boards}) == len(boards)
    assert all(len(b["uid"]) <= 40 for b in boards)  # Grafana's limit on a dashboard uid
    for path in DASHBOARD_DIR.rglob("*.json"):
        assert json.loads(path.read_text(encoding="utf-8"))["uid"] == path.stem


def test_grafana_provisions_one_folder_per_council_from_the_committed_folders() -> None:
    providers = yaml.safe_load(PROVISIONING_FILE.read_text(encoding="utf-8"))["providers"]
    folders = {p["folderUid"]: p for p in providers}

    assert len(folders) == len(providers) == len(councils_served()) + 2
    for council in councils_served():
        provider = folders[f"frontdoor-{council.la_code}"]
        assert provider["folder"] == council.title
        assert provider["options"]["path"] == f"/var/lib/grafana/dashboards/{council.la_code}"
    for provider in providers:
        local = DASHBOARD_DIR / provider["options"]["path"].removeprefix("/var/lib/grafana/dashboards/")
        assert any(local.glob("*.json")), provider["name"]
        assert provider["allowUiUpdates"] is False


def test_every_query_of_a_councils_board_names_that_council_and_no_other() -> None:
    for council in councils_served():
        boards = committed_folder(council.la_code)
        assert len(boards) == 2 + len(PARTNER_GROUPS)
        for board in boards:
            assert board["templating"]["list"] == [], (board["uid"], "a council's board has no picker")
            for title, expr in expressions(board):
                selectors = re.findall(r"\{[^{}]*\}", expr)
                assert selectors, (board["uid"], title, expr)
                for selector in selectors:
                    assert f'la_code="{council.la_code}"' in selector, (board["uid"], title, selector)
                assert set(COUNCIL_CODE.findall(expr)) <= {council.la_code, str(SMALLEST_SHOWN)}, (board["uid"], expr)
                assert "$" not in expr.replace("$__range", ""), (board["uid"], title, expr)


def test_no_board_of_a_council_has_a_cross_council_panel() -> None:
    for council in councils_served():
        for board in committed_folder(council.la_code):
            for title, expr in expressions(board):
                assert "all_councils" not in expr and "la_code=~" not in expr, (board["uid"], title)
                assert not ({"up", "frontdoor_dead_letters_total"} & names_in(expr)), (board["uid"], title)


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
    for board in committed():
        ids = [panel["id"] for panel in board["panels"]]
        assert len(ids) == len(set(ids)), board["uid"]
        for panel in board["panels"]:
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24, (board["uid"], panel["title"])


def test_the_platform_and_regional_boards_query_no_per_council_count() -> None:
    per_council = {name for spec in ALL_SPECS if LA_CODE in spec.labels for name in sample_names(spec)}
    rates = {name for name in per_council if name.endswith("_ratio")}
    (platform,) = committed_folder("platform")
    (regional,) = committed_folder("regional")

    assert not any(names_in(expr) & per_council for _, expr in expressions(platform))
    for title, expr in expressions(regional):
        counted = names_in(expr) - rates - recorded_names()
        assert counted == {"frontdoor_referrals_rolling_12_months"}, (title, counted)  # only as the rate's guard
        assert f">= {SMALLEST_RATE_DENOMINATOR}" in expr, title
    assert {panel["fieldConfig"]["defaults"]["noValue"] for panel in panels_of(regional)} == {SUPPRESSED}


def test_the_wall_boards_alert_panels_count_their_councils_alerts_only() -> None:
    for council in councils_served():
        wall = next(b for b in committed_folder(council.la_code) if b["uid"].endswith("-mash-wall"))
        alert_panels = [p for p in panels_of(wall) if p["title"].startswith("Alerts raised today")]

        assert [p["title"] for p in alert_panels] == ["Alerts raised today", "Alerts raised today by rule"]
        for panel in alert_panels:
            (target,) = panel["targets"]
            assert f'frontdoor_alerts_raised_total{{la_code="{council.la_code}"}}' in target["expr"]


def test_the_wall_board_is_built_for_a_kiosk() -> None:
    wall = next(b for b in committed() if b["uid"] == "frontdoor-942-mash-wall")

    assert wall["refresh"] == "30s"
    assert wall["time"] == {"from": "now/d", "to": "now"}
    assert wall["editable"] is False


def test_each_partner_agency_has_its_own_board_fixed_to_its_council_and_source_group() -> None:
    kent = next(c for c in councils_served() if c.la_code == "886")
    police = next(b for b in council_boards(kent) if b["uid"] == "frontdoor-886-partner-police")

    for title, expr in expressions(police):
        for selector in re.findall(r"\{[^{}]*\}", expr):
            groups = re.findall(r'source_group="([^"]*)"', selector)
            assert groups in ([], ["police"]), (title, selector)  # the agency's own, or all-partner aggregates
    assert "individual" not in PARTNER_GROUPS and len(PARTNER_GROUPS) == 8


def test_every_count_and_rate_of_an_agency_is_hidden_when_small_and_shown_as_c() -> None:
    kent = next(c for c in councils_served() if c.la_code == "886")
    police = next(b for b in council_boards(kent) if b["uid"] == "frontdoor-886-partner-police")

    for panel in panels_of(police):
        assert panel["fieldConfig"]["defaults"]["noValue"] == SUPPRESSED, panel["title"]
        for target in panel["targets"]:
            expr = target["expr"]
            if 'source_group="police"' not in expr:
                continue  # the council's and all partners' aggregates
            if expr.endswith("== 0"):  # a count: 1 to 4 hidden, 0 shown
                assert f">= {SMALLEST_SHOWN} or" in expr, (panel["title"], expr)
            else:  # a rate: hidden on a small denominator or a hidden numerator
                assert f">= {SMALLEST_RATE_DENOMINATOR})" in expr and f">= {SMALLEST_SHOWN} or" in expr, expr
