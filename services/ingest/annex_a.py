"""Ofsted Annex A workbook (xlsx or legacy xls) -> canonical front-door events, every unusable row explained.

Lists 1 (contacts), 3 (referrals), 4 (assessments), 5 (S47/ICPC), 6 (children in need) and 7 (CP plans) are
read; lists 2 and 8-11 hold no front-door facts. Annex A has no record ids, so ids come from natural keys:
a contact is (child, date, source); a referral is (child, referral date), which List 6's CIN start date also
names; an assessment, S47 or CP plan is (child, start date). Keys use the pseudonymous child key, never the
raw id, because a hash of a short raw id can be reversed by guessing. Re-ingesting gives the same ids.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import xlrd
from pydantic import ValidationError

from schemas.events import ReferralOpened
from services.ingest.annex_a_columns import LISTS, ListSpec, find_header, heading, list_number
from services.ingest.annex_a_lists import Built, ListReader, RowRejected
from services.ingest.annex_a_values import clean, clean_text, validation_summary
from services.ingest.identity import Pseudonymiser
from services.ingest.result import IngestResult, Rejected

Sheet = tuple[str, list[Sequence[object]]]  # sheet name as the council wrote it, rows from Excel row 1


def read_annex_a(
    path: Path, la_code: str, pseudonymiser: Pseudonymiser, *, recorded_at: dt.datetime | None = None
) -> IngestResult:
    """Events from one Annex A return. `recorded_at` defaults to the file's modification time (the extract)."""
    if not re.fullmatch(r"\d{3}", la_code):
        raise ValueError(f"la_code must be a three-digit DfE code, got {la_code!r}")
    recorded = recorded_at or dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC)
    run = _Run(path.name, ListReader(la_code, pseudonymiser, recorded))
    sheets = _load_lists(path, run.result)
    for number, spec in LISTS.items():
        if number not in sheets:
            run.result.notes.append(f"List {number}: no sheet found")
            continue
        run.read_list(spec, sheets[number])
        if number == 3:
            run.result.notes.append(cross_check(run.reader.tally.referrals))
    _add_primary_needs(run.result, run.reader)
    _add_tally_notes(run.result, run.reader)
    return run.result


@dataclass(slots=True)
class _Run:
    """One workbook being read: where rejections are reported, and the event ids already made."""

    source: str  # file name, for Rejected.source
    reader: ListReader
    result: IngestResult = field(default_factory=IngestResult)
    seen: set[str] = field(default_factory=set)

    def read_list(self, spec: ListSpec, sheet: Sheet) -> None:
        name, rows = sheet
        header = find_header(rows, ("child_id", spec.main_date), spec.fields)
        if header is None:
            wanted = f"'{heading('child_id')}' and '{heading(spec.main_date)}'"
            self.result.rejected.append(Rejected(self.source, name, f"no header row naming {wanted} in the first rows"))
            return
        header_index, columns = header
        headings = {f: clean_text(rows[header_index][i]) for f, i in columns.items()}
        self.reader.headings = {f: text for f, text in headings.items() if text}
        read = repeats = 0
        for index in range(header_index + 1, len(rows)):
            cells = rows[index]
            row = {f: cells[i] if i < len(cells) else None for f, i in columns.items()}
            if _is_blank(row, spec):
                continue
            read += 1
            repeats += self._read_row(spec, row, f"{name} row {index + 1}")  # row number as Excel shows it
        self.result.read += read
        self.result.notes.append(f"List {spec.number} ('{name}'): {read} rows read")
        if repeats:
            self.result.notes.append(
                f"List {spec.number}: {repeats} events repeated an earlier row's and were kept once"
            )

    def _read_row(self, spec: ListSpec, row: dict[str, object], location: str) -> int:
        try:
            built = self.reader.build(spec.number, row)
        except RowRejected as exc:
            self.result.rejected.append(Rejected(self.source, location, exc.reason))
            return 0
        except ValidationError as exc:
            self.result.rejected.append(Rejected(self.source, location, validation_summary(exc)))
            return 0
        self.result.rejected.extend(Rejected(self.source, location, problem) for problem in built.problems)
        return _keep_new(built, self.result, self.seen)


def _keep_new(built: Built, result: IngestResult, seen: set[str]) -> int:
    """Identical rows give identical ids; keep the first so counts are not doubled. Returns repeats."""
    repeats = 0
    for event in built.events:
        if event.event_id in seen:
            repeats += 1
            continue
        seen.add(event.event_id)
        result.events.append(event)
    return repeats


def _is_blank(row: dict[str, object], spec: ListSpec) -> bool:
    """No child id and no dates at all: formatting residue, not a record."""
    return all(clean(row.get(f)) is None for f in ("child_id", *spec.date_fields))


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day `months` calendar months earlier, clamped to the month's end (29 Feb -> 28 Feb)."""
    total = day.year * 12 + day.month - 1 - months
    year, month = divmod(total, 12)
    month += 1
    next_month = dt.date(year + month // 12, month % 12 + 1, 1)
    return dt.date(year, month, min(day.day, (next_month - dt.timedelta(days=1)).day))


def cross_check(referrals: dict[str, list[tuple[dt.date, int | None]]]) -> str:
    """Compare List 3's 'Number of Referrals in Last 12 Months' with the referral dates in the file.

    Ofsted's guidance defines the number as referrals in the 12 months BEFORE the child's latest referral,
    "the lowest value is therefore 0", and the liia sample holds 0s; so the latest referral is not counted.
    A child agrees when every count given on their rows equals the computed one; children whose rows give no
    count are left out. The list covers only six months, so a larger stated count is not necessarily wrong.
    """
    agree = disagree = 0
    for rows in referrals.values():
        stated = {count for _, count in rows if count is not None}
        if not stated:
            continue
        latest = max(day for day, _ in rows)
        window_start = months_before(latest, 12)
        computed = sum(1 for day, _ in rows if window_start <= day <= latest) - 1
        if stated == {computed}:
            agree += 1
        else:
            disagree += 1
    return f"List 3 cross-check: {agree} children agree, {disagree} disagree"


def _add_primary_needs(result: IngestResult, reader: ListReader) -> None:
    """List 6 gives the primary need of the episode a referral opened; List 3 has no such column."""
    needs = reader.tally.needs
    for index, event in enumerate(result.events):
        if isinstance(event, ReferralOpened) and event.primary_need is None and event.referral_id in needs:
            result.events[index] = event.model_copy(update={"primary_need": needs[event.referral_id]})


def _add_tally_notes(result: IngestResult, reader: ListReader) -> None:
    tally = reader.tally
    for number, count in sorted(tally.unknown_source.items()):
        result.notes.append(f"List {number}: {count} rows had no source; recorded as 10 (Unknown)")
    for number, count in sorted(tally.grouped_source.items()):
        result.notes.append(
            f"List {number}: {count} sources named only a group (e.g. 'Police', 'School'); "
            "recorded as the group's first code in Ofsted's Codes_used list"
        )
    if tally.unrecognised_need:
        result.notes.append(f"List 6: {tally.unrecognised_need} primary needs were not N0-N9 codes and were ignored")


# --- workbook files --------------------------------------------------------------------------------------


def _load_lists(path: Path, result: IngestResult) -> dict[int, Sheet]:
    """The first sheet for each wanted list; a second sheet claiming the same list is noted and ignored."""
    loaded = _load_xls(path) if path.suffix.lower() == ".xls" else _load_xlsx(path)
    sheets: dict[int, Sheet] = {}
    for name, rows in loaded:
        number = list_number(name)
        if number not in LISTS:
            continue
        if number in sheets:
            result.notes.append(f"List {number}: sheet '{name}' ignored; '{sheets[number][0]}' was read")
            continue
        sheets[number] = (name, rows)
    return sheets


def _load_xlsx(path: Path) -> list[Sheet]:
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        sheets: list[Sheet] = []
        for sheet in book.worksheets:
            if list_number(sheet.title) in LISTS:
                sheet.reset_dimensions()  # some exporters write a wrong used-range; read every row there is
                rows: list[Sequence[object]] = [list(r) for r in sheet.iter_rows(values_only=True)]
                sheets.append((sheet.title, rows))
        return sheets
    finally:
        book.close()


def _load_xls(path: Path) -> list[Sheet]:
    book = xlrd.open_workbook(str(path), on_demand=True)
    try:
        sheets: list[Sheet] = []
        for name in book.sheet_names():
            if list_number(name) in LISTS:
                sheet = book.sheet_by_name(name)
                rows: list[Sequence[object]] = [
                    [_xls_value(cell, book.datemode) for cell in sheet.row(r)] for r in range(sheet.nrows)
                ]
                sheets.append((name, rows))
        return sheets
    finally:
        book.release_resources()


def _xls_value(cell: xlrd.sheet.Cell, datemode: int) -> object:
    """xlrd gives dates as serial floats tagged by cell type; turn them into datetimes like openpyxl does."""
    if cell.ctype == xlrd.XL_CELL_DATE:
        try:
            return xlrd.xldate_as_datetime(cell.value, datemode)
        except (ValueError, OverflowError, xlrd.xldate.XLDateError):
            return cell.value
    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
        return None
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return bool(cell.value)
    return cell.value
