"""Bounds on what an input may make the pipeline hold, checked before the expensive work.

An XLSX file is a zip: a 1 MB upload can inflate to gigabytes of sheet XML, and a sheet of
two cells, A1 and XFD1048576, makes calamine build a dense range of 17 billion cells. So
before calamine sees a workbook, ``check_workbook`` walks the zip with the standard
``zipfile`` module: it counts the members, stream-inflates each one counting the bytes it
really yields (declared sizes can lie) and stops at the limit, and scans the XML for cell
references (``r="AQ10742"``) to bound the rows and cells any sheet would unfold to. Memory
stays at one chunk. The real export (3.8 MB) inflates to 28 MB in 37 members; its largest
sheets are 10,742 x 43 and 47,548 x 5 cells: the defaults leave room many times over.
"""

from __future__ import annotations

import io
import logging
import posixpath
import re
import zipfile
import zlib
from dataclasses import dataclass

import numpy as np

from pipeline.errors import InputError, LimitExceeded

log = logging.getLogger(__name__)

MB = 1 << 20
CHUNK = 1 << 20
# Bytes kept from one chunk to the next, so a reference cut by a chunk's end is still seen.
OVERLAP = 16
_REF_OPEN = np.frombuffer(b'r="', dtype=np.uint8)
_A, _Z, _ZERO, _NINE = ord("A"), ord("Z"), ord("0"), ord("9")
MAX_COLUMN_LETTERS, MAX_ROW_DIGITS = 3, 7
WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
MAX_RELS_BYTES = MB
_RELATIONSHIP = re.compile(rb"<(?:\w+:)?Relationship\b[^>]*>")
_ATTRIBUTE = re.compile(rb'\b(Type|Target)\s*=\s*"([^"]*)"')


@dataclass(frozen=True)
class Limits:
    """What one input may hold (``config``: MAX_XLSX_INFLATED_MB, MAX_XLSX_MEMBERS, MAX_SHEET_ROWS, MAX_SHEET_CELLS)."""

    xlsx_inflated_bytes: int = 256 * MB
    xlsx_members: int = 1_000
    sheet_rows: int = 500_000
    sheet_cells: int = 5_000_000

    @classmethod
    def from_settings(cls, settings: dict[str, object]) -> Limits:
        """Build the limits from the settings ``config.from_environment`` returns."""
        return cls(
            xlsx_inflated_bytes=_setting_int(settings, "MAX_XLSX_INFLATED_MB", cls.xlsx_inflated_bytes // MB) * MB,
            xlsx_members=_setting_int(settings, "MAX_XLSX_MEMBERS", cls.xlsx_members),
            sheet_rows=_setting_int(settings, "MAX_SHEET_ROWS", cls.sheet_rows),
            sheet_cells=_setting_int(settings, "MAX_SHEET_CELLS", cls.sheet_cells),
        )


def _setting_int(settings: dict[str, object], key: str, default: int) -> int:
    """Return ``settings[key]`` (or ``default``) as an int, as ``int()`` reads it."""
    value = settings.get(key, default)
    if not isinstance(value, (int, float, str, bytes)):
        raise TypeError(f"{key} must be a number, got {type(value).__name__}")
    return int(value)


def _reference_extent(buf: np.ndarray, skip: int = 0) -> tuple[int, int, int]:
    """Return the largest row and column named by ``r="..."`` attributes in an XML chunk.

    Also how many cell references (letters then digits) start at or after ``skip``.
    """
    n = len(buf) - len(_REF_OPEN)
    if n <= 0:
        return 0, 0, 0
    opens = (buf[:n] == _REF_OPEN[0]) & (buf[1 : n + 1] == _REF_OPEN[1]) & (buf[2 : n + 2] == _REF_OPEN[2])
    hits = np.flatnonzero(opens) + len(_REF_OPEN)
    if not hits.size:
        return 0, 0, 0
    letters, digits = MAX_COLUMN_LETTERS, MAX_ROW_DIGITS + 1  # one digit more than a row has: "too many"
    # Padded with NULs: a reference cut by the chunk's end reads short (the next chunk sees it whole).
    padded = np.concatenate([buf, np.zeros(letters + digits, dtype=np.uint8)])
    head = padded[hits[:, None] + np.arange(letters)]
    leading = np.logical_and.accumulate((head >= _A) & (head <= _Z), axis=1)
    count = leading.sum(axis=1)
    value = np.where(leading, head.astype(np.int64) - (_A - 1), 0)
    col = np.where(count == 3, (value[:, 0] * 26 + value[:, 1]) * 26 + value[:, 2],
                   np.where(count == 2, value[:, 0] * 26 + value[:, 1], value[:, 0]))  # fmt: skip
    tail = padded[hits[:, None] + count[:, None] + np.arange(digits)]
    numeric = np.logical_and.accumulate((tail >= _ZERO) & (tail <= _NINE), axis=1)
    places = np.clip(numeric.sum(axis=1)[:, None] - 1 - np.arange(digits), 0, None)
    row = (np.where(numeric, tail.astype(np.int64) - _ZERO, 0) * 10**places).sum(axis=1)
    return int(row.max()), int(col.max()), int(((col > 0) & (hits >= skip)).sum())


class _SheetExtent:
    """The rows and columns a sheet's XML would unfold to, fed chunk by chunk."""

    def __init__(self) -> None:
        self.rows = self.cols = self.rows_seen = self.cells_seen = self.cell_refs = 0
        self.tail = b""

    def feed(self, chunk: bytes) -> None:
        buf = self.tail + chunk
        rows, cols, refs = _reference_extent(np.frombuffer(buf, dtype=np.uint8), skip=max(len(self.tail) - 3, 0))
        self.rows, self.cols, self.cell_refs = max(self.rows, rows), max(self.cols, cols), self.cell_refs + refs
        # Rows and cells without references are placed one after another: count the tags too.
        old = self.tail
        self.rows_seen += buf.count(b"<row") - old.count(b"<row")
        self.cells_seen += _cell_tags(buf) - _cell_tags(old)
        self.tail = buf[-OVERLAP:]

    def bound(self) -> tuple[int, int]:
        """Return (rows, cells) at most: the sheet's extent from A1."""
        rows = max(self.rows, self.rows_seen)
        # A cell without a reference goes one column right of the one before it.
        cols = self.cols + max(self.cells_seen - self.cell_refs, 0)
        return rows, rows * cols


def _cell_tags(buf: bytes) -> int:
    return buf.count(b"<c ") + buf.count(b"<c>")


def _too_large(what: str, text: str) -> LimitExceeded:
    return LimitExceeded(f"{what} is too large: {text}")


def sheet_parts(book: zipfile.ZipFile, what: str) -> set[str]:
    """Return the members that hold worksheets: those under xl/worksheets/ and those the workbook's links name."""
    parts = {name for name in book.namelist() if name.startswith("xl/worksheets/") and name.endswith(".xml")}
    if WORKBOOK_RELS not in book.namelist():
        return parts
    with book.open(WORKBOOK_RELS) as stream:
        rels = stream.read(MAX_RELS_BYTES + 1)
    if len(rels) > MAX_RELS_BYTES:
        raise _too_large(what, f"its sheet list is over {MAX_RELS_BYTES // MB} MB")
    for tag in _RELATIONSHIP.findall(rels):
        attributes = {key: value.decode("utf-8", "replace") for key, value in _ATTRIBUTE.findall(tag)}
        if attributes.get("Type", "").endswith("/worksheet") and attributes.get("Target"):
            target = attributes["Target"]
            parts.add(target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}"))
    return parts


def _scan_member(book: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits, total: int, what: str,
                 measure: bool) -> int:  # fmt: skip
    """Inflate one member counting its real bytes; return the running total of inflated bytes.

    ``measure``: the member is a sheet, whose extent is checked too (the slower part: done once
    the whole workbook is known to inflate within the limit).
    """
    extent = _SheetExtent() if measure else None
    with book.open(info) as stream:
        while chunk := stream.read(CHUNK):
            total += len(chunk)
            if total > limits.xlsx_inflated_bytes:
                raise _too_large(what, f"it inflates to more than {limits.xlsx_inflated_bytes // MB} MB "
                                       "(MAX_XLSX_INFLATED_MB)")  # fmt: skip
            if extent is not None:
                extent.feed(chunk)
        # zipfile stops at the declared size; calamine's reader may inflate the whole stream, so a
        # stream that goes on past its declared size is refused (zipfile's own decompressor tells).
        decompressor = getattr(stream, "_decompressor", None)
        if info.compress_type == zipfile.ZIP_DEFLATED and decompressor is not None and not decompressor.eof:
            raise InputError(f"{what} is not a readable XLSX workbook (a part is longer than it declares)")
    if extent is not None:
        rows, cells = extent.bound()
        if rows > limits.sheet_rows:
            raise _too_large(what, f"a sheet holds over {limits.sheet_rows:,} rows (MAX_SHEET_ROWS)")
        if cells > limits.sheet_cells:
            raise _too_large(what, f"a sheet spans over {limits.sheet_cells:,} cells (MAX_SHEET_CELLS)")
    return total


def check_workbook(data: bytes, limits: Limits, what: str = "workbook") -> None:
    """Refuse a workbook whose zip or sheets exceed ``limits`` (LimitExceeded) or that is no zip (InputError)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            members = book.infolist()
            if len(members) > limits.xlsx_members:
                raise _too_large(what, f"it has over {limits.xlsx_members:,} parts (MAX_XLSX_MEMBERS)")
            total = 0
            for info in members:
                total = _scan_member(book, info, limits, total, what, measure=False)
            sheets = sheet_parts(book, what)
            for info in members:
                if info.filename in sheets:
                    _scan_member(book, info, limits, 0, what, measure=True)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError, OSError) as exc:
        # zipfile's texts name members and offsets, never content; still, only the kind is kept.
        raise InputError(f"{what} is not a readable XLSX workbook ({exc.__class__.__name__})") from exc
    log.info("%s: %d parts, %d bytes inflated, within limits", what, len(members), total)
