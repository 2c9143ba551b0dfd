"""The pack's charts drawn with matplotlib: SVG text for the HTML page, PNG bytes for the Word document."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Literal

from services.reports.pack_model import Chart

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# Solid lines and bars. No red: red is the target's alone, so no council line can be read as the target.
COLOURS = ("#1d70b8", "#4c2c92", "#00703c", "#f47738", "#912b88", "#28a197")
BENCHMARK_COLOURS = {"England": "#0b0c0c", "Region": "#6f777b", "Statistical neighbours": "#b58840"}
DASHED_COLOURS = ("#0b0c0c", "#6f777b", "#b58840", "#00703c", "#1d70b8", "#4c2c92")
# Each reference line has its own dash pattern as well as its colour, so a target equal to England's rate (a common
# choice) shows as red dots on the black dashes instead of hiding that line, and print in grey still tells them apart.
DASH_PATTERNS: dict[str, str | tuple[int, tuple[int, ...]]] = {
    "Target": (0, (1, 2)),
    "England": "--",
    "Region": "-.",
    "Statistical neighbours": (0, (6, 2, 1, 2, 1, 2)),
}


def _figure(chart: Chart) -> Figure:
    from matplotlib.figure import Figure  # noqa: PLC0415  # only the pack needs matplotlib
    from matplotlib.ticker import PercentFormatter  # noqa: PLC0415

    figure = Figure(figsize=(9.0, 3.6), dpi=110, layout="constrained")
    axes = figure.add_subplot()
    if chart.style == "bars":
        _bars(axes, chart)
    else:
        positions = list(range(len(chart.x)))
        solid = [name for name in chart.series if name not in chart.dashed]
        dashed = [name for name in chart.series if name in chart.dashed]
        for name, values in chart.series.items():
            ys = [float("nan") if v is None else v for v in values]
            axes.plot(
                positions,
                ys,
                label=name,
                color=_colour(name, solid, dashed),
                linestyle=DASH_PATTERNS.get(name, "--") if name in chart.dashed else "-",
                linewidth=(2.2 if name == "Target" else 1.4) if name in chart.dashed else 2.0,
                marker="" if name in chart.dashed else "o",
                markersize=3,
            )
        step = max(1, len(chart.x) // 12)
        axes.set_xticks(positions[::step], [x for x in chart.x[::step]], rotation=45, ha="right", fontsize=8)
    if chart.percent:
        axes.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=1))
    axes.grid(axis="y", color="#dddddd", linewidth=0.6)
    axes.spines[["top", "right"]].set_visible(False)
    axes.set_title(chart.title, fontsize=11, loc="left")
    axes.legend(fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
    axes.tick_params(labelsize=8)
    return figure


def _colour(name: str, solid: list[str], dashed: list[str]) -> str:
    """Benchmarks keep one colour on every chart; the target is red; the rest take the palette in order."""
    if name == "Target":
        return "#d4351c"
    if name in BENCHMARK_COLOURS:
        return BENCHMARK_COLOURS[name]
    earlier = name.removesuffix(", a year earlier")
    paired = [solid_name for solid_name in solid if solid_name.split(" ")[0] == earlier]
    if earlier != name and paired:  # the same need a year earlier: its colour, dashed
        return COLOURS[solid.index(paired[0]) % len(COLOURS)]
    if name in dashed:
        return DASHED_COLOURS[dashed.index(name) % len(DASHED_COLOURS)]
    return COLOURS[solid.index(name) % len(COLOURS)]


def _bars(axes: Axes, chart: Chart) -> None:
    count = max(1, len(chart.series))
    width = 0.8 / count
    for index, (name, values) in enumerate(chart.series.items()):
        positions = [i + (index - (count - 1) / 2) * width for i in range(len(chart.x))]
        heights = [0.0 if v is None else v for v in values]
        axes.bar(positions, heights, width=width, label=name, color=COLOURS[index % len(COLOURS)])
    axes.set_xticks(range(len(chart.x)), chart.x, rotation=30, ha="right", fontsize=8)


_RENDERED: dict[tuple[str, str], bytes] = {}  # (the chart's repr, format) -> bytes: a pack and its exception
_RENDERED_LIMIT = 64  # reports share charts; a few dozen per run at most


def render(chart: Chart, image: Literal["svg", "png"]) -> bytes:
    """The chart as an SVG document (text as text, fixed ids) or a PNG at 120 dpi; drawn once per content."""
    from matplotlib import rc_context  # noqa: PLC0415

    key = (repr(chart), image)
    cached = _RENDERED.get(key)
    if cached is not None:
        return cached
    buffer = io.BytesIO()
    # Fixed ids and no date, so the same pack gives the same bytes; text stays text (small, searchable).
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "frontdoor"}):
        _figure(chart).savefig(buffer, format=image, dpi=120 if image == "png" else None, metadata=_metadata(image))
    if len(_RENDERED) >= _RENDERED_LIMIT:
        _RENDERED.clear()
    _RENDERED[key] = buffer.getvalue()
    return _RENDERED[key]


def _metadata(image: str) -> dict[str, str | None]:
    """No creation date in the file, so the same pack renders to the same bytes."""
    return {"Date": None} if image == "svg" else {"Software": "frontdoor"}


def svg(chart: Chart) -> str:
    """The chart as inline SVG markup (the XML declaration and doctype removed)."""
    text = render(chart, "svg").decode("utf-8")
    return text[text.index("<svg") :]
