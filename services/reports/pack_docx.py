"""The pack (or exception report) as an editable Word document (python-docx): real tables, charts as PNG images."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from services.reports import charts
from services.reports.pack_html import OFFICER, cell_text
from services.reports.pack_model import Section, Table

if TYPE_CHECKING:
    from docx.document import Document

RAG_COLOUR = {"red": "D4351C", "amber": "B45F06", "green": "00703C"}  # the RAG word in its colour


def _table(document: Document, table: Table) -> None:
    from docx.shared import Pt, RGBColor  # noqa: PLC0415

    document.add_heading(table.title, level=3)
    grid = document.add_table(rows=1, cols=len(table.columns))
    grid.style = "Light Grid Accent 1"
    for cell, column in zip(grid.rows[0].cells, table.columns, strict=True):
        cell.text = column.title
    for row in table.rows:
        cells = grid.add_row().cells
        for cell, value, column in zip(cells, row, table.columns, strict=True):
            cell.text = cell_text(value, column.kind)
            if column.kind == "rag" and isinstance(value, str) and value in RAG_COLOUR:
                run = cell.paragraphs[0].runs[0]
                run.font.bold, run.font.color.rgb = True, RGBColor.from_string(RAG_COLOUR[value])
    for row in grid.rows:
        for cell in row.cells:
            for paragraph in cell.paragraphs:
                for run in paragraph.runs:
                    run.font.size = Pt(8)
    if table.note:
        document.add_paragraph(table.note).runs[0].italic = True


def write_docx(path: Path, title: str, subtitle: str, sections: Sequence[Section], footer: Sequence[str]) -> None:
    """One heading per section, its commentary as bullets, its charts, its tables; officer sections left empty."""
    from docx import Document  # noqa: PLC0415  # only the pack needs python-docx
    from docx.enum.section import WD_ORIENT  # noqa: PLC0415
    from docx.shared import Cm  # noqa: PLC0415

    document = Document()
    page = document.sections[0]
    page.orientation = WD_ORIENT.LANDSCAPE
    page.page_width, page.page_height = Cm(29.7), Cm(21.0)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(page, side, Cm(1.5))
    document.core_properties.title = title
    document.add_heading(title, level=0)
    document.add_paragraph(subtitle)
    for section in sections:
        document.add_heading(section.title, level=1)
        for fact in section.commentary:
            document.add_paragraph(fact, style="List Bullet")
        for chart in section.charts:
            document.add_picture(io.BytesIO(charts.render(chart, "png")), width=Cm(25))
        for table in section.tables:
            _table(document, table)
        if section.for_officer:
            document.add_paragraph(OFFICER).runs[0].italic = True
            for _ in range(4):
                document.add_paragraph("")
    for line in footer:
        document.add_paragraph(line).runs[0].italic = True
    document.save(str(path))
