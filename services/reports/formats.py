"""The series table as CSV, XLSX or a short text summary: the same rows as the JSON document, cell for cell."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from services.core.series import Row
from services.reports.series_report import PLURAL, columns, table_rows


def write_csv(document: Mapping[str, Any], out: IO[str]) -> None:
    """One header row, then one row per table row; None is an empty cell, rates are fractions."""
    rows = table_rows(document)
    writer = csv.DictWriter(out, fieldnames=columns(rows), restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows({key: "" if value is None else value for key, value in row.items()} for row in rows)


def write_xlsx(document: Mapping[str, Any], path: Path) -> None:
    """The same table on one sheet named after the period, numbers as numbers."""
    from openpyxl import Workbook  # noqa: PLC0415  # only this format needs it

    rows = table_rows(document)
    names = columns(rows)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(PLURAL[document["by"]])
    sheet.append(names)
    for row in rows:
        sheet.append([row.get(name) for name in names])
    workbook.save(path)


SUMMARY = (
    ("referrals", "referrals", "{:,}"),
    ("rereferrals", "re-refs", "{:,}"),
    ("rereferral_rate", "rate", "{:.1%}"),
    ("rereferral_rate_r12", "12m rate", "{:.1%}"),
    ("rereferral_england", "England", "{:.1%}"),
    ("rereferral_neighbours", "SN", "{:.1%}"),
    ("cpp_started", "CPPs", "{:,}"),
    ("cpp_subsequent_ever", "2nd+", "{:,}"),
    ("cpp_subsequent_within_2y", "2nd<2y", "{:,}"),
    ("referrals_open_month_end", "open", "{:,}"),
    ("assessments_past_45wd_from_referral", ">45wd", "{:,}"),
)


def _cell(value: object, shape: str) -> str:
    return "-" if value is None else shape.format(value)


def summary_lines(document: Mapping[str, Any]) -> list[str]:
    """A few columns per period for the terminal; --format json, csv or xlsx carry every key."""
    period = document["by"]
    lines: list[str] = []
    compared = document.get("compare")
    for la_code in document["councils"]:
        lines.append(f"Council {la_code}, by {period}" + (f" (compare: {compared['rules']})" if compared else ""))
        mine = [r for r in document[PLURAL[period]] if r["la_code"] == la_code]
        if compared:
            other = [r for r in compared[PLURAL[period]] if r["la_code"] == la_code]
            diffs = [r for r in compared["differences"] if r["la_code"] == la_code]
            lines += _compare_lines(period, mine, other, diffs)
            continue
        lines.append(f"  {period:<9}" + "".join(f"{title:>10}" for _, title, _ in SUMMARY))
        for row in mine:
            lines.append(f"  {row[period]!s:<9}" + "".join(f"{_cell(row.get(k), s):>10}" for k, _, s in SUMMARY))
    return lines


COMPARED = (  # key, title, shape, shape of the difference
    ("rereferrals", "re-refs", "{:,}", "{:+,}"),
    ("rereferral_rate", "rate", "{:.1%}", "{:+.1%}"),
    ("rereferral_rate_r12", "12m rate", "{:.1%}", "{:+.1%}"),
)


def _compare_lines(period: str, rows: Sequence[Row], other: Sequence[Row], diffs: Sequence[Row]) -> list[str]:
    """Base, compare and difference side by side for the re-referral figures."""
    head = "".join(f"{title + ' ' + who:>16}" for _, title, _, _ in COMPARED for who in ("base", "comp", "diff"))
    lines = [f"  {period:<9}{head}"]
    for row, theirs, diff in zip(rows, other, diffs, strict=True):
        cells = []
        for key, _, shape, signed in COMPARED:
            cells += [_cell(row.get(key), shape), _cell(theirs.get(key), shape), _cell(diff.get(key), signed)]
        lines.append(f"  {row[period]!s:<9}" + "".join(f"{cell:>16}" for cell in cells))
    return lines
