"""XLSX workbooks: the events sheet and any Villages sheet of an export, within the limits.

The zip is checked against ``pipeline.limits`` before calamine unpacks anything. Only visible
worksheets are read: a hidden or very hidden sheet is never taken for the events, however
NVCD-like its header. When several visible sheets have event headers the workbook is refused,
naming them to the sender, until one is chosen (CLI ``--sheet``, form field ``sheet``).
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

import pandas as pd
from python_calamine import CalamineError, CalamineSheet, CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

from pipeline.errors import InputError
from pipeline.limits import Limits, check_workbook
from pipeline.sources.base import Extracted
from pipeline.sources.headers import HEADER_SCAN_ROWS, VILLAGE_COLUMNS, find_header, finish, frame_from_rows, header_key

log = logging.getLogger(__name__)


def _villages(sheet: CalamineSheet) -> pd.DataFrame:
    """Return (state, lga, village) from a sheet whose header names all three."""
    rows = sheet.to_python()
    keys = [header_key(h) for h in rows[0]]
    frame = pd.DataFrame(rows[1:], columns=keys, dtype=object)[list(VILLAGE_COLUMNS)]
    frame = frame.astype("string").apply(lambda s: s.str.strip()).replace("", pd.NA).dropna().astype(object)
    log.info("read %d villages from sheet %r", len(frame), sheet.name)
    return frame.reset_index(drop=True)


def visible_sheets(book: CalamineWorkbook) -> list[str]:
    """Return the names of the workbook's visible worksheets (hidden and very hidden ones are never read)."""
    return [m.name for m in book.sheets_metadata
            if m.visible == SheetVisibleEnum.Visible and m.typ == SheetTypeEnum.WorkSheet]  # fmt: skip


def _named_sheet(book: CalamineWorkbook, sheet: str, visible: list[str], what: str) -> list[str]:
    if sheet in visible:
        return [sheet]
    if sheet in book.sheet_names:
        raise InputError(f"{what}: the chosen sheet is hidden; hidden sheets are never read as events",
                         quoted=f"sheet {sheet!r}")  # fmt: skip
    raise InputError(f"{what} has no visible sheet of the chosen name",
                     quoted=f"sheet {sheet!r}; visible sheets: {', '.join(map(repr, visible))}")  # fmt: skip


Found = tuple[CalamineSheet, int, dict[int, str], CalamineSheet | None]


def _events_sheet(book: CalamineWorkbook, what: str, sheet: str | None) -> Found:
    """Find the one visible sheet with event headers (or the chosen one), and a Villages sheet."""
    visible = visible_sheets(book)
    names = visible if sheet is None else _named_sheet(book, sheet, visible, what)
    found: list[tuple[CalamineSheet, int, dict[int, str]]] = []
    villages = None
    for name in dict.fromkeys([*names, *visible]):  # the chosen sheet first, then the others for villages
        data = book.get_sheet_by_name(name)
        head = data.to_python(skip_empty_area=False, nrows=HEADER_SCAN_ROWS)
        header = find_header(head) if name in names else None
        if header is not None:
            found.append((data, *header))
        elif villages is None and head and all(k in [header_key(h) for h in head[0]] for k in VILLAGE_COLUMNS):
            villages = data
    if not found:
        raise InputError(f"{what} has no visible sheet with NVCD event headers (needs at least Date and State "
                         "columns; hidden sheets are never read)")  # fmt: skip
    if len(found) > 1:
        named = ", ".join(repr(data.name) for data, *_ in found)
        raise InputError(f"{what} has {len(found)} visible sheets with NVCD event headers; choose one "
                         "(CLI --sheet, form field 'sheet')", quoted=f"sheets: {named}")  # fmt: skip
    return (*found[0], villages)


def read_xlsx(data: bytes, what: str = "workbook", limits: Limits = Limits(), sheet: str | None = None) -> Extracted:
    """Read the events sheet (the one visible sheet with event headers, or ``sheet``) and any Villages sheet.

    The workbook is checked against ``limits`` first (``pipeline.limits``), before calamine unpacks it.
    """
    check_workbook(data, limits, what)
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        events, header_at, mapping, village_sheet = _events_sheet(book, what, sheet)
        rows = events.to_python(skip_empty_area=False)
        frame = frame_from_rows(rows, header_at, mapping)
        del rows  # the frame holds the cells now
        numbers = pd.Series(range(header_at + 2, header_at + 2 + len(frame)))
        extracted = finish(frame, numbers, f"{what} sheet {events.name!r}")
        villages = _villages(village_sheet) if village_sheet is not None else None
    except CalamineError as exc:
        # calamine's text may quote the workbook's XML: only its kind is stored.
        raise InputError(f"{what} is not a readable XLSX workbook ({exc.__class__.__name__})", quoted=str(exc)) from exc
    return Extracted(extracted.events, extracted.rows_skipped, villages)


@dataclass(frozen=True)
class XlsxFile:
    """A workbook's bytes and its file name."""

    data: bytes
    name: str

    def read(self, limits: Limits, sheet: str | None) -> Extracted:
        """Read the events sheet (or ``sheet``) within ``limits``."""
        return read_xlsx(self.data, self.name, limits, sheet)
