"""The pack (or exception report) as one self-contained HTML page: inline CSS, charts as inline SVG, no scripts."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from services.reports import charts
from services.reports.pack_model import Section, Table, Value
from services.reports.suppression import SUPPRESSED

OFFICER = "To be completed by the performance officer."
STYLE = """
body { font-family: Arial, Helvetica, sans-serif; color: #0b0c0c; margin: 0 auto; max-width: 1100px; padding: 24px; }
h1 { font-size: 28px; margin-bottom: 4px; } h2 { font-size: 22px; border-top: 4px solid #1d70b8; padding-top: 12px;
margin-top: 36px; } h3 { font-size: 17px; margin-bottom: 6px; } p.meta { color: #505a5f; margin-top: 0; }
ul.facts li { margin-bottom: 4px; } figure { margin: 12px 0; } figure svg { width: 100%; height: auto; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0 4px; }
th, td { border-bottom: 1px solid #b1b4b6; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; } th { background: #f3f2f1; vertical-align: bottom; }
tr.total td { font-weight: bold; border-top: 2px solid #0b0c0c; }
td.red { background: #d4351c; color: #fff; } td.amber { background: #f47738; } td.green { background: #00703c;
color: #fff; } p.note { color: #505a5f; font-size: 12px; margin-top: 2px; }
.officer { border: 2px dashed #b1b4b6; min-height: 90px; padding: 8px; color: #505a5f; }
@media print { h2 { break-before: page; } table, figure { break-inside: avoid; } }
"""


def cell_text(value: Value, kind: str) -> str:
    """A cell as printed: counts with thousands separators, fractions as percentages, "c" kept, None as "-"."""
    if value is None:
        return "-"
    if value == SUPPRESSED or isinstance(value, str):
        return str(value)
    if kind == "rate":
        return f"{value:.1%}"
    if kind == "points":
        return f"{value * 100:+.2f}"  # two places: +2.04 is red, +2.00 amber
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


def _table(table: Table) -> str:
    head = "".join(f"<th>{escape(column.title)}</th>" for column in table.columns)
    body = []
    for row in table.rows:
        cells = []
        for value, column in zip(row, table.columns, strict=True):
            css = f' class="{value}"' if column.kind == "rag" and isinstance(value, str) else ""
            cells.append(f"<td{css}>{escape(cell_text(value, column.kind))}</td>")
        total = ' class="total"' if str(row[0]).startswith(("Period total", "All sources")) else ""
        body.append(f"<tr{total}>{''.join(cells)}</tr>")
    note = f'<p class="note">{escape(table.note)}</p>' if table.note else ""
    rows = "".join(body)
    return f"<h3>{escape(table.title)}</h3><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>{note}"


def section_html(section: Section) -> str:
    parts = [f'<section id="{escape(section.key)}"><h2>{escape(section.title)}</h2>']
    if section.commentary:
        parts.append('<ul class="facts">' + "".join(f"<li>{escape(f)}</li>" for f in section.commentary) + "</ul>")
    parts += [f"<figure>{charts.svg(chart)}</figure>" for chart in section.charts]
    parts += [_table(table) for table in section.tables]
    if section.for_officer:
        parts.append(f'<div class="officer">{escape(OFFICER)}</div>')
    return "".join(parts) + "</section>"


def page(title: str, subtitle: str, sections: Sequence[Section], footer: Sequence[str]) -> str:
    """The whole document; every chart is inline SVG, so the file opens offline and prints as it shows."""
    body = "".join(section_html(section) for section in sections)
    notes = "".join(f'<p class="note">{escape(line)}</p>' for line in footer)
    return (
        f'<!DOCTYPE html>\n<html lang="en-GB"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<style>{STYLE}</style></head><body><h1>{escape(title)}</h1><p class="meta">{escape(subtitle)}</p>'
        f"{body}<footer>{notes}</footer></body></html>\n"
    )
