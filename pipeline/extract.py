"""Extract: read an NVCD export (XLSX, CSV or JSON batch) into raw canonical columns.

Workbooks are read by ``pipeline.workbook`` (limits first, visible sheets only). Only the CLI
hands in a local file, as a ``Path`` (``read_file``); uploads and batches arrive as bytes or
parsed records, never as a path.

Headers are matched by meaning, not by exact text: case, spacing, punctuation and the
export's own misspellings ("Communiity") are folded, so any column order works. Empty
template rows (only pre-filled month/year/country/region, formula totals or a stray date)
are skipped and counted, never reported as errors.
"""

from __future__ import annotations

import io
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from pipeline import columns as c
from pipeline.errors import InputError
from pipeline.limits import Limits

log = logging.getLogger(__name__)

XLSX_SUFFIXES = (".xlsx", ".xlsm")
HEADER_SCAN_ROWS = 30
# A row is the events header when it names the date, the state and this many known fields.
MIN_HEADER_MATCHES = 5
HEADER_FUZZY_CUTOFF = 90
# Template rows carry these pre-filled values without being events.
TEMPLATE_COLUMNS = (c.DATE, c.MONTH, c.YEAR, c.COUNTRY, c.REGION, "total_deaths", "total_casualties",
                    c.CONFIRMATION_LEVEL)  # fmt: skip
VILLAGE_COLUMNS = ("state", "lga", "village")


@dataclass(frozen=True)
class Extracted:
    """Raw events (canonical columns, object dtype, plus source_row), skipped rows, villages."""

    events: pd.DataFrame
    rows_skipped: int
    villages: pd.DataFrame | None = None


def header_key(text: object) -> str:
    """Fold a header to a comparison key: lower case, letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", str(text).casefold())


_HEADER_INDEX: dict[str, str] = {header_key(name): name for name in c.RAW_COLUMNS}
for _name, _variants in c.HEADER_VARIANTS.items():
    _HEADER_INDEX.update({header_key(v): _name for v in _variants})


def match_header(text: object) -> str | None:
    """Return the canonical field a header names, or None."""
    key = header_key(text)
    if not key:
        return None
    if key in _HEADER_INDEX:
        return _HEADER_INDEX[key]
    # Short keys (M-GC, F-IV) are too close to each other to fuzz safely.
    if len(key) < 6:
        return None
    found = process.extractOne(key, list(_HEADER_INDEX), scorer=fuzz.ratio, score_cutoff=HEADER_FUZZY_CUTOFF)
    return _HEADER_INDEX[found[0]] if found else None


def map_headers(headers: list[object]) -> dict[int, str]:
    """Map column positions to canonical fields (first occurrence of a field wins)."""
    mapping: dict[int, str] = {}
    for pos, text in enumerate(headers):
        name = match_header(text)
        if name is not None and name not in mapping.values():
            mapping[pos] = name
    return mapping


def _is_events_header(mapping: dict[int, str]) -> bool:
    names = set(mapping.values())
    return c.DATE in names and c.STATE in names and len(names) >= MIN_HEADER_MATCHES


def _is_blank(value: object) -> bool:
    if isinstance(value, str):
        return not value.strip()
    return value is None or (isinstance(value, float) and value != value)


def _blank(series: pd.Series) -> np.ndarray:
    """Return a mask of cells that hold nothing (None, NaN, empty or whitespace text)."""
    # Cells repeat a lot (empty strings, counts, names): test each distinct value once.
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    blank = np.array([_is_blank(u) for u in uniques] + [True], dtype=bool)
    return blank[codes]


def _all_missing(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Return a mask of rows missing every one of ``columns`` (cells already parsed to NaN)."""
    rows = np.arange(len(frame))
    for col in columns:
        # Nearly every row fills an early column: only the rows still empty are checked further.
        rows = rows[pd.isna(frame[col].to_numpy()[rows])]
        if not len(rows):
            break
    empty = np.zeros(len(frame), dtype=bool)
    empty[rows] = True
    return empty


def _finish(frame: pd.DataFrame, rows: pd.Series, what: str, *, parsed_blanks: bool = False) -> Extracted:
    """Add missing columns and source_row, then drop and count template rows.

    ``parsed_blanks``: the reader already turned empty cells into NaN (CSV), so skip the scan.
    """
    frame = frame.reindex(columns=list(c.RAW_COLUMNS)).astype(object)
    content_columns = [col for col in c.RAW_COLUMNS if col not in TEMPLATE_COLUMNS]
    if parsed_blanks:
        empty = _all_missing(frame, content_columns)
    else:
        blanks = {col: _blank(frame[col]) for col in frame.columns}
        frame = frame.assign(**{col: frame[col].where(~mask, None) for col, mask in blanks.items() if mask.any()})
        empty = np.logical_and.reduce([blanks[col] for col in content_columns])
    is_event = pd.Series(~empty, index=frame.index)
    events = frame.loc[is_event].assign(**{c.SOURCE_ROW: rows[is_event].astype(int)}).reset_index(drop=True)
    skipped = int((~is_event).sum())
    log.info("extracted %d events from %s, skipped %d template rows", len(events), what, skipped)
    return Extracted(events=events, rows_skipped=skipped)


def _frame_from_rows(rows: list[list[Any]], header_at: int, mapping: dict[int, str]) -> pd.DataFrame:
    body = rows[header_at + 1 :]
    width = max(mapping) + 1
    padded = [r[:width] + [None] * (width - len(r)) for r in body]
    frame = pd.DataFrame(padded, dtype=object) if padded else pd.DataFrame(columns=range(width), dtype=object)
    return frame[list(mapping)].set_axis(list(mapping.values()), axis=1)


def _find_header(rows: list[list[Any]]) -> tuple[int, dict[int, str]] | None:
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        mapping = map_headers(row)
        if _is_events_header(mapping):
            return i, mapping
    return None


def _parse_csv(data: bytes, encoding: str, what: str) -> pd.DataFrame:
    try:
        # skipinitialspace turns space-only cells into empty ones, which na_values makes NaN.
        return pd.read_csv(io.BytesIO(data), dtype=object, keep_default_na=False, na_values=[""],
                           skipinitialspace=True, encoding=encoding)  # fmt: skip
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        # pandas' text says where the CSV breaks; keep only the line number, which quotes nothing.
        line = re.search(r"\bline (\d+)", str(exc))
        where = f" (near line {line.group(1)})" if line else ""
        raise InputError(f"{what} is not valid CSV{where}", quoted=str(exc)) from exc


def wide_encoding(data: bytes) -> str | None:
    """Name the encoding of UTF-16/UTF-32 text (by its BOM, or the NUL bytes of ASCII in it), else None."""
    for bom, name in ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
                      (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16")):  # fmt: skip
        if data.startswith(bom):
            return name
    head = data[:4096]
    # ASCII text in UTF-16 without a BOM: every other byte is NUL.
    if len(head) >= 4 and head[1::2].count(0) > len(head) // 4 and head[0::2].count(0) == 0:
        return "UTF-16"
    if len(head) >= 4 and head[0::2].count(0) > len(head) // 4 and head[1::2].count(0) == 0:
        return "UTF-16"
    return None


def read_csv(data: bytes, what: str = "CSV file", *, utf8_only: bool = False) -> Extracted:
    """Read a CSV export with NVCD columns in any order (UTF-8 with or without BOM, or cp1252).

    ``utf8_only``: a part of a larger file (``pipeline.shards``), which is cp1252 only if the whole is.
    """
    wide = wide_encoding(data)
    if wide:
        raise InputError(f"{what} is {wide} text; save it as CSV UTF-8 (Excel: Save As, 'CSV UTF-8 (Comma delimited)')")
    if b"\x00" in data[:4096]:
        raise InputError(f"{what} is binary, not CSV text")
    try:
        frame = _parse_csv(data, "utf-8-sig", what)
    except UnicodeDecodeError as exc:
        if utf8_only:
            raise InputError(f"{what} is not UTF-8 text (byte {exc.start})") from exc
        # Excel on Windows saves "CSV" in the ANSI code page.
        try:
            frame = _parse_csv(data, "cp1252", what)
        except UnicodeDecodeError as exc:
            raise InputError(f"{what} is neither UTF-8 nor cp1252 text (byte {exc.start})") from exc
    mapping = map_headers(list(frame.columns))
    if not _is_events_header(mapping):
        shown = ", ".join(str(h) for h in list(frame.columns)[:8])
        raise InputError(f"{what} does not have NVCD columns (needs at least date and state; found "
                         f"{len(frame.columns)} columns)", quoted=f"found: {shown}")  # fmt: skip
    frame = frame.iloc[:, list(mapping)].set_axis(list(mapping.values()), axis=1)
    return _finish(frame, pd.Series(range(2, len(frame) + 2)), what, parsed_blanks=True)


def _check_value(i: int, key: str, value: object) -> None:
    if value is not None and not isinstance(value, str | int | float | bool):
        raise InputError(f"record {i}, field {match_header(key)!r}: expected a string or number, "
                         f"got {type(value).__name__}")  # fmt: skip


def read_records(records: object) -> Extracted:
    """Read a JSON batch: a list of objects keyed by the field names in ``pipeline.columns``."""
    if isinstance(records, dict) and "records" in records:
        records = records["records"]
    if not isinstance(records, list):
        raise InputError(f"a batch must be a list of records, got {type(records).__name__}")
    if not records:
        raise InputError("the batch has no records")
    rows: list[dict[str, object]] = []
    for i, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise InputError(f"record {i} must be an object, got {type(record).__name__}")
        row = {}
        for key, value in record.items():
            name = match_header(key)
            if name is not None:
                _check_value(i, key, value)
                row[name] = value
        if not row:
            raise InputError(f"record {i} has no known fields (see pipeline/columns.py)",
                             quoted=f"got: {', '.join(map(str, record)) or 'nothing'}")  # fmt: skip
        rows.append(row)
    frame = pd.DataFrame(rows, dtype=object)
    return _finish(frame, pd.Series(range(1, len(frame) + 1)), "batch")


def read_json(data: bytes, what: str = "JSON file") -> Extracted:
    """Read a JSON file holding a batch (a list, or an object with ``records``)."""
    wide = wide_encoding(data)
    if wide:
        raise InputError(f"{what} is {wide} text; save it as UTF-8")
    try:
        payload = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} is not UTF-8 text (byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"{what} is not valid JSON (line {exc.lineno}, column {exc.colno})") from exc
    return read_records(payload)


def _sniff(data: bytes) -> str:
    if data.startswith(b"PK\x03\x04"):
        return ".xlsx"
    if data.lstrip()[:1] in (b"[", b"{"):
        return ".json"
    return ".csv"


def read_bytes(data: bytes, name: str, limits: Limits = Limits(), sheet: str | None = None) -> Extracted:
    """Read an export's bytes by its name's extension (or by content when the extension says nothing)."""
    # isspace stops at the first character (strip would copy the whole file); b"".isspace() is False.
    if not data or data.isspace():
        raise InputError(f"{name} is empty")
    suffix = Path(name).suffix.lower()
    if suffix not in (*XLSX_SUFFIXES, ".csv", ".json", ".txt", ""):
        raise InputError(f"{name}: unsupported file type {suffix!r} (use .xlsx, .csv or .json)")
    kind = suffix if suffix in (*XLSX_SUFFIXES, ".csv", ".json") else _sniff(data)
    if kind in XLSX_SUFFIXES:
        from pipeline.workbook import read_xlsx  # builds on this module's header matching

        return read_xlsx(data, name, limits, sheet)
    if sheet is not None:
        raise InputError(f"{name}: a sheet can only be chosen in an XLSX workbook")
    if kind == ".json":
        return read_json(data, name)
    return read_csv(data, name)


def read_path(path: Path) -> bytes:
    """Return a local file's bytes (the CLI's ``Path`` only: nothing that came over HTTP is ever a path)."""
    if not isinstance(path, Path):
        raise TypeError(f"read_path takes a pathlib.Path, not {type(path).__name__}")
    try:
        # A FIFO or a device would block or never end: only regular files are read.
        if not path.is_file():
            raise InputError(f"cannot read {path.name}: not a regular file")
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path.name}: {exc.strerror or exc.__class__.__name__}") from exc


def read_file(path: Path, limits: Limits = Limits(), sheet: str | None = None,
              filename: str | None = None) -> Extracted:  # fmt: skip
    """Read a local export file (a ``Path``; the run records only its name, never the folder)."""
    return read_bytes(read_path(path), filename or path.name, limits, sheet)
