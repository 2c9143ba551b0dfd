"""The partner portal's two charts as server-rendered SVG: the funnel by month, and a rate against its comparators.

Drawn from the published figures only: a suppressed count ("c") has no bar, just a "c" at the axis, and a hidden
rate leaves a gap in its line. No script and no style attribute, so the desk's Content-Security-Policy holds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from services.alertdesk.pages import e
from services.alertdesk.portal_figures import PortalFigures
from services.reports.suppression import Shown

WIDTH, HEIGHT = 960, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 250, 28, 48
FUNNEL = (  # (column index in COLUMNS, legend, colour): colours of the GOV.UK palette, distinct in greyscale too
    (0, "Contacts made", "#1d70b8"),
    (1, "Progressed to referral", "#003078"),
    (2, "Progressed to assessment", "#f47738"),
    (3, "Found in need", "#00703c"),
)
LINES = (  # (rate attribute, legend, colour, dash)
    ("own", "This agency", "#1d70b8", ""),
    ("all_partners", "All partners (council)", "#505a5f", "6 4"),
    ("previous_year", "This agency, previous year", "#d4351c", "2 3"),
)


def _ticks(top: float, count: int = 4) -> list[float]:
    """Round axis steps up to `top` (at least 1)."""
    top = max(top, 1.0)
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return [step * i for i in range(count + 1) if step * i <= top + step]


def _frame(title: str, ticks: list[float], label: str, months: Sequence[str], *, legend: str, body: str) -> str:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = ticks[-1] or 1
    grid = "".join(
        f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{TOP + plot_h - t / top * plot_h:.1f}" '
        f'y2="{TOP + plot_h - t / top * plot_h:.1f}" stroke="#dddddd"/>'
        f'<text x="{LEFT - 6}" y="{TOP + plot_h - t / top * plot_h + 4:.1f}" text-anchor="end" font-size="11">'
        f"{e(label.format(t))}</text>"
        for t in ticks
    )
    slot = plot_w / max(len(months), 1)
    axis = "".join(
        f'<text x="{LEFT + slot * (i + 0.5):.1f}" y="{TOP + plot_h + 18}" text-anchor="middle" font-size="11">'
        f"{e(m)}</text>"
        for i, m in enumerate(months)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" class="chart" '
        f'aria-label="{e(title)}"><title>{e(title)}</title>'
        f'<text x="{LEFT}" y="16" font-size="14" font-weight="bold">{e(title)}</text>{grid}{axis}{body}{legend}</svg>'
    )


def _legend(entries: Sequence[tuple[str, str, str]], kind: str) -> str:
    x, items = WIDTH - RIGHT + 16, []
    for i, (name, colour, dash) in enumerate(entries):
        y = TOP + 10 + i * 22
        mark = (
            f'<rect x="{x}" y="{y - 9}" width="12" height="12" fill="{colour}"/>'
            if kind == "bars"
            else f'<line x1="{x}" x2="{x + 18}" y1="{y - 3}" y2="{y - 3}" stroke="{colour}" stroke-width="2.5"'
            + (f' stroke-dasharray="{dash}"' if dash else "")
            + "/>"
        )
        items.append(f'{mark}<text x="{x + 24}" y="{y + 1}" font-size="12">{e(name)}</text>')
    return "".join(items)


def funnel_chart(figures: PortalFigures) -> str:
    """Grouped bars per month: contacts and how far they progressed; "c" where a count is suppressed."""
    values: list[Shown] = [row[i] for row in figures.cells for i, _, _ in FUNNEL]
    ticks = _ticks(max((v for v in values if isinstance(v, int)), default=0))
    plot_w, plot_h, top = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM, ticks[-1] or 1
    slot = plot_w / max(len(figures.months), 1)
    bar = slot * 0.8 / len(FUNNEL)
    parts = []
    for m, row in enumerate(figures.cells):
        for k, (column, name, colour) in enumerate(FUNNEL):
            x = LEFT + slot * m + slot * 0.1 + bar * k
            value = row[column]
            if isinstance(value, int):
                height = value / top * plot_h
                parts.append(
                    f'<rect x="{x:.1f}" y="{TOP + plot_h - height:.1f}" width="{bar - 1:.1f}" height="{height:.1f}" '
                    f'fill="{colour}"><title>{e(figures.months[m])} {e(name)}: {value}</title></rect>'
                )
            else:
                parts.append(
                    f'<text x="{x + bar / 2:.1f}" y="{TOP + plot_h - 3}" text-anchor="middle" font-size="10">c</text>'
                )
    legend = _legend([(name, colour, "") for _, name, colour in FUNNEL], "bars")
    title = "Contacts and how far they progressed, by month received"
    return _frame(title, ticks, "{:,.0f}", figures.months, legend=legend, body="".join(parts))


def rate_chart(figures: PortalFigures, rate: str, title: str) -> str:
    """One rate by month: the agency's, the council's all-partner average, and the agency's a year earlier."""
    cells = [month[rate] for month in figures.rates]
    values = [getattr(c, attr) for c in cells for attr, *_ in LINES]
    ticks = _ticks(max((v * 100 for v in values if v is not None), default=0))
    plot_w, plot_h, top = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM, ticks[-1] or 1
    slot = plot_w / max(len(figures.months), 1)
    parts = []
    for attr, _name, colour, dash in LINES:
        rates = [getattr(c, attr) for c in cells]
        points = [
            None if v is None else (LEFT + slot * (i + 0.5), TOP + plot_h - v * 100 / top * plot_h)
            for i, v in enumerate(rates)
        ]
        runs: list[list[tuple[float, float]]] = []
        run: list[tuple[float, float]] = []
        for point in [*points, None]:  # a hidden rate breaks the line
            if point is None:
                runs, run = ([*runs, run] if run else runs), []
            else:
                run.append(point)
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        for each in runs:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in each)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2.5"{dashes}/>')
            parts.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in each)
    legend = _legend([(name, colour, dash) for _, name, colour, dash in LINES], "lines")
    return _frame(title, ticks, "{:g}%", figures.months, legend=legend, body="".join(parts))
