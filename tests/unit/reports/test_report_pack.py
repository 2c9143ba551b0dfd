"""`frontdoor pack`: every figure is `report --by month`'s (or hidden by the small-number rule), in HTML and Word."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from docx import Document

from services.cli import main
from services.core.rag import Rag
from services.reports.pack_build import build_pack
from services.reports.pack_html import cell_text
from services.reports.pack_model import PackModel, Table
from services.reports.suppression import SUPPRESSED
from tests.unit.reports.conftest import FIRST, LA_CODE, LAST, History

SERIES_TABLES = ("month", "quarter")


def model_of(history: History, targets: dict[str, float | None] | None = None) -> PackModel:
    return build_pack(history.series, FIRST, LAST, targets or {"rereferral": 0.20})


def keyed_tables(model: PackModel) -> list[Table]:
    """The tables whose rows are periods of the series (first column keyed "month" or "quarter")."""
    return [t for s in model.sections for t in s.tables if t.columns[0].key in SERIES_TABLES]


def report_rows(history: History, period: str) -> dict[str, dict[str, Any]]:
    document = history.report_months if period == "month" else history.report_quarters
    return {str(row[period]): row for row in document[f"{period}s"]}


def assert_shown_or_hidden(shown: object, truth: object, kind: str) -> None:
    if kind == "count":
        assert shown in (truth, SUPPRESSED), (shown, truth)
        if isinstance(truth, int) and 1 <= truth <= 4:
            assert shown == SUPPRESSED
    else:
        assert shown == truth or shown is None, (shown, truth)


def test_every_figure_in_the_pack_model_equals_report_by_month_or_quarter_or_is_suppressed(history: History) -> None:
    model = model_of(history)
    compared = shown = 0
    for table in keyed_tables(model):
        period = table.columns[0].key
        truth = report_rows(history, period)
        for row in table.rows:
            if row[0] not in truth:
                assert row[0] == "Period total"
                continue
            for value, column in zip(row, table.columns, strict=True):
                if column.key and column.kind in ("count", "rate"):
                    assert_shown_or_hidden(value, truth[str(row[0])][column.key], column.kind)
                    compared += 1
                    shown += value not in (None, SUPPRESSED)
    assert compared > 500
    assert shown > compared * 0.5  # a small council: its monthly plans and needs are often 1 to 4


def test_period_totals_are_the_sums_of_the_reports_months(history: History) -> None:
    model = model_of(history)
    months = [r for r in history.report_months["months"] if FIRST <= r["month"] <= LAST]
    table = model.section("rereferrals").tables[0]
    total = table.rows[-1]

    assert total[0] == "Period total"
    assert total[1] == sum(r["referrals"] for r in months)
    assert total[2] in (sum(r["rereferrals"] for r in months), SUPPRESSED)
    assert len(table.rows) == len(months) + 1


def test_the_quarterly_rag_is_red_amber_or_green_from_the_reports_quarterly_rate_and_the_target(
    history: History,
) -> None:
    low, high = model_of(history, {"rereferral": 0.0}), model_of(history, {"rereferral": 1.0})

    assert {q.status for q in low.quarters["rereferral"]} == {Rag.RED}
    assert {q.status for q in high.quarters["rereferral"]} == {Rag.GREEN}
    assert [q.quarter for q in low.quarters["rereferral"]] == [
        f"{year}-Q{n}"
        for year, n in [(2024, 2), (2024, 3), (2024, 4), (2025, 1), (2025, 2), (2025, 3), (2025, 4), (2026, 1)]
    ]
    assert [i.key for i in low.red_two_quarters()] == ["rereferral"]
    assert high.red_two_quarters() == []


def test_the_re_referral_list_agrees_with_the_series_month_by_month_and_team_by_team(history: History) -> None:
    by_month: dict[str, int] = {}
    by_team: dict[str, int] = {}
    for r in history.series.rereferrals:
        by_month[r.referral_date.strftime("%Y-%m")] = by_month.get(r.referral_date.strftime("%Y-%m"), 0) + 1
        by_team[r.previous_team] = by_team.get(r.previous_team, 0) + 1
    months = history.report_months["months"]

    assert by_month == {r["month"]: r["rereferrals"] for r in months if r["rereferrals"]}
    for team, count in by_team.items():
        assert sum(r.get(f"rereferrals_previous_team_{team}", 0) for r in months) == count


@pytest.fixture(scope="module")
def written(history: History, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pack-out")
    targets = out / "targets.toml"
    targets.write_text(f"[councils.{LA_CODE}]\nrereferral_target = 0.05\n", encoding="utf-8")
    argv = ["pack", "--la-code", LA_CODE, "--events", str(history.events), "--from", FIRST, "--to", LAST]
    assert main([*argv, "--out", str(out), "--targets", str(targets), "--exception", "--user", "tester"]) == 0
    return out


def test_the_word_documents_month_tables_equal_report_by_month_as_printed(history: History, written: Path) -> None:
    model = model_of(history, {"rereferral": 0.05})
    document = Document(str(written / f"pack-{LA_CODE}-{FIRST}-to-{LAST}.docx"))
    tables = [t for s in model.sections for t in s.tables]
    truth = report_rows(history, "month")
    checked = 0

    assert len(document.tables) == len(tables)
    for word, table in zip(document.tables, tables, strict=True):
        assert [c.text for c in word.rows[0].cells] == [c.title for c in table.columns]
        if table.columns[0].key != "month":
            continue
        for word_row in word.rows[1:-1]:
            cells = [c.text for c in word_row.cells]
            for text, column in zip(cells, table.columns, strict=True):
                if column.key and column.kind in ("count", "rate"):
                    value = truth[cells[0]][column.key]
                    assert text in (cell_text(value, column.kind), "c" if column.kind == "count" else "-")
                    checked += 1
    assert checked > 500


def test_the_pack_writes_a_self_contained_page_with_inline_charts_and_the_exception_report(
    history: History, written: Path
) -> None:
    charts = sum(len(section.charts) for section in model_of(history).sections)
    page = (written / f"pack-{LA_CODE}-{FIRST}-to-{LAST}.html").read_text(encoding="utf-8")
    exception = written / f"exception-{LA_CODE}-rereferral-2026-Q1.html"

    assert page.count("<svg") == charts == 4
    assert "<script" not in page and "<link" not in page and not re.search(r'(src|href)="https?:', page)
    assert exception.is_file() and (written / f"exception-{LA_CODE}-rereferral-2026-Q1.docx").is_file()
    assert "To be completed by the performance officer." in exception.read_text(encoding="utf-8")
    assert '"user":"tester"' in (written / "dip-sample-audit.jsonl").read_text(encoding="utf-8")
