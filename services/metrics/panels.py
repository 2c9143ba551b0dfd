"""Grafana panel and dashboard builders as plain dicts, every query on the one provisioned Prometheus uid."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from services.reports.suppression import SMALLEST_RATE_DENOMINATOR, SMALLEST_SHOWN

DATASOURCE = {"type": "prometheus", "uid": "frontdoor-prometheus"}
SCHEMA_VERSION = 39  # Grafana 10.x/11.x/12.x dashboard JSON; Grafana migrates older schema versions on load
GRID_WIDTH = 24

Panel = dict[str, Any]
Dashboard = dict[str, Any]

# Red-amber-green on "how far above target" (fractions): at or below target green, within 2 points amber.
RAG_ABOVE_TARGET = [
    {"color": "green", "value": None},
    {"color": "orange", "value": 0.001},
    {"color": "red", "value": 0.02},
]
NEUTRAL = [{"color": "blue", "value": None}]
ANY_IS_RED = [{"color": "green", "value": None}, {"color": "red", "value": 1}]

PCT = "percentunit"
# Small-number suppression (docs/reports.md, services/reports/suppression.py: the published tables' rule): a count
# from 1 to 4 is hidden, and a rate whose denominator is under 10 or whose numerator is hidden. Grafana shows a
# hidden value as "c", as the published tables do.


@dataclass(frozen=True, slots=True)
class Council:
    """A council a deployment serves: every query of its boards names its code, so no board can show another's."""

    la_code: str
    name: str

    @property
    def selector(self) -> str:
        return f'la_code="{self.la_code}"'

    @property
    def title(self) -> str:
        return f"{self.name} ({self.la_code})"

    def group_selector(self, source_group: str) -> str:
        return f'{self.selector}, source_group="{source_group}"'


def shown_count(expr: str) -> str:
    """A count with 1 to 4 hidden (0 stays shown: it identifies nobody)."""
    return f"({expr}) >= {SMALLEST_SHOWN} or ({expr}) == 0"


def shown_rate(rate: str, numerator: str, denominator: str) -> str:
    """A rate, hidden when its denominator is under 10 or its numerator is a hidden count."""
    return (
        f"({rate}) and on () (({denominator}) >= {SMALLEST_RATE_DENOMINATOR})"
        f" and on () (({numerator}) >= {SMALLEST_SHOWN} or ({numerator}) == 0)"
    )


@dataclass(frozen=True, slots=True)
class Query:
    expr: str
    legend: str = ""
    instant: bool = True
    table: bool = False  # format as a table (one row per series), for joins by label


@dataclass(slots=True)
class Layout:
    """Places panels left to right in rows of GRID_WIDTH and numbers them, so ids and positions are stable."""

    x: int = 0
    y: int = 0
    row_height: int = 0
    next_id: int = 1
    panels: list[Panel] = field(default_factory=list)

    def add(self, panel: Panel, width: int, height: int) -> None:
        if self.x + width > GRID_WIDTH:
            self.x, self.y, self.row_height = 0, self.y + self.row_height, 0
        panel["id"] = self.next_id
        panel["gridPos"] = {"h": height, "w": width, "x": self.x, "y": self.y}
        self.panels.append(panel)
        self.next_id += 1
        self.x += width
        self.row_height = max(self.row_height, height)

    def row(self, title: str) -> None:
        if self.x:
            self.x, self.y, self.row_height = 0, self.y + self.row_height, 0
        self.add({"type": "row", "title": title, "collapsed": False, "panels": []}, GRID_WIDTH, 1)
        self.x, self.y, self.row_height = 0, self.y + 1, 0


def _targets(queries: Sequence[Query]) -> list[dict[str, Any]]:
    return [
        {
            "datasource": DATASOURCE,
            "refId": chr(ord("A") + i),
            "expr": q.expr,
            "legendFormat": q.legend,
            "instant": q.instant,
            "range": not q.instant,
            "format": "table" if q.table else "time_series",
        }
        for i, q in enumerate(queries)
    ]


def panel(
    kind: str,
    title: str,
    queries: Sequence[Query],
    *,
    unit: str = "short",
    description: str = "",
    thresholds: list[dict[str, Any]] | None = None,
    decimals: int | None = None,
    options: dict[str, Any] | None = None,
    transformations: list[dict[str, Any]] | None = None,
    no_value: str | None = None,
) -> Panel:
    defaults: dict[str, Any] = {
        "unit": unit,
        "thresholds": {"mode": "absolute", "steps": thresholds or NEUTRAL},
        "color": {"mode": "thresholds" if thresholds else "palette-classic"},
    }
    if no_value is not None:  # what Grafana shows for a query with no data, e.g. "c" for a suppressed figure
        defaults["noValue"] = no_value
    if decimals is not None:
        defaults["decimals"] = decimals
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "targets": _targets(queries),
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": options or {},
        "transformations": transformations or [],
    }


def stat(title: str, *queries: Query, **kwargs: Any) -> Panel:
    options = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}, "colorMode": "background"}
    return panel("stat", title, queries, options=options, **kwargs)


def bars(title: str, *queries: Query, **kwargs: Any) -> Panel:
    options = {
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "orientation": "horizontal",
        "displayMode": "basic",
        "showUnfilled": True,
    }
    return panel("bargauge", title, queries, options=options, **kwargs)


def trend(title: str, *queries: Query, time_from: str | None = None, **kwargs: Any) -> Panel:
    """A time series; `time_from` ("3y") gives the panel its own range, e.g. to show backfilled years."""
    ranged = [Query(q.expr, q.legend, instant=False) for q in queries]
    drawn = panel(
        "timeseries", title, ranged, options={"legend": {"displayMode": "list", "placement": "bottom"}}, **kwargs
    )
    return drawn | {"timeFrom": time_from} if time_from else drawn


def table(title: str, *queries: Query, join_on: str, **kwargs: Any) -> Panel:
    tabled = [Query(q.expr, q.legend, instant=True, table=True) for q in queries]
    transformations = [
        {"id": "merge", "options": {}},
        {"id": "organize", "options": {"excludeByName": {"Time": True}, "indexByName": {join_on: 0}}},
    ]
    return panel("table", title, tabled, transformations=transformations, **kwargs)


def dashboard(
    uid: str,
    title: str,
    layout: Layout,
    variables: list[dict[str, Any]],
    *,
    time_from: str,
    refresh: str,
    description: str,
    time_to: str = "now",
    tags: list[str] | None = None,
) -> Dashboard:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": tags or ["frontdoor"],
        "editable": False,
        "graphTooltip": 1,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": refresh,
        "time": {"from": time_from, "to": time_to},
        "timezone": "Europe/London",
        "templating": {"list": variables},
        "annotations": {"list": []},
        "links": [],
        "panels": layout.panels,
    }
