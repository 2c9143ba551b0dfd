"""The pack's charts: a reference line never hides another, even when their values are the same."""

from __future__ import annotations

import re

from services.reports.charts import svg
from services.reports.pack_model import Chart


def line_styles(drawing: str) -> dict[str, str]:
    """The stroke colour of each drawn line with its dash pattern ("solid" when it has none)."""
    styles: dict[str, str] = {}
    for path in re.findall(r'<path d="M [^"]*"[^>]*style="([^"]*)"', drawing):
        colour = re.search(r"stroke: (#[0-9a-f]{6})", path)
        dashes = re.search(r"stroke-dasharray: ([0-9., ]+)", path)
        if colour:
            styles.setdefault(colour.group(1), dashes.group(1).strip() if dashes else "solid")
    return styles


def test_a_target_equal_to_englands_rate_keeps_both_lines_visible_with_different_dash_patterns() -> None:
    months = ["2025-01", "2025-02", "2025-03"]
    chart = Chart(
        "Re-referrals within 12 months",
        months,
        {"Council": [0.21, 0.25, 0.23], "England": [0.226] * 3, "Target": [0.226] * 3},
        dashed=frozenset({"England", "Target"}),
    )
    styles = line_styles(svg(chart))
    england, target = styles["#0b0c0c"], styles["#d4351c"]
    assert "solid" not in (england, target)
    assert england != target


def test_red_is_kept_for_the_target_so_no_council_line_can_be_taken_for_it() -> None:
    months = ["2025-01", "2025-02"]
    series: dict[str, list[float | None]] = {f"Line {n}": [0.1 * n, 0.1 * n] for n in range(1, 9)}
    chart = Chart(
        "Eight council lines and a target", months, {**series, "Target": [0.2, 0.2]}, dashed=frozenset({"Target"})
    )
    red = [style for style in re.findall(r'style="([^"]*)"', svg(chart)) if "stroke: #d4351c" in style]
    assert red, "the target is drawn in red"
    assert all("stroke-dasharray" in style for style in red), "every red line is the dotted target (or its legend)"
